"""Messages to a JSON Lines file from the console: one question for the path, then a thread writes it.

The Tail pane's buffer and the search dialog's matches are exported the same way and in the same
shape as `tail --json`, so one place asks, refuses an empty name aloud and reports what was written.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from textual.widget import Widget

from mqtui.model import Message
from mqtui.services.tailer import export_jsonl
from mqtui.ui.cells import error_text
from mqtui.ui.screens.common import PromptScreen


def default_path(prefix: str, name: str) -> str:
    """A file in the current directory named for what is exported and when; unsafe characters become _."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:60]
    return str(Path.cwd() / f"{prefix}{safe}-{datetime.now():%Y%m%d-%H%M%S}.jsonl")


async def ask_and_export(
    widget: Widget, messages: list[Message], *, title: str, default: str, hint: str, noun: str
) -> None:
    """Ask where to (from a worker: it waits for the prompt), then write `messages` off the UI thread."""
    answer = await widget.app.push_screen_wait(PromptScreen(title, value=default, hint=hint))
    if answer is None:
        return
    path = answer.strip()
    if not path:  # enter on an emptied field: say so rather than close in silence
        widget.notify("nothing exported: no file name given", severity="warning")
        return
    try:
        written = await asyncio.to_thread(export_jsonl, messages, path)
    except OSError as exc:
        widget.notify(error_text(exc), severity="error")
        return
    widget.notify(f"exported {written:,} {noun} to {path}")
