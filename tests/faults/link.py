"""A TCP link between mqtui and its broker that lets the fault harness meter what mqtui sends.

Stopping the replay process in slices (SIGSTOP) bounds its CPU time between two counts, not its
progress: a replay that moves a window of messages per round trip (NATS: 64) can move two windows in
one slice, and on a busy machine a 2 ms slice may last 20 ms. This link bounds progress instead.
While it is held, each chunk mqtui writes (one read of the socket, up to 64 KB) waits here until the
harness lets it through with `step()`, which lets at most one chunk pass and takes back the permit
if none came, so between two counts the broker receives at most one chunk. What the broker sends
back is never held. After the kill, `release()` lets through what was waiting, as a real network
still delivers what a process wrote just before it died, and the rerun uses the link unmetered.

Kafka needs two more things. Its client pipelines requests (the producer sends the next while the
last is unanswered) and several can come in one chunk, so a `framed` link cuts what mqtui sends into
the protocol's length-prefixed requests and passes one request per step, and `step` returns once the
broker answered it, so the count that follows sees what it stored. And the broker tells every client
where to connect (its advertised listener), so the test's own clients come through the link too: a
link given `meters` reads the first request of each connection and meters only those it says are
mqtui's. Such a link lives as long as its broker, and `hold()` meters again for the next replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tests.relay import LoopRelay

ANSWER_WAIT = 0.1
"""Seconds a framed step waits for the broker to answer the request it passed: tansu answers a produce
within milliseconds, but a fetch with nothing new waits for data (up to the consumer's fetch.wait.max.ms),
and the count goes on without it. A request whose client closed the connection is not waited for."""


class _Frames:
    """Cuts a byte stream into frames that start with their length (4 bytes, big-endian), as Kafka's
    requests and responses do."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, chunk: bytes) -> list[bytes]:
        """The frames `chunk` completes, in order; a partial one waits for the next chunk."""
        self.buffer += chunk
        frames = []
        while len(self.buffer) >= 4:
            end = 4 + int.from_bytes(self.buffer[:4], "big")
            if len(self.buffer) < end:
                break
            frames.append(bytes(self.buffer[:end]))
            del self.buffer[:end]
        return frames


@dataclass
class _Connection:
    """Requests a client sent through the link on one connection, and answers that came back."""

    sent: int = 0
    answered: int = 0


class GatedLink(LoopRelay):
    """Forwards 127.0.0.1:`port` to the broker's port; held (metered) from the start.

    With `framed`, a step passes one length-prefixed request and waits for its answer instead of passing
    one chunk. `meters(first)` says from a connection's first request (or chunk) whether to meter it;
    without it every connection is metered.
    """

    def __init__(
        self, target_port: int, *, framed: bool = False, meters: Callable[[bytes], bool] | None = None
    ) -> None:
        super().__init__(target_port, name="gated-link")
        self.framed = framed
        self._meters = meters
        # Loop-thread state: whether chunks are metered, whether one may pass now, and (framed) the
        # connection and request number whose answer the current step waits for.
        self._held = True
        self._permit = False
        self._due: tuple[_Connection, int] | None = None
        self._changed: asyncio.Condition | None = None
        # Set by the loop thread once a permitted piece went to the broker's socket, and (framed) once
        # the broker answered it, so `step` returns early.
        self._passed = threading.Event()
        self._answered = threading.Event()

    async def _listen(self) -> None:
        self._changed = asyncio.Condition()  # made on the loop it waits on
        await super()._listen()

    async def _relay(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        up_reader: asyncio.StreamReader,
        up_writer: asyncio.StreamWriter,
    ) -> None:
        connection = _Connection()
        await asyncio.gather(self._upstream(reader, up_writer, connection),
                             self._downstream(up_reader, writer, connection), return_exceptions=True)  # fmt: skip

    async def _upstream(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, connection: _Connection
    ) -> None:
        """What the client sends: each piece (a chunk, or framed: a request) waits for a permit if metered."""
        frames = _Frames() if self.framed else None
        metered: bool | None = None  # decided on the first piece
        try:
            while chunk := await reader.read(65536):
                for piece in frames.feed(chunk) if frames else (chunk,):
                    if metered is None:
                        metered = self._meters is None or self._meters(piece)
                    if metered:
                        await self._admit()
                    writer.write(piece)  # into the socket before a count can follow: `step` waits for this
                    connection.sent += 1
                    if metered:
                        self._due = (connection, connection.sent) if frames else None
                        self._passed.set()
                await writer.drain()
        finally:
            self._no_answer_due(connection)  # the client closed its side: no answer will reach it
            with contextlib.suppress(Exception):
                writer.close()

    async def _downstream(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, connection: _Connection
    ) -> None:
        """What the broker sends back, never held; framed, it counts the answers (in request order)."""
        frames = _Frames() if self.framed else None
        try:
            while chunk := await reader.read(65536):
                writer.write(chunk)
                if frames:
                    connection.answered += len(frames.feed(chunk))
                    if self._due is not None and self._due[0] is connection and connection.answered >= self._due[1]:
                        self._no_answer_due(connection)
                await writer.drain()
        finally:
            self._no_answer_due(connection)  # the broker closed the connection
            with contextlib.suppress(Exception):
                writer.close()

    def _no_answer_due(self, connection: _Connection) -> None:
        """The step waiting for an answer on `connection` waits no more."""
        if self._due is not None and self._due[0] is connection:
            self._due = None
            self._answered.set()

    async def _admit(self) -> None:
        """Wait while held until a permit is there, and use it up."""
        assert self._changed is not None
        async with self._changed:
            await self._changed.wait_for(lambda: not self._held or self._permit)
            self._permit = False

    def _on_loop(self, change: Callable[[], None]) -> None:
        """Run `change` on the loop thread under the condition, wake the waiting chunks, and wait for it."""

        async def apply() -> None:
            assert self._changed is not None
            async with self._changed:
                change()
                self._changed.notify_all()

        asyncio.run_coroutine_threadsafe(apply(), self._loop).result(5)

    def step(self, wait: float) -> None:
        """Let at most one chunk (framed: one request) through, waiting at most `wait` seconds for mqtui to
        send one; framed, then wait up to ANSWER_WAIT for the broker's answer to it."""
        self._passed.clear()
        self._answered.clear()
        self._on_loop(lambda: setattr(self, "_permit", True))
        if self._passed.wait(wait) and self.framed:
            self._answered.wait(ANSWER_WAIT)
        self._on_loop(self._end_step)

    def _end_step(self) -> None:
        self._permit = False  # a permit not used now is not used later
        self._due = None  # nor does a late answer end the next step early

    def release(self) -> None:
        """Stop metering: what waits goes through, and so does everything after it."""
        self._on_loop(lambda: setattr(self, "_held", False))

    def hold(self) -> None:
        """Meter again from the next piece on, for the next replay through a link that outlives one."""
        self._on_loop(lambda: setattr(self, "_held", True))


@contextlib.contextmanager
def gated_link(
    target_port: int, *, framed: bool = False, meters: Callable[[bytes], bool] | None = None
) -> Iterator[GatedLink]:
    link = GatedLink(target_port, framed=framed, meters=meters).start()
    try:
        yield link
    finally:
        link.stop()
