"""Tab in the tail and publish dialogs completes destination names from a real Redis, shell style."""

from __future__ import annotations

from pathlib import Path

import redis

from mqtui.ui.widgets.completion import common_prefix, matches
from tests.console.conftest import profile_file
from tests.console.pilot import Console, console


def test_matches_and_common_prefix() -> None:
    names = ["Orders", "orders", "orders:dlq", "orders:eu", "payments"]
    assert matches(names, "ord") == ["orders", "orders:dlq", "orders:eu"]
    assert matches(names, "ORD") == ["Orders", "orders", "orders:dlq", "orders:eu"]  # no exact: ignore case
    assert common_prefix(["orders:dlq", "orders:eu"]) == "orders:"
    assert common_prefix(["Orders", "orders:eu"]) == "Orders"
    assert common_prefix([]) == ""


def field(c: Console) -> str:
    return c.app.screen.query_one("#destination").value  # type: ignore[attr-defined]


def focused(c: Console) -> str | None:
    return c.app.screen.focused.id if c.app.screen.focused else None


async def test_tab_completes_then_cycles_and_moves_on_only_when_complete(
    tmp_path: Path, redis_db: tuple[str, redis.Redis]
) -> None:
    url, client = redis_db
    for name in ("orders", "orders:dlq", "orders:eu", "payments"):
        client.rpush(name, b"x")
    config = profile_file(tmp_path, [{"name": "r", "kind": "redis", "url": url}])
    async with console(config, "ops") as c:
        await c.wait_rows("#dest-table", lambda r: len(r) == 4, "four lists")
        await c.press("3", "t")
        await c.wait_screen("TailStartScreen")
        assert focused(c) == "destination"
        assert not c.app.screen.query_one("#error").display  # no empty error bar
        await c.press("enter")
        assert c.app.screen.query_one("#error").display
        assert c.text("#error") == "choose a broker and a destination"

        await c.type("or")
        await c.press("tab")  # the longest common prefix first
        assert (field(c), focused(c)) == ("orders", "destination")
        assert c.text("#candidates") == "3 matches: orders · orders:dlq · orders:eu  (tab: cycle)"
        await c.press("tab")  # then each match in turn, after the one already typed
        assert (field(c), focused(c)) == ("orders:dlq", "destination")
        assert c.text("#candidates") == "3 matches: orders · orders:dlq · orders:eu  (tab: next)"
        await c.press("tab", "tab")
        assert (field(c), focused(c)) == ("orders", "destination")  # round again: every match shown once
        await c.press("tab")  # then Tab moves on rather than trap the focus
        assert (field(c), focused(c)) == ("orders", "start")
        await c.press("shift+tab")
        await c.press("tab")  # a whole name (typed, or filled in by the form) is not turned into a longer one
        assert (field(c), focused(c)) == ("orders", "start")
        await c.press("shift+tab")

        await c.press("ctrl+u")  # clear the field (as in a shell), then a unique prefix
        await c.type("pay")
        await c.press("tab")
        assert (field(c), focused(c)) == ("payments", "destination")
        await c.press("tab")  # complete: only now does Tab move on
        assert focused(c) == "start"

        await c.press("shift+tab")
        await c.press("ctrl+u", "tab")  # empty: Tab moves on at once
        assert focused(c) == "start"
        await c.press("shift+tab")
        await c.type("nosuch")
        await c.press("tab")
        assert focused(c) == "start"
        assert c.text("#candidates") == "no known name starts with 'nosuch'"

        await c.press("shift+tab", "ctrl+u")
        await c.type("orders:e")
        await c.press("tab", "enter")  # the completed name is what gets tailed
        pane = c.app.query_one("#tail")
        await c.wait(lambda: pane.stream is not None, "the tail")  # type: ignore[attr-defined]
        assert pane.stream.destination == "orders:eu"  # type: ignore[attr-defined]
        await c.pilot.pause()
        assert c.screen.current_pane is pane  # shown, even though the dialog was still closing when it started

        await c.press("n")  # the publish form completes the same way
        await c.wait_screen("PublishScreen")
        c.app.screen.query_one("#destination").value = ""  # type: ignore[attr-defined]
        c.app.screen.query_one("#destination").focus()
        await c.type("orders:")
        await c.press("tab")
        assert field(c) == "orders:dlq" and focused(c) == "destination"
