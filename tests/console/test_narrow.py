"""The console at 100x30, as an on-call engineer's split terminal shows it: what must still be seen."""

from __future__ import annotations

import re
from pathlib import Path

import redis
from textual.widgets import DataTable

from mqtui.demo.localbrokers import free_port
from mqtui.ui.app import MqtuiApp
from tests.console.conftest import profile_file
from tests.console.fixtures import static_backend
from tests.console.pilot import console
from tests.console.test_snapshots import settle
from tests.trust.screen import screen_text

NARROW = (100, 30)


async def test_a_broker_down_counts_down_in_the_status_bar_and_the_tree(
    tmp_path: Path, redis_db: tuple[str, redis.Redis]
) -> None:
    url, _client = redis_db
    dead = "dead-cache-eu-west-1-primary"
    brokers = [
        {"name": "r", "kind": "redis", "url": url, "timeout": 2.0},
        {"name": dead, "kind": "redis", "url": f"redis://127.0.0.1:{free_port()}/0", "timeout": 1.0},
    ]
    async with console(profile_file(tmp_path, brokers), "ops", size=NARROW) as c:
        countdown = re.compile(re.escape(dead) + r": down, retry \d+s, cannot reach redis://")
        status = await c.wait(lambda: countdown.search(s := c.text("#status")) and s, "the countdown")
        assert status.startswith(f"1/2 brokers up · {dead}: down, retry ")
        assert not c.app.query_one("#sidebar").display  # below 150 columns the tree is hidden...
        assert countdown.search(screen_text(c.app))  # ...and the status bar shows it whole

        await c.press("b")
        tree = c.app.query_one("#tree")
        node = next(n for n in tree.root.children if n.data.broker == dead)  # type: ignore[attr-defined]
        # Badge and state first, then as much of the name as the 26 columns leave.
        await c.wait(lambda: re.fullmatch(r"✖ down, retry \d+s dead-\S*…", str(node.label)), "a narrowed label")
        await c.wait(lambda: re.search(r"✖\ndown, retry \d+s\n dead-\S*…", screen_text(c.app)), "it drawn")


async def test_every_column_of_the_lag_table_and_the_key_list_fits_100_columns() -> None:
    app = MqtuiApp(static_backend())
    app.animation_level = "none"
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        for pane, selector in (("1", "#dest-table"), ("4", "#dlq-table"), ("2", "#lag-table")):
            await pilot.press(pane)
            await settle(pilot)
            table = app.screen.query_one(selector, DataTable)
            for _ in range(200):  # a loaded machine can take more than one pause to lay out the shown pane
                if table.scrollable_content_region.width:
                    break
                await pilot.pause(0.02)
            assert table.virtual_size.width <= table.scrollable_content_region.width, selector  # no sideways scroll
        drawn = screen_text(app)
        for header in ("ETA / state", "Rate", "Out/s", "Pts", "Cons"):
            assert header in drawn
        lag = app.screen.query_one("#lag-table", DataTable)
        names = [str(lag.get_row_at(i)[2]) for i in range(lag.row_count)]
        assert any(name.endswith("…") for name in names)  # the hostile long name gave way, not the numbers

        await pilot.press("question_mark")
        await settle(pilot)
        keys = app.screen.query_one(DataTable)
        assert keys.virtual_size.width <= keys.scrollable_content_region.width
        assert "destinations.details" in screen_text(app)  # the longest binding id, whole
