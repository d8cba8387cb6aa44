"""The JetStream questions the NATS adapter's modules ask: streams, consumers, which streams store a subject.

`JetStream` holds the adapter's connection once it is open, and answers over the JSON API
(`connection.api_request`); `errors(what)` turns whatever nats-py raises into one `mqtui.errors` line.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

from nats.aio.client import Client

from mqtui.brokers.nats.connection import JetStreamApiError, JetStreamDisabled, api_request, broker_errors, paged
from mqtui.errors import BrokerUnavailable, NotFound

T = TypeVar("T")

#: Concurrent requests when one answer needs many (consumer lists, publish acks); a replay's requests go
#: through `pipeline` instead.
CONCURRENCY = 64
_BAD_STREAM_CHARS = frozenset(" \t\r\n.*>/\\")


def valid_stream_name(name: str) -> bool:
    return bool(name) and not (set(name) & _BAD_STREAM_CHARS)


class JetStream:
    """One broker's connection and the JetStream API calls made on it."""

    def __init__(self, name: str, timeout: float) -> None:
        self.name = name
        self.timeout = timeout
        self.nc: Client | None = None

    def conn(self) -> Client:
        """The open connection, or BrokerUnavailable."""
        if self.nc is None or self.nc.is_closed:
            raise BrokerUnavailable(f"{self.name}: not connected")
        return self.nc

    def errors(self, what: str) -> contextlib.AbstractContextManager[None]:
        return broker_errors(self.name, what, self.timeout)

    async def api(self, subject: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return await api_request(self.conn(), subject, body, self.timeout)

    async def bounded(self, calls: Sequence[Awaitable[T]]) -> list[T]:
        """Run many requests at once, CONCURRENCY at a time, answers in order."""
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(call: Awaitable[T]) -> T:
            async with gate:
                return await call

        return list(await asyncio.gather(*(one(c) for c in calls)))

    async def streams(self) -> list[dict[str, Any]]:
        """Every stream's info; none when JetStream is off."""
        try:
            return await paged(self.conn(), "STREAM.LIST", "streams", self.timeout)
        except JetStreamDisabled:
            return []

    async def stream(self, name: str) -> dict[str, Any]:
        """A stream's info, or NotFound."""
        if not valid_stream_name(name):
            raise NotFound(f"{self.name}: {name!r} is not a stream name")
        try:
            return await self.api(f"STREAM.INFO.{name}")
        except JetStreamApiError as exc:
            if exc.not_found:
                raise NotFound(f"{self.name}: no stream named {name}") from None
            raise

    async def find_stream(self, name: str) -> dict[str, Any] | None:
        """Stream info when `name` is a stream, None when it can only be a subject."""
        if not valid_stream_name(name):
            return None
        try:
            return await self.api(f"STREAM.INFO.{name}")
        except JetStreamApiError as exc:
            if exc.not_found:
                return None
            raise
        except JetStreamDisabled:
            return None

    async def consumers(self, stream: str) -> list[dict[str, Any]]:
        return await paged(self.conn(), f"CONSUMER.LIST.{stream}", "consumers", self.timeout)

    async def consumer_infos(self, only_stream: str | None = None) -> tuple[list[dict[str, Any]], dict[str, int]]:
        """Every consumer of every stream (one paged CONSUMER.LIST per stream that has consumers), and
        each stream's last sequence."""
        streams = await self.streams()
        last_seqs = {s["config"]["name"]: int((s.get("state") or {}).get("last_seq") or 0) for s in streams}
        names = [
            s["config"]["name"]
            for s in streams
            if int((s.get("state") or {}).get("consumer_count") or 0) > 0 and only_stream in (None, s["config"]["name"])
        ]
        pages = await self.bounded([self.consumers(name) for name in names])
        infos = [info for page in pages for info in page]
        return infos, last_seqs

    async def streams_storing(self, subject: str) -> list[str]:
        """The streams whose subjects take `subject`; none when JetStream is off."""
        try:
            answer = await self.api("STREAM.NAMES", {"subject": subject})
        except JetStreamDisabled:
            return []
        return list(answer.get("streams") or [])
