"""What `watch` prints for an alert whose names came from a broker: never a control character, and
one JSON object per alert with the same fields either way."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from mqtui.commands.output import Output
from mqtui.commands.watch import print_changes, print_open
from mqtui.services.alerts import Alert

HOSTILE = "orders\x1b]0;pwned\x07\x1b[2J\r\nfake line"
SINCE = datetime(2026, 12, 6, 20, 0, 0, tzinfo=UTC)


def _alert(closed: bool = False) -> Alert:
    return Alert("lag over 10", "lag_over", "k", HOSTILE, "g", SINCE, "12",
                 closed_at=SINCE.replace(minute=5) if closed else None)  # fmt: skip


def test_table_lines_hold_no_control_characters(capsys: pytest.CaptureFixture[str]) -> None:
    print_changes([_alert(), _alert(closed=True)], Output(as_json=False))
    print_open([_alert()], Output(as_json=False))
    out = capsys.readouterr().out
    assert not any(ch in out for ch in "\x1b\x07\r")
    lines = out.splitlines()
    assert len(lines) == 4  # two changes, the table's header and its one row: no line was injected
    assert lines[0].startswith("2026-12-06 20:00:00Z  opened  lag over 10  k / orders")
    assert lines[1].startswith("2026-12-06 20:05:00Z  closed  lag over 10")


def test_json_lines_carry_the_names_whole(capsys: pytest.CaptureFixture[str]) -> None:
    print_changes([_alert(closed=True)], Output(as_json=True))
    (line,) = capsys.readouterr().out.splitlines()
    record = json.loads(line)
    assert record["destination"] == HOSTILE and record["event"] == "closed"
    assert record["since"] == "2026-12-06T20:00:00+00:00" and record["closed_at"] == "2026-12-06T20:05:00+00:00"
