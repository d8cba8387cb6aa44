"""Hypothesis-generated configs and CLI arguments: a clean one-line error or success, never a traceback."""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mqtui import demo, secrets
from mqtui.cli import main
from mqtui.config import Config, RedisConfig, load_config, parse_config
from mqtui.errors import ConfigError, MqtuiError


@pytest.fixture(autouse=True)
def forget_generated_secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Loading a config registers its passwords for masking, process-wide: generated ones ("abc") must
    not mask text in the tests that run after these."""
    monkeypatch.setattr(secrets, "_secrets", set(secrets.registered()))
    yield


KEYS = ["name", "kind", "url", "readonly", "production", "poll_interval", "brokers", "timeout", "tls", "sasl",
        "management_url", "key_patterns", "dlq_patterns", "theme", "keys", "profiles", "default_profile",
        "password", "username", "bogus", "ca_file", "mechanism", "scan_limit", "monitor_url"]  # fmt: skip
KINDS = ["kafka", "rabbitmq", "redis", "nats", "KAFKA", "", "mqtt"]
URLS = ["h:9092", "redis://h:1/0", "amqp://u:p@h/", "nats://h:4222", "http://x", "", "::", "redis://h:99999",
        "${NOPE_NOT_SET}", "a,b", "nats://a:1,nats://b:2", "h:x", "amqps://[::1]:5671/%2F"]  # fmt: skip

scalars = st.one_of(
    st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(KINDS), st.sampled_from(URLS), st.dates(), st.times(), st.datetimes(),
)  # fmt: skip
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.sampled_from(KEYS), children, max_size=5)
    ),
    max_leaves=12,
)
broker = st.fixed_dictionaries(
    {"name": st.text(max_size=8), "kind": st.sampled_from(KINDS), "url": st.sampled_from(URLS)},
    optional={key: values for key in KEYS if key not in ("name", "kind", "url")},
)
profile = st.fixed_dictionaries({}, optional={"brokers": st.lists(st.one_of(broker, values), max_size=3),
                                              "readonly": values, "poll_interval": values, "bogus": values})  # fmt: skip
config = st.fixed_dictionaries(
    {}, optional={"profiles": st.dictionaries(st.text(max_size=6), st.one_of(profile, values), max_size=3),
                  "theme": values, "keys": values, "default_profile": values}
)  # fmt: skip


def assert_sane(config: Config) -> None:
    """What every loaded config promises the code that uses it: finite, positive waits and counts."""
    for profile in config.profiles.values():
        assert math.isfinite(profile.poll_interval) and profile.poll_interval >= 0.1
        assert profile.stall_polls >= 1
        for broker in profile.brokers:
            assert math.isfinite(broker.timeout) and 0 < broker.timeout <= 3600
            assert broker.url == broker.url.strip() and broker.url
            if isinstance(broker, RedisConfig):
                assert broker.scan_limit >= 1 and broker.max_deliveries >= 1


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(config)
@example({"profiles": {"p": {"brokers": [{"name": "r", "kind": "redis", "url": "redis://h", "timeout": math.nan}]}}})
@example({"profiles": {"p": {"poll_interval": math.inf}}})
def test_generated_configs_validate_or_fail_with_one_line(raw: dict) -> None:  # type: ignore[type-arg]
    try:
        loaded = parse_config(raw, Path("gen.toml"))
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith("gen.toml: ")
        assert "\n" not in message
    else:
        assert_sane(loaded)


# TOML values as written in a file, for keys that take a number: every float TOML has (nan, inf, exponents),
# whole numbers, dates, times, strings and booleans.
toml_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(2**63), 2**63 - 1).map(str),
    st.sampled_from(["nan", "+nan", "-nan", "inf", "+inf", "-inf", "1e400", "-0.0", "1_000", "0x10", "true",
                     '"5"', "1979-05-27", "07:32:00", "1979-05-27T07:32:00Z", "1979-05-27 07:32:00"]),
)  # fmt: skip
NUMBER_KEYS = {  # key -> (where it goes, whether a parsed TOML value is acceptable there)
    "timeout": ("broker", lambda v: _is_number(v) and math.isfinite(v) and 0 < v <= 3600),
    "scan_limit": ("broker", lambda v: _is_whole(v) and v >= 1),
    "max_deliveries": ("broker", lambda v: _is_whole(v) and v >= 1),
    "poll_interval": ("profile", lambda v: _is_number(v) and math.isfinite(v) and 0.1 <= v <= 86400),
    "stall_polls": ("profile", lambda v: _is_whole(v) and v >= 1),
}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(sorted(NUMBER_KEYS)), toml_numbers)
@example("timeout", "nan")
@example("poll_interval", "inf")
@example("scan_limit", "-5")
@example("timeout", "1979-05-27")
def test_generated_toml_numbers_load_exactly_when_in_range(tmp_path: Path, key: str, literal: str) -> None:
    where, acceptable = NUMBER_KEYS[key]
    profile_line = f"{key} = {literal}\n" if where == "profile" else ""
    broker_line = f"{key} = {literal}\n" if where == "broker" else ""
    text = f'[profiles.p]\n{profile_line}[[profiles.p.brokers]]\nname = "r"\nkind = "redis"\nurl = "redis://h"\n'
    path = tmp_path / "gen.toml"
    path.write_text(text + broker_line, encoding="utf-8")
    try:
        value = tomllib.loads(f"v = {literal}")["v"]
    except tomllib.TOMLDecodeError:
        value = None  # not TOML: the load must say so
    assert isinstance(value, (int, float, bool, str, date, datetime, time, type(None)))
    try:
        loaded = load_config(path)[0]
    except ConfigError as exc:
        message = str(exc)
        assert "\n" not in message and message.startswith(f"{path}: ")
        assert value is None or not acceptable(value), message
        if value is not None:
            assert f"profile 'p': {'brokers[0].' if where == 'broker' else ''}{key}: " in message
    else:
        assert value is not None and acceptable(value)
        assert_sane(loaded)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200))
def test_generated_toml_text_never_escapes_as_a_traceback(tmp_path: Path, text: str) -> None:
    path = tmp_path / "gen.toml"
    try:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    except UnicodeEncodeError:
        return
    try:
        load_config(path)
    except ConfigError as exc:
        assert "\n" not in str(exc)
    except tomllib.TOMLDecodeError:  # pragma: no cover - must be wrapped
        pytest.fail("TOML error escaped unwrapped")


def _no_demo(**_kwargs: object) -> None:
    raise MqtuiError("the demo is not started by generated arguments")


ARG_WORDS = ["ls", "lag", "tail", "publish", "dlq", "replay", "show", "purge", "reset-offsets", "--json",
             "--from", "--limit", "-n", "--count", "--to", "--yes", "--profile", "--broker", "--value", "--header",
             "--prop", "0", "-1", "x", "k=v", "=", "beginning", "2026-13-45", "--config", "/nonexistent",
             "profiles", "bogus", "--id", "describe", "group", "peek", "request", "--timeout", "nan", "inf",
             "-inf", "1e999", "999999999999999999999-0", "99999999999999999999", "--end", "--dry-run"]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.sampled_from(ARG_WORDS), st.text(max_size=6)), max_size=7))
@example(["--config", "", "tail", "demo-kafka", "orders"])  # once started the demo and tailed for ever
def test_generated_arguments_exit_cleanly(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    # Never let a generated command start the demo's brokers or reach a real one: `--config ""` means
    # "no config" and falls back to the demo, where a generated `tail` would then run for ever.
    monkeypatch.setattr(demo, "ensure_running", _no_demo)
    if "demo" in argv or "--help" in argv or "-h" in argv or not argv:
        return
    if "--config" not in argv:
        argv = ["--config", "/nonexistent/mqtui.toml", *argv]
    code = main(argv)
    captured = capsys.readouterr()
    assert code in (0, 1, 2, 3)
    assert "Traceback" not in captured.err
    assert "internal error" not in captured.err
    if code != 0:
        assert len(captured.err.strip().splitlines()) == 1, captured.err
