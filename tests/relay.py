"""A TCP relay on 127.0.0.1 in front of a real broker, for tests that stand between mqtui and it.

It runs its own asyncio loop in a thread, so sync and async tests drive it alike, and stops every
connection and task it started. Subclasses decide what passes: the outage proxy (`tests.trust.proxy`)
delays, cuts or hangs; the fault link (`tests.faults.link`) meters what mqtui sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from typing import Self


class LoopRelay:
    """Listens on `port` and, per connection it admits, opens one to the target and hands both to `_relay`."""

    def __init__(self, target_port: int, *, name: str, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def start(self) -> Self:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(5)
        return self

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    def _admits(self) -> bool:
        """Whether a new connection is forwarded at all (else it is closed at once)."""
        return True

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._admits():
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:  # the broker is down: the client sees its connection closed
            writer.close()
            return
        self._writers.update((writer, up_writer))
        with contextlib.suppress(asyncio.CancelledError):  # stop() cancels what is still open
            await self._relay(reader, writer, up_reader, up_writer)
        for each in (writer, up_writer):
            self._writers.discard(each)
            each.close()

    async def _relay(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        up_reader: asyncio.StreamReader,
        up_writer: asyncio.StreamWriter,
    ) -> None:
        """Carry one connection's bytes both ways until either side ends."""
        raise NotImplementedError

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
