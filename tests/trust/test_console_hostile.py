"""The console under hostile messages from a real RabbitMQ, down to the styles it draws with.

tests/console/test_console_trust.py shows the corpus in every pane from Redis. This adds what only
a broker with per-message metadata can carry: forged dead-letter metadata (origin queue, reason,
exchange, header names) full of escapes and markup, shown in the dead-letter pane, the entry's
detail and the replay preview dialog; a queue whose very name is hostile; and the tail's JSON Lines
export. Besides the characters drawn, every drawn cell's style is checked for click actions: markup
such as `[@click=app.quit]` interpreted anywhere would leave one behind.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pika
from textual.app import App, ComposeResult
from textual.widgets import Static

from mqtui import jsonl
from mqtui.demo.localbrokers import LocalRabbitMQ
from mqtui.model import StartPosition
from tests.console.pilot import Console, console
from tests.helpers import write_config
from tests.trust.corpus import BEL, ESC, deeply_nested_json, huge_value
from tests.trust.screen import screen_text
from tests.trust.support import PAYLOADS, UNSAFE

FORGED = f"{ESC}]0;pwned{BEL}{ESC}[2J[bold red]x[/][@click=app.quit]q[/]\u202e"
HOSTILE_QUEUE = f"{ESC}]0;t{BEL}[bold]queue[/]-"
CONTROL_ON_SCREEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def click_actions(app: App) -> set[str]:  # type: ignore[type-arg]
    """Every click action attached to a drawn cell (what interpreted `[@click=...]` markup leaves)."""
    screen = app.screen
    actions = set()
    for y in range(screen.size.height):
        for x in range(screen.size.width):
            meta = screen.get_style_at(x, y).meta
            if "@click" in meta:
                actions.add(str(meta["@click"]))
    return actions


def assert_clean(c: Console) -> str:
    text = screen_text(c.app)
    found = CONTROL_ON_SCREEN.search(text)
    assert found is None, f"control character {found.group()!r} reached the screen"
    assert not {a for a in click_actions(c.app) if "quit" in a or "purge" in a}, click_actions(c.app)
    return text


class _Interpreted(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("[@click=app.quit]click me[/]")


async def test_the_click_detector_sees_interpreted_markup() -> None:
    """The check above is not vacuous: markup that is interpreted does leave its action behind."""
    async with _Interpreted().run_test() as pilot:
        await pilot.pause()
        assert any("quit" in action for action in click_actions(pilot.app))


async def test_forged_dead_letters_hostile_queue_and_tail_export(
    tmp_path: Path, rabbitmq_server: LocalRabbitMQ
) -> None:
    tag = uuid.uuid4().hex[:8]
    queue, dlq, hostile = f"h{tag}", f"h{tag}.dlq", f"{HOSTILE_QUEUE}{tag}"
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_server.url))
    channel = connection.channel()
    channel.confirm_delivery()
    channel.queue_declare(
        queue, durable=True, arguments={"x-queue-type": "stream"}
    )  # a tail can start at its beginning
    for name in (dlq, hostile):
        channel.queue_declare(name, durable=True)
    sent = [*PAYLOADS.values(), huge_value(), deeply_nested_json(10_000)]
    for payload in sent:
        channel.basic_publish("", queue, payload, pika.BasicProperties(headers={FORGED: payload[:200]}))
    now = datetime.now(UTC).replace(microsecond=0)
    death = {"count": 2, "reason": f"rejected{FORGED}", "queue": f"{queue}{FORGED}", "time": now,
             "exchange": FORGED, "routing-keys": [FORGED]}  # fmt: skip
    headers = {"x-death": [death], "x-first-death-queue": f"{queue}{FORGED}", "x-first-death-reason": FORGED,
               FORGED: FORGED}  # fmt: skip
    letters = list(PAYLOADS.values())[:20]
    for payload in letters:
        channel.basic_publish("", dlq, payload, pika.BasicProperties(delivery_mode=2, headers=headers,
                                                                     message_id=FORGED, type=FORGED))  # fmt: skip
    channel.basic_publish("", hostile, b"x", pika.BasicProperties(delivery_mode=2))
    entry = {**rabbitmq_server.broker_config(), "name": "rb", "timeout": 10.0}
    config = write_config(tmp_path / "c.toml", {"ops": {"poll_interval": 0.5, "brokers": [entry]}})
    export = tmp_path / "tail.jsonl"
    try:
        async with console(config, "ops", size=(160, 40)) as c:
            await c.wait_rows("#dest-table", lambda r: len(r) >= 3, "the three queues")
            assert "␛]0;t␇[bold]queue[/]-" in assert_clean(c)  # the name as typed, not a title change

            c.screen.start_tail("rb", queue, StartPosition.parse("beginning"))
            pane = c.app.query_one("#tail")
            await c.wait(lambda: len(pane.messages) == len(sent), f"{len(sent)} tailed messages", 60)  # type: ignore[attr-defined]
            listing = pane.messages  # type: ignore[attr-defined]
            listing.action_first()
            for index, message in enumerate(list(listing.messages)):
                if index:
                    listing.action_cursor(1)
                # a view other than the last one: the pane draws the preview of the message under the cursor
                pane.view = ("auto", "text", "json", "hex")[index % 4]  # type: ignore[attr-defined]
                await c.pilot.pause()
                assert pane.selected() is message  # type: ignore[attr-defined]
                assert_clean(c)
                if index % 5 == 0 or index >= len(sent) - 2:
                    c.screen.show_message(message)
                    await c.wait_screen("MessageScreen")
                    await c.pilot.pause()
                    for _view in range(4):
                        c.app.screen.action_view()  # type: ignore[attr-defined]
                        await c.pilot.pause()
                        assert_clean(c)
                    c.app.pop_screen()
            await c.press("3", "e")
            await c.wait_screen("PromptScreen")
            c.app.screen.query_one("#prompt").value = str(export)  # type: ignore[attr-defined]
            await c.press("enter")
            await c.wait_note(f"exported {len(sent)} messages")

            await c.press("4")
            await c.pick("#dlq-table", 1, dlq, "the DLQ")
            await c.press("enter")
            rows = await c.wait_rows("#entries-table", lambda r: len(r) == len(letters), "the forged dead letters")
            text = assert_clean(c)
            assert any("␛]0;pwned␇" in cell for row in rows for cell in row)  # origin and reason, made visible
            assert "rejected␛]0;pwned␇␛[2J[bold red]x[/][@c" in text  # markup as typed, cut by the column
            await c.press("enter")
            await c.wait_screen("MessageScreen")
            assert FORGED.replace(ESC, "␛").replace(BEL, "␇").replace("\u202e", "<U+202E>") in assert_clean(c)
            await c.press("escape")
            await c.press("a", "r")
            await c.wait_screen("ReplayScreen")
            await c.wait(lambda: "planning" not in str(c.app.screen.query_one("#preview").content), "the plan")  # type: ignore[attr-defined]
            assert "␛]0;pwned␇" in assert_clean(c)  # the forged target, shown safely before anything is sent
            await c.press("escape")
            assert c.app.is_running
    finally:
        for name in (queue, dlq, hostile):
            channel.queue_delete(name)
        connection.close()

    lines = export.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(sent)
    for line, payload in zip(lines, sent, strict=True):
        assert not UNSAFE.search(line)
        assert jsonl.message_from_record(json.loads(line)).value == payload  # every byte, even 10 MB
