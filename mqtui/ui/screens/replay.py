"""Replay / requeue dead letters: preview (how many, to where), confirm, progress, summary."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, Collection
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, DataTable, Label, ProgressBar

from mqtui.model import ProgressCallback, ReplayItem, ReplayResult
from mqtui.safetext import safe_line
from mqtui.secrets import scrub
from mqtui.ui.cells import error_text, plain
from mqtui.ui.keys import Command, bindings
from mqtui.ui.screens.common import Dialog

PREVIEW_ROWS = 500

Plan = Callable[[Collection[str] | None], Awaitable[list[ReplayItem]]]
"""Plans the replay of these dead letters (None: all of the DLQ) without sending anything."""
Replay = Callable[[list[str], ProgressCallback], Awaitable[ReplayResult]]
"""Replays exactly these dead letters, reporting progress."""


def preview_line(plan: list[ReplayItem], verb: str) -> str:
    sendable = [item for item in plan if item.skip_reason is None]
    targets: dict[str, int] = {}
    for item in sendable:
        targets[item.target] = targets.get(item.target, 0) + 1
    where = ", ".join(f"{n:,} to {safe_line(target, 80)}" for target, n in sorted(targets.items()))
    line = f"{verb} {len(sendable):,} of {len(plan):,} dead letter(s)"
    if where:
        line += f": {where}"
    skipped = len(plan) - len(sendable)
    if skipped:
        line += f"; {skipped:,} skipped"
    return line


def summary_line(result: ReplayResult) -> str:
    line = f"sent {result.sent:,}, failed {result.failed:,}, skipped {result.skipped:,}"
    if result.duplicates:
        line += f", possible duplicates {result.duplicates:,}"
    return line


class ReplayScreen(Dialog[ReplayResult | None]):
    """Closes with the ReplayResult after a replay, or None when cancelled before; `plan` makes the
    preview and `replay` sends what it shows."""

    DEFAULT_CSS = """
    ReplayScreen > #box { height: 90%; }
    ReplayScreen #plan { height: 1fr; }
    ReplayScreen ProgressBar { width: 100%; }
    ReplayScreen #summary { text-style: bold; }
    """
    KEYS_TITLE = "Replay preview"
    KEY_COMMANDS: ClassVar[list[Command]] = [
        Command("replay.cancel", "escape,n", "close", "Cancel", "Close the preview (nothing is sent until confirmed)"),
        Command("replay.confirm", "y", "confirm", "Confirm", "Replay / requeue what the preview shows"),
    ]
    BINDINGS: ClassVar[list[BindingType]] = bindings(KEY_COMMANDS)

    class Progress(Message):
        def __init__(self, done: int, total: int) -> None:
            super().__init__()
            self.done = done
            self.total = total

    def __init__(
        self, broker: str, dlq: str, ids: Collection[str] | None, *, verb: str, plan: Plan, replay: Replay
    ) -> None:
        scope = "all dead letters" if ids is None else f"{len(ids):,} selected"
        super().__init__(
            Text.assemble(verb.capitalize(), " ", scope, " from ", plain(broker, 40), " / ", plain(dlq, 80))
        )
        self.broker = broker
        self.dlq = dlq
        self.ids = None if ids is None else list(ids)
        self.verb = verb
        self.make_plan = plan
        self.send = replay
        self.plan: list[ReplayItem] | None = None
        self.running = False
        self.result: ReplayResult | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield Label(self.dialog_title, id="title")
            yield Label("planning…", id="preview")
            plan: DataTable[Text] = DataTable(cursor_type="row", zebra_stripes=True, id="plan")
            plan.add_columns("id", "target", "skipped because")
            yield plan
            yield ProgressBar(total=None, show_eta=False, id="progress")
            yield Label(id="summary")
            with Horizontal(classes="buttons"):
                yield Button(f"Cancel ({self.key('replay.cancel')})", id="cancel", compact=True)
                yield Button(
                    f"{self.verb.capitalize()} ({self.key('replay.confirm')})",
                    id="confirm",
                    variant="error",
                    disabled=True,
                    compact=True,
                )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer offers confirm only while it can do something: greyed while planning, gone once sent."""
        if action != "confirm":
            return True
        if self.running or self.result is not None:
            return False
        return True if self.plan is not None and any(i.skip_reason is None for i in self.plan) else None

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()
        self.run_worker(self._plan(), exclusive=True, exit_on_error=False, group="plan")

    async def _plan(self) -> None:
        preview = self.query_one("#preview", Label)
        try:
            plan = await self.make_plan(self.ids)
        except Exception as exc:
            preview.update(Text(error_text(exc)))
            preview.add_class("error")
            return
        self.plan = plan
        preview.update(Text(preview_line(plan, self.verb)))
        table = self.query_one("#plan", DataTable)
        for item in plan[:PREVIEW_ROWS]:
            table.add_row(plain(item.id, 60), plain(item.target, 80), plain(item.skip_reason or "", 80))
        if len(plan) > PREVIEW_ROWS:
            table.add_row(Text("…"), Text(f"{len(plan) - PREVIEW_ROWS:,} more"), Text(""))
        sendable = any(item.skip_reason is None for item in plan)
        self.query_one("#confirm", Button).disabled = not sendable
        if sendable:
            self.query_one("#progress", ProgressBar).update(total=sum(1 for i in plan if i.skip_reason is None))
        self.refresh_bindings()

    @on(Button.Pressed, "#confirm")
    def action_confirm(self) -> None:
        if self.plan is None or self.running or self.result is not None:
            return
        if not any(item.skip_reason is None for item in self.plan):
            return
        self.running = True
        # Exactly what the preview showed: dead letters that arrived since are left for the next replay.
        ids = self.ids = [item.id for item in self.plan if item.skip_reason is None]
        confirm = self.query_one("#confirm", Button)
        confirm.disabled = True
        confirm.display = False  # sent once: a second press would replay what the preview no longer shows
        self.query_one("#cancel", Button).label = f"Close ({self.key('replay.cancel')})"
        self.refresh_bindings()
        self.run_worker(self._replay(ids), exclusive=True, exit_on_error=False, group="replay")

    def _progress_callback(self) -> ProgressCallback:
        """A cheap, thread-safe callback: at most ~20 progress messages a second, and always the last."""
        lock = threading.Lock()
        last = [0.0]
        loop = asyncio.get_running_loop()  # called from the backend's threads: go to this loop directly

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            with lock:
                if done < total and now - last[0] < 0.05:
                    return
                last[0] = now
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self.post_message, self.Progress(done, total))

        return progress

    def on_replay_screen_progress(self, event: Progress) -> None:
        self.query_one("#progress", ProgressBar).update(total=event.total, progress=event.done)

    async def _replay(self, ids: list[str]) -> None:
        summary = self.query_one("#summary", Label)
        summary.update(f"{self.verb}ing…")
        try:
            result = await self.send(ids, self._progress_callback())
        except Exception as exc:
            self.running = False
            summary.update(Text(error_text(exc)))
            summary.add_class("error")
            self.result = ReplayResult(failed=0, errors=(error_text(exc),))
            return
        self.running = False
        self.result = result
        bar = self.query_one("#progress", ProgressBar)
        bar.update(total=max(result.sent + result.failed, 1), progress=result.sent + result.failed)
        text = Text(summary_line(result))
        for error in result.errors[:5]:
            text.append("\n")
            text.append(plain(scrub(error), 200))
        summary.update(text)
        summary.set_class(bool(result.failed), "error")

    @on(Button.Pressed, "#cancel")
    def action_close(self) -> None:
        if self.running:
            self.notify(f"{self.verb} in progress: wait for it to finish", severity="warning")
            return
        self.dismiss(self.result)
