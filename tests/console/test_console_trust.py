"""The console under hostile messages and with secrets in the profile, against a real Redis.

What reaches the screen is read back from the rendered screen itself (the SVG export of every line
drawn), so these tests see what a terminal would: no escape or control character, no markup turned
into styling or links, and no password anywhere.
"""

from __future__ import annotations

import html
import re
import socket
import time
from pathlib import Path

import redis

from mqtui.demo.localbrokers import LocalRedis
from mqtui.ui.app import MqtuiApp
from tests.console.conftest import profile_file
from tests.console.pilot import Console, console
from tests.trust.corpus import all_payloads, deeply_nested_json, huge_value, many_headers
from tests.trust.proxy import FaultyProxy

CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def screen_text(app: MqtuiApp) -> str:
    """Every character the console has drawn, as a terminal would show it."""
    svg = app.export_screenshot()
    spans = re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.S)
    return "\n".join(html.unescape(re.sub(r"<[^>]+>", "", span)) for span in spans).replace("\xa0", " ")


def assert_clean(c: Console) -> str:
    text = screen_text(c.app)
    found = CONTROL.search(text)
    assert found is None, f"control character {found.group()!r} reached the screen"
    return text


async def test_hostile_messages_are_drawn_safely_in_every_pane(
    tmp_path: Path, redis_db: tuple[str, redis.Redis]
) -> None:
    url, client = redis_db
    payloads = all_payloads()
    names = list(payloads)
    for name in names:
        client.xadd("hostile", {"data": payloads[name], "key": payloads[name][:200], "x-evil": payloads[name]})
    client.xadd("hostile", {"data": deeply_nested_json(10_000), "key": b"nested"})
    client.xadd("hostile", {"data": huge_value(), "key": b"huge"})
    client.xadd("hostile", {"data": b"many headers", "key": b"headers", **dict(many_headers(10_000))})
    client.rpush("\x1b]0;title\x07[bold red]queue[/]", b"x")
    client.rpush("hostile:dlq", *[payloads[name] for name in names[:20]])
    total = len(names) + 3
    config = profile_file(tmp_path, [{"name": "r", "kind": "redis", "url": url}])
    async with console(config, "ops", size=(100, 30)) as c:
        await c.wait_rows("#dest-table", lambda r: len(r) == 3, "three destinations")
        text = assert_clean(c)
        assert "[bold red]queue[/]" in text  # shown as typed, not as bold text

        await c.press("t")
        await c.wait_screen("TailStartScreen")
        c.app.screen.query_one("#destination").value = "hostile"  # type: ignore[attr-defined]
        c.app.screen.query_one("#start").value = "beginning"  # type: ignore[attr-defined]
        await c.press("enter")
        pane = c.app.query_one("#tail")
        await c.wait(lambda: len(pane.messages) == total, f"{total} messages")  # type: ignore[attr-defined]
        seen_markup = False
        listing = pane.messages  # type: ignore[attr-defined]
        listing.action_first()
        for index, message in enumerate(list(listing.messages)):
            # Driven by the list's own actions rather than keys: the same code paths, without 100 ms per key
            # press. The cursor's move draws the message's preview, and so does each change of view.
            if index:
                listing.action_cursor(1)
            pane.view = ("auto", "text", "json", "hex")[index % 4]  # type: ignore[attr-defined]
            await c.settle()
            assert pane.selected() is message  # type: ignore[attr-defined]
            size = f"{len(message.value):,} bytes"
            assert size in assert_clean(c)  # this message's preview is what was checked
            if index % 3 and index < len(names) and names[index] != "rich_markup_click_quit":
                continue  # the detail of every third corpus entry, the click markup and the big ones
            c.screen.show_message(message)
            await c.wait_screen("MessageScreen")
            await c.settle()
            text = assert_clean(c)
            assert size in text
            seen_markup |= "[@click=app.quit]click[/]" in text
            c.app.screen.action_view()  # type: ignore[attr-defined]
            c.app.screen.action_view()  # type: ignore[attr-defined]
            c.app.screen.action_view()  # type: ignore[attr-defined] - hex
            await c.settle()
            assert "Body · hex" in assert_clean(c)
            await c.app.pop_screen()
            await c.settle()  # the main screen has its focus back before the next key
        assert seen_markup  # the click markup was drawn as characters, and the console is still running
        assert c.app.is_running

        await c.open_only_dlq(20, "twenty dead letters")
        assert_clean(c)
        await c.press("enter")
        await c.wait_screen("MessageScreen")
        assert_clean(c)


class PasswordRedis(LocalRedis):
    password = "s3cret-console-pass"

    def _launch(self) -> None:
        binary = self.binary()
        assert binary is not None
        self._spawn([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                     "--dir", str(self.workdir), "--requirepass", self.password])  # fmt: skip

    def _ready(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, password=self.password, socket_timeout=1).ping())
        except redis.RedisError:
            return False


async def test_passwords_never_reach_the_screen(tmp_path: Path) -> None:
    broker = PasswordRedis(tmp_path / "redis", name="locked").start()
    try:
        redis.Redis(port=broker.port, password=broker.password).rpush("orders", b"1", b"2")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            closed_port = sock.getsockname()[1]
        wrong, down = "wrong-pass-4242", "down-pass-9999"
        config = profile_file(
            tmp_path,
            [
                {"name": "ok", "kind": "redis", "url": f"redis://:{broker.password}@127.0.0.1:{broker.port}/0"},
                {"name": "bad", "kind": "redis", "url": f"redis://:{wrong}@127.0.0.1:{broker.port}/0", "timeout": 1.0},
                {"name": "down", "kind": "redis", "url": f"redis://127.0.0.1:{closed_port}/0", "password": down,
                 "timeout": 1.0},
            ],
        )  # fmt: skip
        secrets = (broker.password, wrong, down)
        async with console(config, "ops", size=(200, 50)) as c:
            await c.wait(lambda: c.text("#status").startswith("1/3 brokers up"), "one up, two refused")
            await c.wait(lambda: all(c.screen.snapshots[n].error for n in ("bad", "down")), "both errors")
            pictures = [screen_text(c.app)]
            assert "bad" in c.text("#status")
            for keys, shown in (
                (("2",), "lag-table"), (("3",), "tail-info"), (("4",), "dlq-table"),
                (("1", "enter"), "summary"), (("escape", "question_mark"), "KeysScreen"), (("escape", "n"), "PublishScreen"),
            ):  # fmt: skip
                await c.press(*keys)
                await c.wait(lambda shown=shown: type(c.app.screen).__name__ == shown or c.app.screen.query(f"#{shown}"),
                             shown)  # fmt: skip
                await c.settle()
                pictures.append(screen_text(c.app))
            errors = [c.screen.snapshots[name].error or "" for name in ("ok", "bad", "down")]
            for secret in secrets:
                for where in [*pictures, *errors, *c.notes]:
                    assert secret not in where
    finally:
        broker.stop()


async def test_a_slow_broker_is_reported_while_the_others_and_the_keys_keep_working(
    tmp_path: Path, redis_db: tuple[str, redis.Redis]
) -> None:
    url, client = redis_db
    client.rpush("fast-queue", b"1")
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    proxy = FaultyProxy(port).start()
    try:
        slow_url = f"redis://127.0.0.1:{proxy.port}/{url.rsplit('/', 1)[1]}"
        config = profile_file(
            tmp_path,
            [
                {"name": "fast", "kind": "redis", "url": url},
                {"name": "slow", "kind": "redis", "url": slow_url, "timeout": 0.5},
            ],
        )
        async with console(config, "ops") as c:
            await c.wait(lambda: c.text("#status").startswith("2/2 brokers up"), "both up")
            proxy.delay = 1.8  # every chunk now takes longer than the broker's timeout (and its 1 s allowance)
            await c.wait(lambda: c.screen.snapshots["slow"].failures > 0, "the slow broker noticed", 30)
            snapshot = c.screen.snapshots["slow"]
            assert snapshot.error is not None and snapshot.error.startswith("slow")
            assert "timeout" in snapshot.error.lower() or "no answer" in snapshot.error
            # Meanwhile the fast broker polls on and the console answers keys at once.
            polls = c.app.backend.poll_count("fast")  # type: ignore[attr-defined]
            await c.wait(lambda: c.app.backend.poll_count("fast") > polls + 3, "fast keeps polling")  # type: ignore[attr-defined]
            started = time.monotonic()
            await c.press("2", "1")
            assert time.monotonic() - started < 2.0  # generous: two key presses on a loaded machine
            proxy.delay = 0.0
            await c.press("ctrl+r")
            await c.wait(lambda: c.screen.snapshots["slow"].failures == 0, "the slow broker back", 30)
    finally:
        proxy.stop()
