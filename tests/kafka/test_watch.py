"""`mqtui watch --once` against the real Kafka broker (tansu): exit 1 with the breached rules listed while
a planted group is behind, 0 once it caught up; JSON Lines with `--json`; bad flags are one line, exit 2."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mqtui.cli import main
from mqtui.demo.localbrokers import LocalKafka
from tests.helpers import write_config
from tests.kafka.conftest import KafkaTools, Record, unique


def planted_ms() -> int:
    """Record times planted 2h 15m 30s before the test: a time lag that reads "2h 15m" for 30 s."""
    return int(datetime.now(tz=UTC).timestamp() * 1000) - 8_130_000


def _config(tmp_path: Path, kafka_server: LocalKafka, group: str, **profile: Any) -> Path:
    alerts = [{"lag_over": 3, "group": group}, {"time_lag_over": "1h", "group": group, "name": "orders are late"}]
    body = {"default_alerts": False, "alerts": alerts, **profile, "brokers": [kafka_server.broker_config()]}
    return write_config(tmp_path / "config.toml", {"k": body})


def _watch(capsys: pytest.CaptureFixture[str], config: Path, *flags: str) -> tuple[int, str, str]:
    code = main(["--config", str(config), "-p", "k", "watch", "--once", *flags])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_watch_once_exits_1_while_a_rule_is_breached_and_0_when_none_is(
    tmp_path: Path, kafka_server: LocalKafka, kafka: KafkaTools, capsys: pytest.CaptureFixture[str]
) -> None:
    topic = kafka.topic("watch")
    base = planted_ms()
    kafka.produce(topic, [Record(b"%d" % i, partition=0, timestamp=base + i * 1000) for i in range(5)])
    group = unique("watchers")
    kafka.commit(group, topic, {0: 1})  # 4 behind, the oldest waiting (record 1) written 2h 15m 29s ago
    config = _config(tmp_path, kafka_server, group)

    code, out, err = _watch(capsys, config)
    assert code == 1 and err == ""
    header, *rows = out.splitlines()
    assert header.split() == ["RULE", "BROKER", "DESTINATION", "GROUP", "VALUE"]
    assert len(rows) == 2 and all(topic in row and group in row for row in rows)
    assert rows[0].startswith("lag over 3 ") and rows[0].endswith(" 4")
    assert rows[1].startswith("orders are late ") and "time lag 2h 15m" in rows[1]  # the record at the committed offset

    code, out, _err = _watch(capsys, config, "--json")
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and [(r["event"], r["condition"], r["group"], r["value"]) for r in records] == [
        ("open", "lag_over", group, "4"),
        ("open", "time_lag_over", group, records[1]["value"]),
    ]
    assert records[0]["broker"] == kafka_server.name and records[0]["closed_at"] is None

    kafka.commit(group, topic, {0: 5})  # caught up
    assert _watch(capsys, config) == (0, "no alerts\n", "")


def test_watch_once_says_what_one_poll_cannot_judge(
    tmp_path: Path, kafka_server: LocalKafka, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(
        tmp_path / "config.toml",
        {
            "k": {
                "alerts": [
                    {"growing_for": "15m", "group": "nobody-*"},
                    {"dead_letters_increase": True, "destination": "nothing"},
                ],
                "brokers": [kafka_server.broker_config()],
            }
        },
    )
    code, out, err = _watch(capsys, config)
    assert (code, out) == (0, "no alerts\n")
    assert err.count("\n") == 1 and "one poll cannot tell how long" in err
    assert "(idle for 5m, growing for 15m, dead letters increased)" in err  # the default idle rule, then the profile's


def test_watch_once_on_a_broker_that_is_down_is_a_breach(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    down = {"name": "gone", "kind": "kafka", "url": "127.0.0.1:1", "timeout": 1.0}
    config = write_config(tmp_path / "config.toml", {"k": {"brokers": [down]}})
    code, out, _err = _watch(capsys, config, "--json")
    [record] = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and (record["condition"], record["broker"]) == ("broker_down", "gone")


@pytest.mark.parametrize("flags", [["--interval", "0"], ["--interval", "soon"], ["--bogus"]])
def test_bad_watch_flags_are_one_line_and_exit_2(
    tmp_path: Path, flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["watch", *flags])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("mqtui: error: ")
