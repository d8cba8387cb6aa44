"""Helpers for the NATS tests: adapters and raw clients on the test servers, unique names."""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import AsyncIterator
from typing import Any

import nats
from nats.aio.client import Client

from mqtui.brokers.nats.adapter import NatsAdapter
from mqtui.config import NatsConfig
from mqtui.demo.localbrokers import LocalNats
from mqtui.model import Message, StartPosition

_counter = itertools.count(1)


def unique(prefix: str) -> str:
    """A stream/subject token no other test uses (stream names allow no dots)."""
    return f"{prefix}{os.getpid()}x{next(_counter)}"


def config_for(server: LocalNats, **overrides: Any) -> NatsConfig:
    values: dict[str, Any] = {"name": "n", "url": server.url, "monitor_url": server.monitor_url, "timeout": 3.0}
    values.update(overrides)
    return NatsConfig(**values)


@contextlib.asynccontextmanager
async def adapter_for(server: LocalNats, **overrides: Any) -> AsyncIterator[NatsAdapter]:
    adapter = NatsAdapter(config_for(server, **overrides))
    await adapter.connect()
    try:
        yield adapter
    finally:
        await adapter.close()


@contextlib.asynccontextmanager
async def client_for(server: LocalNats) -> AsyncIterator[Client]:
    nc = await nats.connect(server.url, allow_reconnect=False)
    try:
        yield nc
    finally:
        await nc.close()


async def read_all(adapter: NatsAdapter, destination: str, start: str = "beginning") -> list[Message]:
    found: list[Message] = []
    stream = adapter.tail(destination, start=StartPosition.parse(start), stop_at_end=True)
    async for batch in stream:
        found.extend(batch)
    return found
