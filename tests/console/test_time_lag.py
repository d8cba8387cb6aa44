"""Time lag on screen and in `lag --json`: the Lag pane's column and sort, the drill-in's partitions,
the JSON fields. The values are planted in the fixed data (tests/console/fixtures.py) against its clock.

A time lag reads in its two largest units ("1m 30s", "2h 5m", "3d 4h"); "0s" when nothing waits (a
caught-up group is not behind in time either); "-" when messages wait and the broker cannot say since
when (the drill-in says why, in a last column).
"""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest

from mqtui import jsonl
from mqtui.figures import elapsed
from mqtui.model import BacklogRow
from mqtui.services.snapshot import group_backlog
from mqtui.ui.app import MqtuiApp
from mqtui.ui.panes.lag import COLUMNS, partition_section, rank
from tests.console.fixtures import HOSTILE, NOW, static_backend
from tests.console.pilot import Console

TIME_LAG = [key for _title, key in COLUMNS].index("time_lag")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "-"), (0, "0s"), (0.6, "0s"), (42, "42s"), (60, "1m"), (90, "1m 30s"), (190, "3m 10s"), (3600, "1h"),
     (7500, "2h 5m"), (86400 * 3 + 3600 * 4 + 5, "3d 4h")],
)  # fmt: skip
def test_elapsed_reads_in_two_units(seconds: float | None, text: str) -> None:
    assert elapsed(seconds) == text


async def test_lag_pane_shows_and_sorts_by_time_lag() -> None:
    app = MqtuiApp(static_backend())  # type: ignore[arg-type]
    app.animation_level = "none"
    async with app.run_test(size=(120, 36)) as pilot:
        c = Console(app, pilot, [])
        await c.press("2")
        rows = await c.wait_rows("#lag-table", lambda r: len(r) == 6, "six groups")
        shown = {(row[1], row[TIME_LAG]) for row in rows}
        assert shown == {
            ("ledger", "3d 4h"), ("analytics", "2h 5m"), ("billing", "1m 30s"),  # billing: its worst partition
            ("workers", "0s"), ("grp", "-"), ("archiver", "-"),
        }  # fmt: skip
        # by urgency (the default): stalled, growing, then draining by lag
        assert [row[1] for row in rows] == ["ledger", "analytics", "archiver", "billing", "grp", "workers"]
        await c.press("s")
        assert "sorted by time lag ↓" in c.text("#lag-info")
        assert [row[1] for row in c.rows("#lag-table")] == ["ledger", "analytics", "billing", "archiver", "grp",
                                                             "workers"]  # fmt: skip
        await c.press("s")
        assert "sorted by lag ↓" in c.text("#lag-info")
        await c.press("s")
        assert "sorted by" not in c.text("#lag-info")
        assert [row[1] for row in c.rows("#lag-table")] == [row[1] for row in rows]


def test_equal_urgency_and_lag_go_by_time_lag() -> None:
    rows = [
        BacklogRow("b", "t", name, 0, lag=5, oldest_waiting_at=NOW - timedelta(seconds=seconds))
        for name, seconds in (("young", 5), ("old", 500))
    ]
    assert [g.group for g in rank(group_backlog(rows), now=NOW)] == ["old", "young"]


def test_partition_section_has_a_time_lag_per_partition() -> None:
    rows = [
        BacklogRow("k", "orders", "billing", 0, lag=3, oldest_waiting_at=NOW - timedelta(seconds=90)),
        BacklogRow("k", "orders", "billing", 1, lag=0),
        BacklogRow("k", "orders", "billing", 2, lag=7, time_lag_unknown="no timestamps"),
    ]
    (group,) = group_backlog(rows)
    section = partition_section(group, NOW)
    column = section.columns.index("time lag")
    assert [row[column] for row in section.rows] == ["1m 30s", "0s", "-"]
    assert [row[-1] for row in section.rows] == ["", "", "no timestamps"]
    assert section.columns[-1] == "time lag unknown"
    assert partition_section(group_backlog(rows[:2])[0], NOW).columns[-1] == "active"  # only when one is unknown
    assert group.time_lag(NOW) == 90.0


def test_lag_json_carries_time_lag_seconds_and_the_oldest_message_time() -> None:
    waiting = BacklogRow("k", "orders", "billing", 0, lag=3, oldest_waiting_at=NOW - timedelta(seconds=90.04))
    unknown = BacklogRow("r", HOSTILE, "grp", None, lag=12, time_lag_unknown="trimmed")
    caught_up = BacklogRow("r", "jobs", "workers", None, lag=0)
    records = [orjson.loads(jsonl.dumps(jsonl.backlog_record(row, NOW))) for row in (waiting, unknown, caught_up)]
    assert [(r["time_lag_s"], r["oldest_waiting_at"], r["time_lag_unknown"]) for r in records] == [
        (90.0, "2024-05-01T11:58:29.960000Z", None),
        (None, None, "trimmed"),
        (0.0, None, None),
    ]
    assert records[0]["lag"] == 3  # the fields are added beside the old ones
