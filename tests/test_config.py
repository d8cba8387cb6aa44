"""Config loading: search order, strict validation with one-line errors, ${VAR} expansion."""

from __future__ import annotations

from pathlib import Path

import pytest

from mqtui.config import KafkaConfig, NatsConfig, RabbitMQConfig, config_search_path, load_config, redact_url
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
         "profile 'p': brokers[0]: redis url must look like redis://host:port"),
        ('[[profiles.p.brokers]]\nname = "x"\nkind = "kafka"\nurl = "nohostport"\n',
         "profile 'p': brokers[0]: kafka url must be host:port"),
        ('[[profiles.p.brokers]]\nname = "x"\nkind = "nats"\n', "profile 'p': brokers[0].url: required key is missing"),
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
