"""NATS: core subjects, JetStream streams and consumers, and dead letters made from advisories.

nats-py is async, so every call is a task on the caller's loop; HTTP monitoring runs in a thread. The
adapter connects and delegates: `streams` (destinations, details, backlog), `tail`, `messages`
(publish, request, purge), `server` (the server view), `dead_letters` (DLQ streams, replay, delete),
all asking JetStream through `jetstream`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Collection, Sequence
from typing import ClassVar

from mqtui.brokers.base import BrokerAdapter, PublishOptions
from mqtui.brokers.nats import messages as message_ops
from mqtui.brokers.nats import monitor as monitoring
from mqtui.brokers.nats import ranges as range_reads
from mqtui.brokers.nats import streams
from mqtui.brokers.nats.connection import open_connection, quiet_close
from mqtui.brokers.nats.dead_letters import DeadLetters, ensure_dlq_stream
from mqtui.brokers.nats.jetstream import JetStream
from mqtui.brokers.nats.server import describe_server
from mqtui.brokers.nats.settings import connection_settings
from mqtui.brokers.nats.tail import tail
from mqtui.config import NatsConfig
from mqtui.dlqnames import rules_for
from mqtui.model import (
    BacklogRow,
    Capability,
    DeadLetter,
    DeadLetterQueue,
    Destination,
    Detail,
    Message,
    OutgoingMessage,
    ProgressCallback,
    PublishResult,
    RangePlan,
    ReplayItem,
    ReplayResult,
    StartPosition,
)
from mqtui.safetext import safe_line

log = logging.getLogger(__name__)


class NatsAdapter(BrokerAdapter[NatsConfig]):
    kind: ClassVar[str] = "nats"
    capabilities: ClassVar[Capability] = (
        Capability.TAIL
        | Capability.PUBLISH
        | Capability.REPLAY
        | Capability.DELETE_DEAD_LETTER
        | Capability.PURGE
        | Capability.REQUEST
        | Capability.SERVER_VIEW
        | Capability.GROUPS
    )

    def __init__(self, config: NatsConfig) -> None:
        super().__init__(config)
        self.js = JetStream(config.name, config.timeout)
        self.counters: dict[str, int] = {}
        self.rules = rules_for("nats", config.dlq_patterns)
        self.dead = DeadLetters(self.js, self.rules, config.dlq_stream)
        self.monitor: monitoring.Monitor | None = None
        """The monitoring endpoints, once connected, when `monitor_url` is set."""
        self.dlq_stream_status: str | None = None
        """What `create_dlq_stream` did on connect (shown in the server view), None when not asked."""
        self._notices: list[str] = []

    # -- lifecycle ---------------------------------------------------------------------------------
    async def connect(self) -> None:
        settings = connection_settings(self.config)
        self.js.nc = await open_connection(self.config, settings, self.counters)
        if self.config.monitor_url:  # an https monitor is served with the client port's TLS settings
            self.monitor = monitoring.Monitor(self.name, self.config.monitor_url, self.config.timeout, tls=settings.tls)
        if not self.config.create_dlq_stream:
            return
        if self.config.profile_readonly:  # the session says so once, as a start-up notice
            self.dlq_stream_status = "not created: the profile is readonly"
            return
        with self.js.errors("create the DLQ stream"):
            self.dlq_stream_status, complete = await ensure_dlq_stream(self.js, self.config.dlq_stream)
        if not complete:  # stream names are the broker's: the CLI and the console make notices safe
            self._notices = [f"{self.name}: create_dlq_stream: {self.dlq_stream_status}"]
            log.info("%s", safe_line(self._notices[0], None))

    @property
    def notices(self) -> list[str]:
        """Advisories `create_dlq_stream` could not capture (a readonly profile's skipped creation is said
        once at start-up by the session instead: it is known before connecting)."""
        return self._notices

    async def close(self) -> None:
        nc, self.js.nc = self.js.nc, None
        if nc is not None:
            await quiet_close(nc)

    # -- reading -----------------------------------------------------------------------------------
    async def destinations(self, *, include_internal: bool = False) -> list[Destination]:
        return await streams.destinations(
            self.js, self.monitor, self.rules, self.config.dlq_stream, include_internal=include_internal
        )

    async def describe(self, destination: str) -> Detail:
        return await streams.describe(self.js, self.monitor, destination)

    async def describe_server(self) -> Detail:
        return await describe_server(self.js, self.monitor, self.counters, self.dlq_stream_status)

    async def backlog(self, *, group: str | None = None) -> list[BacklogRow]:
        return await streams.backlog(self.js, group)

    async def describe_group(self, group: str) -> Detail:
        return await streams.describe_group(self.js, group)

    def tail(
        self, destination: str, *, start: StartPosition, stop_at_end: bool = False
    ) -> AsyncIterator[Sequence[Message]]:
        return tail(self.js, destination, start=start, stop_at_end=stop_at_end)

    async def plan_range(self, destination: str, *, start: StartPosition, end: StartPosition | None) -> RangePlan:
        return await range_reads.plan_range(self.js, destination, start, end)

    def read_range(self, plan: RangePlan) -> AsyncIterator[Sequence[Message]]:
        return range_reads.read_range(self.js, plan)

    # -- writing -----------------------------------------------------------------------------------
    async def publish(
        self, destination: str, messages: Sequence[OutgoingMessage], *, options: PublishOptions | None = None
    ) -> PublishResult:
        return await message_ops.publish(self.js, destination, messages, options)

    async def request(self, destination: str, message: OutgoingMessage, *, timeout: float) -> Message:
        return await message_ops.request(self.js, destination, message, timeout)

    async def purge(self, destination: str) -> int:
        return await message_ops.purge(self.js, destination)

    # -- dead letters ------------------------------------------------------------------------------
    async def dead_letter_queues(self) -> list[DeadLetterQueue]:
        return await self.dead.queues()

    async def dead_letters(self, dlq: str, *, limit: int = 100) -> list[DeadLetter]:
        return await self.dead.read(dlq, limit)

    async def plan_replay(
        self, dlq: str, *, to: str | None = None, ids: Collection[str] | None = None, limit: int | None = None
    ) -> list[ReplayItem]:
        return await self.dead.plan(dlq, to=to, ids=ids, limit=limit)

    async def replay(
        self,
        dlq: str,
        *,
        to: str | None = None,
        ids: Collection[str] | None = None,
        limit: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> ReplayResult:
        return await self.dead.replay(dlq, to=to, ids=ids, limit=limit, progress=progress)

    async def delete_dead_letters(self, dlq: str, ids: Collection[str]) -> int:
        return await self.dead.delete(dlq, ids)
