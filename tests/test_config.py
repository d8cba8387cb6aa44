"""Config loading: search order, strict validation with one-line errors, ${VAR} expansion."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mqtui import secrets
from mqtui.config import (
    KafkaConfig,
    NatsConfig,
    RabbitMQConfig,
    config_search_path,
    load_config,
    parse_config,
    permission_warning,
    redact_url,
    secrets_of,
)
from mqtui.config.urls import REDIS_OPTIONS
from mqtui.errors import ConfigError
from tests.helpers import write_config

MINIMAL = """
[profiles.prod]
readonly = true
[[profiles.prod.brokers]]
name = "orders-kafka"
kind = "kafka"
url = "kafka-1:9092,kafka-2:9092"
"""


def test_minimal_shape_from_the_issue(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(MINIMAL)
    config, location = load_config(path)
    assert location == path
    profile = config.profiles["prod"]
    assert profile.readonly is True
    broker = profile.brokers[0]
    assert isinstance(broker, KafkaConfig)
    assert (broker.name, broker.kind, broker.url) == ("orders-kafka", "kafka", "kafka-1:9092,kafka-2:9092")


def test_every_kind_accepts_the_minimal_keys_and_its_own(tmp_path: Path) -> None:
    path = write_config(tmp_path / "c.toml", {"all": {"brokers": [
        {"name": "k", "kind": "kafka", "url": "h:9092", "client_id": "me"},
        {"name": "r", "kind": "rabbitmq", "url": "amqps://u:p@h/vh", "management_url": "https://h:15671"},
        {"name": "d", "kind": "redis", "url": "rediss://h:6380/2", "key_patterns": ["jobs:*"]},
        {"name": "n", "kind": "nats", "url": "nats://a:4222,nats://b:4222", "dlq_stream": "DLQ"},
    ]}})  # fmt: skip
    config, _ = load_config(path)
    kinds = [b.kind for b in config.profiles["all"].brokers]
    assert kinds == ["kafka", "rabbitmq", "redis", "nats"]
    assert isinstance(config.profiles["all"].brokers[1], RabbitMQConfig)
    assert isinstance(config.profiles["all"].brokers[3], NatsConfig)


def test_search_order_flag_then_env_then_user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_search_path(None) == tmp_path / "xdg" / "mqtui" / "config.toml"
    monkeypatch.setenv("MQTUI_CONFIG", str(tmp_path / "env.toml"))
    assert config_search_path(None) == tmp_path / "env.toml"
    assert config_search_path(tmp_path / "flag.toml") == tmp_path / "flag.toml"


def test_missing_default_file_is_an_empty_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    config, _ = load_config(None)
    assert config.profiles == {}


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def test_env_vars_expand_in_any_string(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RMQ_PASS", "s3cret")
    monkeypatch.setenv("RMQ_HOST", "rabbit.internal")
    path = tmp_path / "c.toml"
    path.write_text(
        '[[profiles.p.brokers]]\nname = "r"\nkind = "rabbitmq"\nurl = "amqp://ops:${RMQ_PASS}@${RMQ_HOST}:5672/"\n'
    )
    config, _ = load_config(path)
    assert config.profiles["p"].brokers[0].url == "amqp://ops:s3cret@rabbit.internal:5672/"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('[profiles.p]\nreadonly = true\n[[profiles.p.brokers]]\nname = "x"\nkind = "kafka"\nurl = "h:1"\nbogus = 1\n',
         "profile 'p': brokers[0].bogus: unknown key"),
        ('[profiles.p]\nreadonly = "yes"\n', "profile 'p': readonly: expected `bool`, got `str`"),
        ('[[profiles.p.brokers]]\nname = "x"\nkind = "kafkaa"\nurl = "h:1"\n',
         "profile 'p': brokers[0].kind: unknown broker kind ('kafkaa')"),
        ('[[profiles.p.brokers]]\nname = "x"\nkind = "redis"\nurl = "http://h"\n',
         "profile 'p': brokers[0].url: must start with redis:// or rediss:// or unix://"),
        ('[[profiles.p.brokers]]\nname = "x"\nkind = "kafka"\nurl = "nohostport"\n',
         "profile 'p': brokers[0].url: must be host:port"),
        ('[[profiles.p.brokers]]\nname = "x"\nkind = "nats"\n',
         "profile 'p': brokers[0].url: is required unless `context` names a natscli context"),
        ('[[profiles.p.brokers]]\nname = "x"\nkind = "nats"\nurl = "nats://${NOT_SET_ANYWHERE}"\n',
         "profile 'p': brokers[0].url: environment variable NOT_SET_ANYWHERE is not set"),
        ("[profiles.p\n", "TOML syntax error"),
        ("colour = 1\n", "colour: unknown key"),
    ],
)  # fmt: skip
def test_bad_configs_give_one_line_naming_file_profile_and_key(tmp_path: Path, body: str, expected: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message
    assert caught.value.exit_code == 2


def test_secrets_are_masked_in_urls_and_reprs(tmp_path: Path) -> None:
    assert redact_url("amqp://ops:hunter2@h:5672/vh") == "amqp://ops:***@h:5672/vh"
    assert redact_url("nats://a:4222,nats://u:pw@b:4222") == "nats://a:4222,nats://u:***@b:4222"
    path = write_config(tmp_path / "c.toml", {"p": {"brokers": [
        {"name": "r", "kind": "rabbitmq", "url": "amqp://ops:hunter2@h/", "password": "hunter2"}]}})  # fmt: skip
    config, _ = load_config(path)
    assert "hunter2" not in repr(config)


def load_one(tmp_path: Path, broker: dict[str, Any], **profile: Any) -> str | None:
    """The one-line error for a profile holding this broker, or None when it loads."""
    path = write_config(tmp_path / "c.toml", {"p": {**profile, "brokers": [broker]}})
    try:
        load_config(path)
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith(f"{path}: profile 'p': ") and "\n" not in message
        assert exc.exit_code == 2
        return message.removeprefix(f"{path}: profile 'p': ")
    return None


NAN, INF = float("nan"), float("inf")
REDIS = {"name": "r", "kind": "redis", "url": "redis://h:6379/0"}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"timeout": NAN}, "brokers[0].timeout: must be a number of seconds above 0"),
        ({"timeout": INF}, "brokers[0].timeout: must be a number of seconds above 0"),
        ({"timeout": -INF}, "brokers[0].timeout: must be a number of seconds above 0"),
        ({"timeout": 0}, "brokers[0].timeout: must be a number of seconds above 0"),
        ({"timeout": 1e300}, "brokers[0].timeout: must be a number of seconds above 0 and at most 3600"),
        ({"scan_limit": -5}, "brokers[0].scan_limit: must be a whole number of at least 1"),
        ({"max_deliveries": 0}, "brokers[0].max_deliveries: must be a whole number of at least 1"),
        ({"dlq_patterns": ["{name}.DLQ", "dead"]}, "brokers[0].dlq_patterns[1]: 'dead' must contain {name}"),
    ],
)  # fmt: skip
def test_numbers_out_of_range_name_their_key(tmp_path: Path, change: dict[str, Any], expected: str) -> None:
    message = load_one(tmp_path, {**REDIS, **change})
    assert message is not None and message.startswith(expected), message


@pytest.mark.parametrize("value", [NAN, INF, -INF, 0.05, 1e6])
def test_poll_interval_must_be_finite_and_in_range(tmp_path: Path, value: float) -> None:
    message = load_one(tmp_path, REDIS, poll_interval=value)
    assert message == "poll_interval: must be a number of seconds from 0.1 to 86400"


@pytest.mark.parametrize(
    ("broker", "expected"),
    [
        ({"kind": "redis", "url": " redis://h:6379/0"}, "brokers[0].url: must not contain spaces"),
        ({"kind": "redis", "url": "redis://h:6379/0 "}, "brokers[0].url: must not contain spaces"),
        ({"kind": "kafka", "url": "h:9092, g:9092"}, "brokers[0].url: must not contain spaces"),
        ({"kind": "redis", "url": "redis://h:6379/0?foo=bar"},
         "brokers[0].url: option 1 is not one redis-py knows (db, socket_read_size"),
        ({"kind": "redis", "url": "redis://h:6379?db=x"}, "brokers[0].url: option db must be a whole number"),
        ({"kind": "redis", "url": "redis://h:6379?socket_timeout=nan"},
         "brokers[0].url: option socket_timeout must be a number above 0"),
        ({"kind": "redis", "url": "redis://h:6379/zero"}, "brokers[0].url: has a database that is not a number"),
        ({"kind": "redis", "url": "redis://h:65536/0"}, "brokers[0].url: has a port that is not a number from 1"),
        ({"kind": "redis", "url": "redis://h:0/0"}, "brokers[0].url: has a port that is not a number from 1"),
        ({"kind": "rabbitmq", "url": "amqp://h:99999/"}, "brokers[0].url: has a port that is not a number from 1"),
        ({"kind": "nats", "url": "nats://a:4222,nats://b:70000"},
         "brokers[0].url: has a port that is not a number from 1"),
        ({"kind": "kafka", "url": "a:9092,b:65536"}, "brokers[0].url: server 2: the port must be a number from 1"),
        ({"kind": "kafka", "url": "a:9092,"}, "brokers[0].url: must be host:port[,host:port...]: server 2 is not"),
        ({"kind": "rabbitmq", "url": "amqp://h/", "management_url": "https://h:100000"},
         "brokers[0].management_url: has a port that is not a number from 1"),
        ({"kind": "rabbitmq", "url": "amqp://h/", "management_url": "ftp://h"},
         "brokers[0].management_url: must start with http:// or https://"),
        ({"kind": "nats", "url": "nats://h:4222", "monitor_url": " http://h:8222"},
         "brokers[0].monitor_url: must not contain spaces"),
        ({"kind": "nats", "url": "nats://h:4222", "monitor_url": "http://h:8222222"},
         "brokers[0].monitor_url: has a port that is not a number from 1"),
        ({"kind": "redis", "url": "redis://[::1:6379/0"}, "brokers[0].url: has a malformed host"),
    ],
)  # fmt: skip
def test_bad_urls_fail_at_load_naming_the_key(tmp_path: Path, broker: dict[str, Any], expected: str) -> None:
    message = load_one(tmp_path, {"name": "b", **broker})
    assert message is not None and message.startswith(expected), message


@pytest.mark.parametrize(
    "url",
    ["redis://h:6379/15", "rediss://u:p%2Fw@h/0?socket_keepalive=yes&health_check_interval=30",
     "unix:///run/redis.sock?db=2", "redis://h?ssl_include_verify_flags=VERIFY_X509_STRICT,VERIFY_CRL_CHECK_LEAF"],
)  # fmt: skip
def test_good_redis_urls_load(tmp_path: Path, url: str) -> None:
    assert load_one(tmp_path, {**REDIS, "url": url}) is None


def test_every_redis_option_mqtui_accepts_is_one_redis_py_parses() -> None:
    """redis-py adds options over time; mqtui relies only on those it accepts being parsed, not passed on."""
    from redis.asyncio.connection import URL_QUERY_ARGUMENT_PARSERS

    assert set(REDIS_OPTIONS) <= set(URL_QUERY_ARGUMENT_PARSERS)


@pytest.mark.parametrize(
    ("key", "url", "secret"),
    [
        ("url", "redis://:Zq8Kx/3vWp@h:6379/0", "Zq8Kx/3vWp"),
        ("url", "redis://:Zq8Kx#3vWp@h:6379/0", "Zq8Kx#3vWp"),
        ("url", "amqp://ops:Zq8Kx?3vWp@h/", "Zq8Kx?3vWp"),
        ("url", "nats://Zq8Kx3vWpTOKEN@h:4222", "Zq8Kx3vWpTOKEN"),
        ("url", "amqp://ops:Zq8Kx%2F3vWp@h/", "Zq8Kx/3vWp"),
        ("management_url", "https://ops:Zq8Kx3vWpMGMT@h:15671", "Zq8Kx3vWpMGMT"),
        ("monitor_url", "http://ops:Zq8Kx3vWpMON@h:8222", "Zq8Kx3vWpMON"),
    ],
)  # fmt: skip
def test_credentials_are_registered_before_validation(
    monkeypatch: pytest.MonkeyPatch, key: str, url: str, secret: str
) -> None:
    monkeypatch.setattr(secrets, "_secrets", set())
    kind = {"url": url.partition(":")[0].replace("amqp", "rabbitmq"), "management_url": "rabbitmq",
            "monitor_url": "nats"}[key]  # fmt: skip
    base = {"rabbitmq": "amqp://h/", "nats": "nats://h:4222", "redis": "redis://h"}[kind]
    broker = {"name": "b", "kind": kind, "url": base, key: url, "timeout": NAN}  # invalid: the load fails
    with pytest.raises(ConfigError):
        parse_config({"profiles": {"p": {"brokers": [broker]}}}, Path("c.toml"))
    assert secret in secrets.registered()
    assert secrets.scrub(f"x {secret} y") == "x *** y"


def test_secrets_of_includes_the_management_and_monitor_urls() -> None:
    rabbit = RabbitMQConfig(name="r", url="amqp://h/", management_url="https://ops:mgmt-secret@h:15671")
    nats = NatsConfig(name="n", url="nats://tok-secret@h:4222", monitor_url="http://u:mon-secret@h:8222")
    assert "mgmt-secret" in secrets_of(rabbit)
    assert {"tok-secret", "mon-secret"} <= set(secrets_of(nats))
    assert "mgmt-secret" not in repr(rabbit) and "tok-secret" not in repr(nats)


def test_redact_url_keeps_ipv6_hosts_and_commas_in_passwords() -> None:
    assert redact_url("amqps://u:p@[::1]:5671/%2F") == "amqps://u:***@[::1]:5671/%2F"
    assert redact_url("amqp://u:pa,ss@h/") == "amqp://u:***@h/"
    assert redact_url("nats://tok@a:1,nats://b:2") == "nats://***@a:1,nats://b:2"
    assert redact_url("redis://user@h") == "redis://user@h"  # a user name alone is not secret


@pytest.mark.parametrize(
    ("broker", "warns"),
    [
        ({**REDIS, "password": "hunter2"}, True),
        ({**REDIS, "url": "redis://:hunter2@h:6379/0"}, True),
        ({"name": "r", "kind": "rabbitmq", "url": "amqp://h/", "management_url": "https://u:hunter2@h"}, True),
        ({"name": "n", "kind": "nats", "url": "nats://h:4222", "monitor_url": "http://u:hunter2@h:8222"}, True),
        ({**REDIS, "password": "${MQTUI_TEST_PW}"}, False),
        ({"name": "r", "kind": "rabbitmq", "url": "amqp://ops:${MQTUI_TEST_PW}@h/"}, False),
        ({"name": "k", "kind": "kafka", "url": "h:9092",
          "sasl": {"username": "ops", "password": "${MQTUI_TEST_PW}"}}, False),
        (REDIS, False),
    ],
)  # fmt: skip
def test_permission_warning_only_for_secrets_written_in_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broker: dict[str, Any], warns: bool
) -> None:
    monkeypatch.setenv("MQTUI_TEST_PW", "from-the-environment")
    path = write_config(tmp_path / "c.toml", {"p": {"brokers": [broker]}})
    load_config(path)
    assert permission_warning(path) is None  # 0600
    path.chmod(0o644)
    warning = permission_warning(path)
    assert (warning is not None) == warns
    if warning:
        assert "holds credentials and is readable by other users" in warning
