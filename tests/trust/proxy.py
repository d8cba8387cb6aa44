"""A local TCP proxy the outage tests put between mqtui and a real broker.

It forwards bytes both ways and can add latency to every chunk (a slow broker), drop every connection
(a network cut), stop accepting (a broker that is down), or accept and never answer (a hung broker or
a firewall that drops packets), without touching the broker process itself.
It is a `tests.relay.LoopRelay`: its own asyncio loop in a thread, for sync and async tests alike.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from tests.relay import LoopRelay


class FaultyProxy(LoopRelay):
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        super().__init__(target_port, name="faulty-proxy", target_host=target_host)
        self.delay = 0.0
        self.accepting = True
        self.hanging = False

    def _admits(self) -> bool:
        return self.accepting

    async def _relay(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        up_reader: asyncio.StreamReader,
        up_writer: asyncio.StreamWriter,
    ) -> None:
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                if self.delay:
                    await asyncio.sleep(self.delay)
                while self.hanging:  # held, not lost: it flows on after `answer()`
                    await asyncio.sleep(0.05)
                writer.write(chunk)
                await writer.drain()
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    def _call(self, func) -> None:  # type: ignore[no-untyped-def]
        self._loop.call_soon_threadsafe(func)

    def cut(self) -> None:
        """Drop every open connection (new ones are still accepted unless `refuse()` was called)."""

        def close_all() -> None:
            for writer in list(self._writers):
                writer.transport.abort()
            self._writers.clear()

        self._call(close_all)

    def refuse(self) -> None:
        self.accepting = False
        self.cut()

    def accept(self) -> None:
        self.accepting = True

    def hang(self) -> None:
        """Accept connections but pass no byte either way, on new and open ones: only timeouts notice."""
        self.hanging = True

    def answer(self) -> None:
        """End `hang()`: stalled connections flow again, new ones are forwarded."""
        self.hanging = False


@contextlib.contextmanager
def faulty_proxy(target_port: int) -> Iterator[FaultyProxy]:
    proxy = FaultyProxy(target_port).start()
    try:
        yield proxy
    finally:
        proxy.stop()
