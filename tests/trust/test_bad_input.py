"""Hypothesis-generated configs and CLI arguments: a clean one-line error or success, never a traceback."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mqtui import demo
from mqtui.cli import main
from mqtui.config import load_config, parse_config
from mqtui.errors import ConfigError, MqtuiError

KEYS = ["name", "kind", "url", "readonly", "production", "poll_interval", "brokers", "timeout", "tls", "sasl",
        "management_url", "key_patterns", "dlq_patterns", "theme", "keys", "profiles", "default_profile",
        "password", "username", "bogus", "ca_file", "mechanism", "scan_limit", "monitor_url"]  # fmt: skip
KINDS = ["kafka", "rabbitmq", "redis", "nats", "KAFKA", "", "mqtt"]
URLS = ["h:9092", "redis://h:1/0", "amqp://u:p@h/", "nats://h:4222", "http://x", "", "::", "redis://h:99999",
        "${NOPE_NOT_SET}", "a,b", "nats://a:1,nats://b:2", "h:x", "amqps://[::1]:5671/%2F"]  # fmt: skip

scalars = st.one_of(
    st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=True), st.text(max_size=12),
    st.sampled_from(KINDS), st.sampled_from(URLS),
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


@settings(max_examples=400, deadline=None)
@given(config)
def test_generated_configs_validate_or_fail_with_one_line(raw: dict) -> None:  # type: ignore[type-arg]
    try:
        parse_config(raw, Path("gen.toml"))
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith("gen.toml: ")
        assert "\n" not in message


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
             "profiles", "bogus", "--id", "describe", "group", "peek", "request", "--timeout"]  # fmt: skip


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
