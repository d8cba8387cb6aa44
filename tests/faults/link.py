"""A TCP link between mqtui and its broker that lets the fault harness meter what mqtui sends.

Stopping the replay process in slices (SIGSTOP) bounds its CPU time between two counts, not its
progress: a replay that moves a window of messages per round trip (NATS: 64) can move two windows in
one slice, and on a busy machine a 2 ms slice may last 20 ms. This link bounds progress instead.
While it is held, each chunk mqtui writes (one read of the socket, up to 64 KB) waits here until the
harness lets it through with `step()`, which lets at most one chunk pass and takes back the permit
if none came, so between two counts the broker receives at most one chunk. What the broker sends
back is never held. After the kill, `release()` lets through what was waiting, as a real network
still delivers what a process wrote just before it died, and the rerun uses the link unmetered.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Callable, Iterator


class GatedLink:
    """Forwards 127.0.0.1:`port` to the broker's port; held (metered) from the start."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="gated-link", daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        # Loop-thread state: whether chunks are metered, and whether one may pass now.
        self._held = True
        self._permit = False
        self._changed: asyncio.Condition | None = None
        # Set by the loop thread once a permitted chunk went to the broker's socket, so `step` returns early.
        self._passed = threading.Event()

    def start(self) -> GatedLink:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(5)
        return self

    async def _listen(self) -> None:
        self._changed = asyncio.Condition()
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:  # the broker is down: the client sees its connection closed
            writer.close()
            return
        self._writers.update((writer, up_writer))
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(self._pipe(reader, up_writer, metered=True), self._pipe(up_reader, writer),
                                 return_exceptions=True)  # fmt: skip
        for each in (writer, up_writer):
            self._writers.discard(each)
            each.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, metered: bool = False) -> None:
        try:
            while chunk := await reader.read(65536):
                if metered:
                    await self._admit()
                writer.write(chunk)  # into the socket before a count can follow: `step` waits for this
                if metered:
                    self._passed.set()
                await writer.drain()
        finally:
            with contextlib.suppress(Exception):
                writer.close()

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
        """Let at most one chunk through, waiting at most `wait` seconds for mqtui to send one."""
        self._passed.clear()
        self._on_loop(lambda: setattr(self, "_permit", True))
        self._passed.wait(wait)
        self._on_loop(lambda: setattr(self, "_permit", False))  # a permit not used now is not used later

    def release(self) -> None:
        """Stop metering: what waits goes through, and so does everything after it."""
        self._on_loop(lambda: setattr(self, "_held", False))

    def stop(self) -> None:
        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


@contextlib.contextmanager
def gated_link(target_port: int) -> Iterator[GatedLink]:
    link = GatedLink(target_port).start()
    try:
        yield link
    finally:
        link.stop()
