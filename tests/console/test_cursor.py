"""The Destinations and Lag cursors follow their row (by key) when polls reorder the rows, against a real Redis."""

from __future__ import annotations

from pathlib import Path

import redis

from tests.console.conftest import profile_file
from tests.console.pilot import Console, console


def cursor(c: Console, selector: str) -> tuple[str, int, bool]:
    """(name of the row under the cursor, its index, whether it is on screen)."""
    table = c.app.query_one(selector)
    row = table.cursor_row  # type: ignore[attr-defined]
    top = int(table.scroll_y)  # type: ignore[attr-defined]
    visible = top <= row < top + table.scrollable_content_region.height - 1  # type: ignore[attr-defined]
    selected = table.selected()  # type: ignore[attr-defined]
    name = selected.name if hasattr(selected, "name") else selected.destination
    return name, row, visible


async def test_cursor_stays_on_its_row_when_rows_reorder(tmp_path: Path, redis_db: tuple[str, redis.Redis]) -> None:
    url, client = redis_db
    for i in range(30):  # q00 holds 1 message ... q29 holds 30: sorted by depth, q29 is first
        client.rpush(f"q{i:02d}", *range(i + 1))
    config = profile_file(tmp_path, [{"name": "r", "kind": "redis", "url": url}])
    async with console(config, "ops", size=(100, 24)) as c:
        rows = await c.wait_rows("#dest-table", lambda r: len(r) == 30, "thirty lists")
        assert [row[1] for row in rows[:2]] == ["q29", "q28"]
        c.app.query_one("#dest-table").move_cursor(row=25)  # type: ignore[attr-defined]
        await c.pilot.pause()
        assert cursor(c, "#dest-table") == ("q04", 25, True)

        client.rpush("q04", *range(100))  # q04 becomes the deepest: first row, far above the screen
        await c.wait_rows("#dest-table", lambda r: r[0][1] == "q04", "q04 first")
        await c.pilot.pause()
        assert cursor(c, "#dest-table") == ("q04", 0, True)

        c.app.query_one("#dest-table").move_cursor(row=10)  # type: ignore[attr-defined]
        await c.pilot.pause()
        assert cursor(c, "#dest-table") == ("q20", 10, True)
        client.delete("q20")  # the row goes: the cursor stays at its height, on the row that followed it
        await c.wait_rows("#dest-table", lambda r: len(r) == 29, "q20 gone")
        await c.pilot.pause()
        assert cursor(c, "#dest-table") == ("q19", 10, True)

        await c.press("2")  # the lag pane ranks list backlogs by size: the same follows there
        await c.wait_rows("#lag-table", lambda r: len(r) == 29, "29 backlogs")
        table = c.app.query_one("#lag-table")
        table.move_cursor(row=[row[2] for row in c.rows("#lag-table")].index("q10"))  # type: ignore[attr-defined]
        await c.pilot.pause()
        client.rpush("q10", *range(200))
        await c.wait_rows("#lag-table", lambda r: r[0][2] == "q10", "q10 first")
        await c.pilot.pause()
        assert cursor(c, "#lag-table") == ("q10", 0, True)
