"""Alert rules in the config: one condition per table, durations, globs, and the default rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from mqtui.config import load_config
from mqtui.config.alerts import AlertRule, format_duration, parse_duration
from mqtui.errors import ConfigError

HEAD = """
[[profiles.p.brokers]]
name = "k"
kind = "kafka"
url = "h:9092"
"""


def _load(tmp_path: Path, body: str, keys: str = "") -> tuple[AlertRule, ...]:
    path = tmp_path / "c.toml"
    path.write_text(f"[profiles.p]\n{keys}{HEAD}{body}")
    config, _ = load_config(path)
    return config.profiles["p"].alert_rules()


def test_rules_load_with_globs_labels_and_seconds(tmp_path: Path) -> None:
    rules = _load(
        tmp_path,
        """
[[profiles.p.alerts]]
lag_over = 10000
group = "billing-*"
[[profiles.p.alerts]]
time_lag_over = "1h30m"
name = "orders are late"
[[profiles.p.alerts]]
growing_for = "90s"
""",
    )
    labels = [rule.label for rule in rules]
    assert labels == ["idle for 5m", "broker down", "lag over 10,000", "orders are late", "growing for 1m30s"]
    lag, late, growing = rules[2:]
    assert lag.matches("k", "orders", "billing-eu") and not lag.matches("k", "orders", "shipping")
    assert late.time_lag_over_s == 5400.0 and growing.growing_for_s == 90.0
    assert rules[0].idle_for_s == 300.0


def test_defaults_can_be_turned_off_or_replaced_by_an_unscoped_rule(tmp_path: Path) -> None:
    off = _load(tmp_path, "", keys="default_alerts = false\n")
    assert off == ()
    replaced = _load(tmp_path, '[[profiles.p.alerts]]\nidle_for = "15m"\n')
    assert [rule.label for rule in replaced] == ["broker down", "idle for 15m"]
    scoped = _load(tmp_path, '[[profiles.p.alerts]]\nidle_for = "1m"\ngroup = "fast"\n')
    assert [rule.label for rule in scoped] == ["idle for 5m", "broker down", "idle for 1m"]


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("name = 'x'", "profile 'p': alerts[0]: an alert rule needs exactly one condition of lag_over,"),
        ("lag_over = 5\nidle_for = '5m'", "(found lag_over, idle_for)"),
        ("idle_for = '5 minutes'", "profile 'p': alerts[0].idle_for: must be a duration above zero"),
        ("time_lag_over = '0s'", "alerts[0].time_lag_over: must be a duration above zero"),
        ("lag_over = -1", "alerts[0].lag_over: must be a whole number of at least 0"),
        ("broker_down = true\ngroup = 'g'", "alerts[0].broker_down: watches brokers"),
        ("dead_letters_increase = false", "needs exactly one condition"),
        ("lag_over = 1\ncolour = 'red'", "alerts[0].colour: unknown key"),
    ],
)
def test_bad_rules_are_one_line_naming_the_key(tmp_path: Path, table: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, f"[[profiles.p.alerts]]\n{table}\n")
    message = str(caught.value)
    assert expected in message and "\n" not in message


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("5m", 300), ("1h30m", 5400), ("0.5s", 0.5), ("1d", 86400), ("2d3h", 183600)]
)
def test_durations_read_back_the_way_they_print(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds
    assert parse_duration(format_duration(seconds)) == seconds


def test_a_zero_threshold_is_a_condition() -> None:
    rule = AlertRule(lag_over=0)
    assert (rule.condition, rule.label) == ("lag_over", "lag over 0")
