"""History survives a restart: two console runs on the same data directory against a real Redis.

The first run records its polls of a stream group; the second starts from them, with a gap where
mqtui was not running, in the Lag pane's sparkline and in the drill-in's chart.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from textual.widgets import Label

from mqtui.services.snapshot import GroupLag
from mqtui.ui.panes.lag import COLUMNS
from mqtui.ui.screens import groupchart
from mqtui.ui.screens.groupchart import GroupScreen
from tests.console.conftest import profile_file
from tests.console.pilot import Console, console

HISTORY = [key for _title, key in COLUMNS].index("history")


def workers(c: Console) -> GroupLag | None:
    return next((g for s in c.screen.snapshots.values() for g in s.lag if g.group == "workers"), None)


def lag_is(c: Console, lag: int) -> GroupLag | None:
    group = workers(c)
    return group if group is not None and group.lag == lag else None


async def test_the_lag_history_of_one_run_is_shown_by_the_next(
    tmp_path: Path, redis_db: tuple[str, redis.Redis], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(groupchart, "REDRAW_EVERY", 0.2)  # the open chart follows new samples
    url, client = redis_db
    for i in range(5):
        client.xadd("events", {"n": str(i)})
    client.xgroup_create("events", "workers", id="0")
    brokers = [{"name": "r", "kind": "redis", "url": url, "timeout": 2.0}]
    config = profile_file(tmp_path, brokers, history_interval=0)  # keep every poll
    async with console(config, "ops") as c:
        await c.wait(lambda: lag_is(c, 5), "lag 5")
        for i in range(3):
            client.xadd("events", {"n": str(5 + i)})
        group = await c.wait(lambda: lag_is(c, 8), "lag 8")
        assert group.trend.history[0] == 5 and group.trend.history[-1] == 8
    client.xadd("events", {"n": "while mqtui was stopped"})

    async with console(config, "ops") as c:
        group = await c.wait(lambda: lag_is(c, 9), "lag 9 after the restart")
        history = group.trend.history
        # Run 1's polls (5, then 8), a gap for the time mqtui was not running, then this run's first.
        assert history[0] == 5 and history[-3:] == (8, None, 9), history
        assert set(history[:-2]) == {5, 8}
        await c.press("2")
        rows = await c.wait_rows("#lag-table", lambda r: any(row[1] == "workers" for row in r), "workers")
        sparkline = next(row for row in rows if row[1] == "workers")[HISTORY]
        before, after = sparkline.split(" ")  # 5 ... 8 (▁ ... ▆), the gap, then 9 at every poll since
        assert (before[0], before[-1], set(after)) == ("▁", "▆", {"█"}), sparkline

        c.screen.show_group(group)
        await c.wait_screen("GroupScreen")

        def chart_state() -> str | None:
            screen = c.app.screen
            labels = list(screen.query("#chart-state").results(Label)) if isinstance(screen, GroupScreen) else []
            text = str(labels[0].content) if labels else ""
            return text if "samples" in text else None

        def samples() -> int:
            text = chart_state() or ""
            return int(text.split(" · ")[1].split(" ")[0]) if text else 0

        text = await c.wait(chart_state, "the chart")
        assert samples() >= len(history) - 1  # every poll of both runs so far (the sparkline keeps the last 60)
        assert ", 1 gaps (broker down, mqtui stopped)" in text  # the restart
        shown = samples()
        await c.wait(lambda: samples() > shown, "the open chart showing the samples kept since")
