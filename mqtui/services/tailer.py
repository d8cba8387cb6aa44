"""A live tail for the console: batches in on the backend's loop, taken by the UI when it redraws.

The adapter hands over batches; the tail only appends them to a bounded queue, so a fast destination
costs the UI one lock and one list per redraw instead of one message per event. When the UI falls
behind, the oldest pending messages are dropped and counted rather than piling up in memory. Pausing
stops pulling from the adapter (which never reads more than one batch ahead), so nothing is consumed
from anyone and nothing accumulates while paused.

A tail whose broker fails reconnects by itself after a growing pause (1 s, 2 s, 4 s ... 30 s) with a
fresh adapter, and continues just after the last message it showed where the destination has
positions to return to (mqtui.services.resume), from the end otherwise; the status says which.
Errors that are the operator's (no such destination, a start the broker cannot do) end the tail at
once, unless it had already shown messages: then the destination may only be gone while its broker
restarts, and the tail keeps trying.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import orjson

from mqtui import jsonl
from mqtui.brokers import ADAPTERS, AdapterRegistry
from mqtui.config import BrokerConfig
from mqtui.errors import BrokerUnavailable, MqtuiError
from mqtui.model import HeaderValue, Message, Position, StartPosition
from mqtui.services.decoding import Decoder
from mqtui.services.decoding.decoder import TAIL_WAIT
from mqtui.services.poller import backoff_delay, error_line, wait_for_event
from mqtui.services.resume import ResumeMode, resume_start
from mqtui.services.search.words import parse_words
from mqtui.services.session import connected


class TailState(enum.StrEnum):
    CONNECTING = "connecting"
    RUNNING = "running"
    RECONNECTING = "reconnecting"
    PAUSED = "paused"
    ENDED = "ended"
    FAILED = "failed"
    STOPPED = "stopped"


class TailStream:
    """One tail of one destination; `run()` on the backend loop, everything else from any thread."""

    RETRY_INTERVAL = 1.0
    """The first pause before reconnecting; it doubles with each failure, up to MAX_BACKOFF."""

    def __init__(
        self,
        config: BrokerConfig,
        destination: str,
        start: StartPosition,
        *,
        capacity: int = 50_000,
        stop_at_end: bool = False,
        resume_mode: ResumeMode = ResumeMode.NONE,
        adapters: AdapterRegistry = ADAPTERS,
        decoder: Decoder | None = None,
    ) -> None:
        self.config = config
        self.decoder = decoder
        """Decodes each batch on the backend loop before the UI takes it (the filter and the rows use it)."""
        self.adapters = adapters
        self.broker = config.name
        self.destination = destination
        self.start = start
        self.stop_at_end = stop_at_end
        self.capacity = capacity
        self.resume_mode = resume_mode
        self.received = 0
        self.dropped = 0
        """Messages the UI never took because it fell more than `capacity` behind."""
        self.error: str | None = None
        self.reconnects = 0
        """Times the tail came back after its broker failed."""
        self.resumed_from = ""
        """Where the last reconnect continued ("after the last message shown", "from the end ...")."""
        self.retry_at: float | None = None
        """When (time.monotonic) the next reconnect is tried, while reconnecting."""
        self._state = TailState.CONNECTING
        self._paused = False
        self._pending: deque[Message] = deque()
        self._last: dict[int | None, Position] = {}
        self._lock = threading.Lock()
        self.task: asyncio.Task[None] | None = None
        """The task running `run()`, once it runs."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._follower: asyncio.Future[None] | None = None
        self._lost: str | None = None

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
        return self._state in (TailState.CONNECTING, TailState.RUNNING, TailState.RECONNECTING)

    def retry_in(self) -> float | None:
        """Seconds until the next reconnect while reconnecting, else None."""
        if self._state is not TailState.RECONNECTING or self.retry_at is None:
            return None
        return max(0.0, self.retry_at - time.monotonic())

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.task = asyncio.current_task()
        self._wake = asyncio.Event()
        start, failures = self.start, 0
        try:
            while True:
                received = self.received
                self._follower = asyncio.ensure_future(self._follow(start))
                try:
                    await self._follower
                    self._state = TailState.ENDED
                    return
                except asyncio.CancelledError:
                    current = asyncio.current_task()
                    if self._lost is None or (current is not None and current.cancelling()):
                        raise
                    self.error = self._lost
                except Exception as exc:
                    self.error = error_line(self.broker, exc)
                    if not (self._last or _transient(exc)):
                        self._state = TailState.FAILED
                        return
                finally:
                    self._lost = None
                failures = 1 if self.received > received else failures + 1  # messages came: the pause starts over
                with self._lock:
                    start, self.resumed_from = resume_start(self.resume_mode, self.start, self._last)
                await self._wait_to_retry(backoff_delay(failures, self.RETRY_INTERVAL))
        except asyncio.CancelledError:
            self._state = TailState.STOPPED
            raise

    async def _follow(self, start: StartPosition) -> None:
        """Connect and read until the destination ends (with `stop_at_end`); raises when the broker fails."""
        async with connected(self.config, self.adapters.create(self.config)) as adapter:
            if self._state is TailState.RECONNECTING:
                self._came_back()
            self._state = TailState.RUNNING
            stream = adapter.tail(self.destination, start=start, stop_at_end=self.stop_at_end)
            try:
                async for batch in stream:
                    while self._paused:  # a batch that was on its way waits too
                        await asyncio.sleep(0.05)
                    if self.decoder is not None and self.decoder.active:
                        await self.decoder.prepare(batch, TAIL_WAIT)
                        batch = self.decoder.decode_batch(batch)
                    self._ingest(batch)
            finally:
                await stream.aclose()  # type: ignore[attr-defined]

    def broker_lost(self, error: str) -> None:
        """The broker stopped answering polls: reconnect rather than wait on a connection gone silent.

        Some clients wait through an outage without a word (librdkafka retries forever), and a broker
        that restarts empty leaves them waiting for offsets that no longer exist. Call on the backend loop.
        """
        follower = self._follower
        if self._state is TailState.RUNNING and follower is not None and not follower.done():
            self._lost = error
            follower.cancel()

    def _came_back(self) -> None:
        self.reconnects += 1
        self.error = None
        self.retry_at = None

    async def _wait_to_retry(self, delay: float) -> None:
        assert self._wake is not None
        self._state = TailState.RECONNECTING
        self.retry_at = time.monotonic() + delay
        self._wake.clear()
        await wait_for_event(self._wake, delay)
        self.retry_at = time.monotonic()

    def retry_now(self) -> None:
        """Reconnect now instead of at the end of the pause (the console's refresh key). Any thread."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and self._state is TailState.RECONNECTING:
            with contextlib.suppress(RuntimeError):  # the loop has closed
                loop.call_soon_threadsafe(wake.set)

    def _ingest(self, batch: Iterable[Message]) -> None:
        items = batch if isinstance(batch, list | tuple) else list(batch)
        with self._lock:
            self._pending.extend(items)
            added = len(items)
            last = self._last
            for message in items:  # where a reconnect resumes: the newest position per partition
                last[message.partition] = message.position
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
        task, loop = self.task, self._loop
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
    payloads can be filtered without decoding them. A decoded payload (Avro, Protobuf, MessagePack...)
    also matches by its decoded JSON text, and `FIELD=WORD` (FIELD a dotted path such as
    `customer.id`) matches a decoded field's value; on a payload not decoded it is a plain word.

    Parsed as `search --where` parses words, but matched apart from `words.fast`: that looks in a
    message's search document (a value as text), this in its raw bytes, so that a binary payload matches
    the words its tail row shows without a document built per message.
    """

    text: tuple[bytes, ...] = ()
    key: tuple[bytes, ...] = ()
    headers: tuple[tuple[bytes, bytes | None], ...] = ()
    fields: tuple[tuple[tuple[str, ...], bytes], ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.text or self.key or self.headers or self.fields)

    @classmethod
    def parse(cls, expression: str) -> MessageFilter:
        """The terms exactly as `search --where` reads plain words (`words.parse_words`), as bytes."""
        terms = parse_words(expression)
        return cls(
            tuple((t.wanted or "").encode() for t in terms if t.kind == "value"),
            tuple((t.wanted or "").encode() for t in terms if t.kind == "key"),
            tuple(
                (t.name.encode(), None if t.wanted is None else t.wanted.encode()) for t in terms if t.kind == "header"
            ),
            tuple((t.path, (t.wanted or "").encode()) for t in terms if t.kind == "field"),
        )

    def matches(self, message: Message) -> bool:
        decoded = message.decoded if message.decoded is not None and message.decoded.ok else None
        if self.text:
            value = message.value.lower()
            if not all(needle in value for needle in self.text):
                if decoded is None:
                    return False
                tree = _tree_text(decoded.value)
                if not all(needle in value or needle in tree for needle in self.text):
                    return False
        for path, needle in self.fields:
            if decoded is None:
                if b"=".join([".".join(path).encode().lower(), needle]) not in message.value.lower():
                    return False
            elif not _field_matches(decoded.value, path, needle):
                return False
        if self.key:
            key = (message.key or b"").lower()
            if not all(needle in key for needle in self.key):
                return False
        for name, wanted in self.headers:
            values = [_header_bytes(v).lower() for k, v in message.headers if k.encode().lower() == name]
            if not values:
                return False
            if wanted is not None and not any(wanted in v for v in values):
                return False
        return True


def _tree_text(value: object) -> bytes:
    """A decoded value as lower-case compact JSON: what plain filter words are looked for in."""
    return orjson.dumps(value, default=jsonl.json_default).lower()


def _field_matches(tree: object, path: tuple[str, ...], wanted: bytes) -> bool:
    """Whether the decoded field at `path` holds `wanted` (case-insensitive, as a substring)."""
    for name in path:
        if isinstance(tree, dict) and name in tree:
            tree = tree[name]
        elif isinstance(tree, list) and name.isdigit() and int(name) < len(tree):
            tree = tree[int(name)]
        else:
            return False
    text = tree.encode() if isinstance(tree, str) else _tree_text(tree)
    return wanted in text.lower()


def _transient(exc: Exception) -> bool:
    """A failure worth reconnecting for: the broker went away or did not answer (not the operator's mistake)."""
    return isinstance(exc, BrokerUnavailable) or not isinstance(exc, MqtuiError)


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
