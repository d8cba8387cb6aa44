"""A live tail for the console: batches in on the backend's loop, taken by the UI when it redraws.

The adapter hands over batches; the tail only appends them to a bounded queue, so a fast destination
costs the UI one lock and one list per redraw instead of one message per event. When the UI falls
behind, the oldest pending messages are dropped and counted rather than piling up in memory. Pausing
stops pulling from the adapter (which never reads more than one batch ahead), so nothing is consumed
from anyone and nothing accumulates while paused.
"""

from __future__ import annotations

import asyncio
import enum
import shlex
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mqtui import jsonl
from mqtui.config import BrokerConfig
from mqtui.model import HeaderValue, Message, StartPosition
from mqtui.services.poller import error_line
from mqtui.services.session import connected


class TailState(enum.StrEnum):
    CONNECTING = "connecting"
    RUNNING = "running"
    PAUSED = "paused"
    ENDED = "ended"
    FAILED = "failed"
    STOPPED = "stopped"


class TailStream:
    """One tail of one destination; `run()` on the backend loop, everything else from any thread."""

    def __init__(
        self,
        config: BrokerConfig,
        destination: str,
        start: StartPosition,
        *,
        capacity: int = 50_000,
        stop_at_end: bool = False,
    ) -> None:
        self.config = config
        self.broker = config.name
        self.destination = destination
        self.start = start
        self.stop_at_end = stop_at_end
        self.capacity = capacity
        self.received = 0
        self.dropped = 0
        """Messages the UI never took because it fell more than `capacity` behind."""
        self.error: str | None = None
        self._state = TailState.CONNECTING
        self._paused = False
        self._pending: deque[Message] = deque()
        self._lock = threading.Lock()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def fixed(
        cls, config: BrokerConfig, destination: str, messages: Iterable[Message], *, ended: bool = False
    ) -> TailStream:
        """A tail that already holds `messages` and reads nothing more (a peek's result, fixed data)."""
        stream = cls(config, destination, StartPosition("beginning"))
        stream._ingest(messages)
        stream._state = TailState.ENDED if ended else TailState.RUNNING
        return stream

    @property
    def state(self) -> TailState:
        if self._paused and self._state in (TailState.RUNNING, TailState.CONNECTING):
            return TailState.PAUSED
        return self._state

    @property
    def active(self) -> bool:
        return self._state in (TailState.CONNECTING, TailState.RUNNING)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        try:
            async with connected(self.config) as adapter:
                self._state = TailState.RUNNING
                stream = adapter.tail(self.destination, start=self.start, stop_at_end=self.stop_at_end)
                try:
                    async for batch in stream:
                        while self._paused:  # a batch that was on its way waits too
                            await asyncio.sleep(0.05)
                        self._ingest(batch)
                finally:
                    await stream.aclose()  # type: ignore[attr-defined]
            self._state = TailState.ENDED
        except asyncio.CancelledError:
            self._state = TailState.STOPPED
            raise
        except Exception as exc:
            self.error = error_line(self.broker, exc)
            self._state = TailState.FAILED

    def _ingest(self, batch: Iterable[Message]) -> None:
        with self._lock:
            before = len(self._pending)
            self._pending.extend(batch)
            added = len(self._pending) - before
            self.received += added
            overflow = len(self._pending) - self.capacity
            if overflow > 0:
                for _ in range(overflow):
                    self._pending.popleft()
                self.dropped += overflow

    def take(self) -> list[Message]:
        """Every message received since the last call, oldest first."""
        with self._lock:
            if not self._pending:
                return []
            taken = list(self._pending)
            self._pending.clear()
            return taken

    def pause(self) -> None:
        self._paused = True

    def resume(self) -> None:
        self._paused = False

    def stop(self) -> None:
        """Cancel the tail; its adapter is closed on the backend loop. Safe from any thread, twice."""
        task, loop = self._task, self._loop
        if task is None or loop is None or task.done():
            if self._state in (TailState.CONNECTING, TailState.RUNNING):
                self._state = TailState.STOPPED
            return
        loop.call_soon_threadsafe(task.cancel)


@dataclass(frozen=True, slots=True)
class MessageFilter:
    """What the tail pane's `/` filter keeps: every term must match.

    Plain words match the value, `key:WORD` the key, `header:NAME` a header that exists and
    `header:NAME=WORD` a header value; matching is on raw bytes, ASCII case-insensitive, so binary
    payloads can be filtered without decoding them.
    """

    text: tuple[bytes, ...] = ()
    key: tuple[bytes, ...] = ()
    headers: tuple[tuple[str, bytes | None], ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.text or self.key or self.headers)

    @classmethod
    def parse(cls, expression: str) -> MessageFilter:
        try:
            terms = shlex.split(expression)
        except ValueError:
            terms = expression.split()
        text: list[bytes] = []
        key: list[bytes] = []
        headers: list[tuple[str, bytes | None]] = []
        for term in terms:
            field, sep, rest = term.partition(":")
            if sep and field.lower() in ("key", "k") and rest:
                key.append(rest.encode().lower())
            elif sep and field.lower() in ("header", "h") and rest:
                name, eq, value = rest.partition("=")
                headers.append((name.lower(), value.encode().lower() if eq else None))
            else:
                text.append(term.encode().lower())
        return cls(tuple(text), tuple(key), tuple(headers))

    def matches(self, message: Message) -> bool:
        if self.text:
            value = message.value.lower()
            if not all(needle in value for needle in self.text):
                return False
        if self.key:
            key = (message.key or b"").lower()
            if not all(needle in key for needle in self.key):
                return False
        for name, wanted in self.headers:
            values = [_header_bytes(v).lower() for k, v in message.headers if k.lower() == name]
            if not values:
                return False
            if wanted is not None and not any(wanted in v for v in values):
                return False
        return True


def _header_bytes(value: HeaderValue) -> bytes:
    if isinstance(value, bytes):
        return value
    if value is None:
        return b""
    return str(value).encode("utf-8", errors="replace")


def export_jsonl(messages: Iterable[Message], path: str | Path) -> int:
    """Write messages in the shape of `tail --json`; returns how many were written."""
    target = Path(path).expanduser()
    written = 0
    with target.open("wb") as out:
        for message in messages:
            out.write(jsonl.dumps(jsonl.message_record(message)))
            written += 1
    return written
