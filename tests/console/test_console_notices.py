"""What an adapter's answer left out reaches the console: its notices on the status line, and a lag
the adapter only counted up to a bound shown as at least (`≥`), in the Lag pane and in its ranking."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from textual.widgets import Static

from mqtui.brokers.redis import lag as redis_lag
from mqtui.model import BacklogRow
from mqtui.services.history import LagHistory
from mqtui.services.snapshot import GroupLag, LagState, group_backlog
from mqtui.ui.panes.lag import eta_text, lag_text, partition_section, rank
from tests.console.conftest import profile_file
from tests.console.pilot import console


def _draining(lag: int, *, at_least: bool, group: str = "g") -> GroupLag:
    """A group whose lag fell by 100 per 2-second poll over six polls: 50/s consumed."""
    history = LagHistory()
    trended: list[GroupLag] = []
    for poll in range(6):
        row = BacklogRow("r", "s", group, None, lag=lag + 100 * (5 - poll), lag_at_least=at_least, consumers=1)
        trended = history.observe("r", group_backlog([row]), poll * 2.0)
    return trended[0]


def test_a_lower_bound_lag_says_at_least_in_its_cells_eta_and_rank() -> None:
    bound, exact = _draining(12_000, at_least=True, group="b"), _draining(12_000, at_least=False, group="a")
    assert bound.lag == exact.lag == 12_000 and bound.trend.state is LagState.DRAINING
    assert bound.trend.eta == exact.trend.eta == 240.0  # 12,000 at 50/s
    assert (lag_text(bound.lag, bound.lag_at_least), eta_text(bound)) == ("≥12,000", "≥4m")
    assert (lag_text(exact.lag, exact.lag_at_least), eta_text(exact)) == ("12,000", "~4m")
    # Ranked by its bound, and before an exact lag of the same number (it may be more), names aside.
    assert [g.group for g in rank([exact, bound])] == ["b", "a"]
    assert [g.group for g in rank([_draining(12_001, at_least=False, group="c"), bound])] == ["c", "b"]
    assert partition_section(bound, None).rows[0][3] == "≥12,000"  # the group's drill-in, too


def test_a_group_sums_to_a_lower_bound_when_any_row_is_one() -> None:
    rows = [BacklogRow("k", "t", "g", 0, lag=5), BacklogRow("k", "t", "g", 1, lag=10_000, lag_at_least=True)]
    (group,) = group_backlog(rows)
    assert (group.lag, group.lag_at_least) == (10_005, True)
    (group,) = group_backlog([rows[0], BacklogRow("k", "t", "g", 1, lag=7)])
    assert (group.lag, group.lag_at_least) == (12, False)
    assert lag_text(None, True) == "-"  # no number, no bound to show


async def test_a_bounded_key_scan_is_said_on_the_status_line_until_it_no_longer_holds(
    tmp_path: Path, redis_db: tuple[str, redis.Redis]
) -> None:
    url, client = redis_db
    for index in range(30):
        client.lpush(f"q:{index:02d}", "x")
    client.set("filler", "x")
    config = profile_file(tmp_path, [{"name": "r", "kind": "redis", "url": url, "timeout": 2.0, "scan_limit": 10}])
    kept = "r: 30 lists, streams and job keys found; only the first 10 by name are shown"
    async with console(config, "ops", size=(200, 30)) as c:
        status = c.app.screen.query_one("#status", Static)
        await c.wait(lambda: kept in c.text("#status"), "the scan_limit notice on the status line")
        line = c.text("#status")
        assert line.startswith("1/1 brokers up · data ") and line.endswith(
            f" old · {kept} (narrow key_patterns or raise scan_limit)"
        )
        assert not status.has_class("-error")  # a notice, not a broker problem
        assert str(status.tooltip) == f"{kept} (narrow key_patterns or raise scan_limit)"
        first = [f"q:{index:02d}" for index in range(10)]  # once a pass went round: the first 10 by name
        await c.wait_rows("#dest-table", lambda r: sorted(row[1] for row in r) == first, "the first 10 lists")

        client.delete(*[f"q:{index:02d}" for index in range(5, 30)])
        await c.wait(lambda: c.text("#status").endswith(" old"), "the notice gone once the scan keeps everything")
        assert status.tooltip is None
        await c.wait_rows("#dest-table", lambda r: len(r) == 5, "the five lists left")


async def test_lag_counted_after_a_deletion_is_exact_and_a_count_stopped_at_its_limit_says_at_least(
    tmp_path: Path, redis_db: tuple[str, redis.Redis], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, client = redis_db
    monkeypatch.setattr(redis_lag, "LIMIT", 4)  # the adapter counts at most 4 entries per group (10,000 really)
    monkeypatch.setattr(redis_lag, "PAGE", 3)
    long = [client.xadd("long", {"data": str(i)}) for i in range(10)]
    short = [client.xadd("short", {"data": str(i)}) for i in range(5)]
    for stream, group in (("long", "behind"), ("short", "near")):
        client.xgroup_create(stream, group, "0")
        client.xreadgroup(group, "c", {stream: ">"}, count=2)
    client.xdel("long", long[5])  # past each group's position: Redis answers its lag nil
    client.xdel("short", short[3])
    assert [g["lag"] for s in ("long", "short") for g in client.xinfo_groups(s)] == [None, None]
    config = profile_file(tmp_path, [{"name": "r", "kind": "redis", "url": url, "timeout": 2.0}])
    async with console(config, "ops") as c:
        await c.press("2")
        rows = await c.wait_rows("#lag-table", lambda r: {"behind", "near"} <= {row[1] for row in r}, "both groups")
        lags = {row[1]: row[3] for row in rows}
        assert (lags["behind"], lags["near"]) == ("≥4", "2")  # 7 entries after behind's position, 2 after near's

        await c.pick("#lag-table", 1, "behind", "the group behind")
        await c.press("enter")
        await c.wait_screen("GroupScreen")
        await c.wait(lambda: len(c.app.screen.query("DataTable.section")) > 1, "the group's details")
        partitions, groups = (c.rows_of(t) for t in list(c.app.screen.query("DataTable.section"))[:2])
        assert partitions[0][3] == "≥4"  # the backlog row
        assert groups[0][0] == "long" and groups[0][5] == "≥4"  # the adapter's own group view
