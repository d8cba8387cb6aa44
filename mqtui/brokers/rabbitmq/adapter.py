"""RabbitMQ: queues and consumers from the management API, messages over AMQP with pika.

The adapter wires the package's parts together and delegates each method to the module of its concern:
`management` (the HTTP API, one shared queue listing per poll), `queues` (destinations, details,
backlog), `tail` (reading without consuming: a copy queue, a stream offset or the firehose),
`messages` (peek, publish, purge), `dlq` (finding, reading and requeueing dead letters), `retries`
(TTL + dead-letter retry queues), `shovel` (whole-queue moves) and `server` (the server view).
Blocking AMQP jobs run through `runner`.

Names: queues of the profile's vhost keep their names, queues of other vhosts are `vhost/queue`
(`names`). `connect()` checks the management API (reachability, credentials), learns the vhosts and
reads /api/overview once (version, cluster); AMQP connections open on first use, one per vhost.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from typing import Any, ClassVar

from mqtui.brokers.base import BrokerAdapter, PublishOptions
from mqtui.brokers.rabbitmq import messages as message_jobs
from mqtui.brokers.rabbitmq import queues, retries
from mqtui.brokers.rabbitmq import ranges as range_reads
from mqtui.brokers.rabbitmq.amqp import Endpoint
from mqtui.brokers.rabbitmq.dlq import DeadLetters
from mqtui.brokers.rabbitmq.http import ManagementAPI
from mqtui.brokers.rabbitmq.management import Management
from mqtui.brokers.rabbitmq.names import Naming
from mqtui.brokers.rabbitmq.runner import AmqpRunner
from mqtui.brokers.rabbitmq.server import NODE_COLUMNS, OVERVIEW_COLUMNS, server_detail
from mqtui.brokers.rabbitmq.shovel import QueueMover
from mqtui.brokers.rabbitmq.tail import Tails
from mqtui.config import RabbitMQConfig
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
    RetrySchedule,
    StartPosition,
)


class RabbitMQAdapter(BrokerAdapter[RabbitMQConfig]):
    kind = "rabbitmq"
    capabilities: ClassVar[Capability] = (
        Capability.TAIL
        | Capability.PEEK
        | Capability.PUBLISH
        | Capability.REPLAY
        | Capability.DELETE_DEAD_LETTER
        | Capability.PURGE
        | Capability.MOVE_QUEUE
        | Capability.SERVER_VIEW
    )
    replay_verb = "requeue"

    def __init__(self, config: RabbitMQConfig) -> None:
        super().__init__(config)
        self.endpoint = Endpoint.from_config(config)
        self.api = ManagementAPI(
            config.name,
            self.endpoint.management_url,
            self.endpoint.management_username,
            self.endpoint.management_password,
            timeout=config.timeout,
            ssl_context=self.endpoint.ssl_context,
        )
        self.mgmt = Management(self.api, Naming(self.endpoint.home_vhost))
        self.runner = AmqpRunner(self.endpoint, config.timeout)
        self.tails = Tails(self.mgmt, self.endpoint)
        rules = rules_for("rabbitmq", config.dlq_patterns)
        self.dead = DeadLetters(self.mgmt, self.runner, self.endpoint, rules, config.timeout)
        self.mover = QueueMover(self.mgmt, self.runner, config.timeout)
        self._closed = False

    @property
    def overview(self) -> Mapping[str, Any]:
        """What /api/overview said at connect: version, cluster and node names."""
        return self.mgmt.overview

    @property
    def version(self) -> tuple[int, ...]:
        return self.mgmt.version

    # -- lifecycle ---------------------------------------------------------------------------------
    async def connect(self) -> None:
        await self.mgmt.identify()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.tails.stop_all()
        await self.runner.close()
        self.mgmt.close()

    # -- reading -----------------------------------------------------------------------------------
    async def destinations(self, *, include_internal: bool = False) -> list[Destination]:
        listing = await self.mgmt.queue_listing()
        dlqs = await self.dead.of_listing(listing)
        return await queues.destinations(self.mgmt, listing, dlqs, include_internal=include_internal)

    async def describe(self, destination: str) -> Detail:
        return await queues.describe_queue(self.mgmt, destination)

    async def describe_server(self) -> Detail:
        """Version, cluster, rates, totals, nodes and listeners (see `server`)."""
        overview, nodes, shovel = await asyncio.gather(
            self.mgmt.get("/api/overview", {"columns": ",".join(OVERVIEW_COLUMNS)}),
            self.mgmt.get("/api/nodes", {"columns": ",".join(NODE_COLUMNS)}),
            self.mgmt.shovel_enabled(),
        )
        return server_detail(self.name, overview or {}, nodes or [], shovel)

    async def backlog(self, *, group: str | None = None) -> list[BacklogRow]:
        return await queues.backlog(self.mgmt, group)

    def tail(
        self, destination: str, *, start: StartPosition, stop_at_end: bool = False
    ) -> AsyncIterator[Sequence[Message]]:
        return self.tails.read(destination, start=start, stop_at_end=stop_at_end)

    async def peek(self, destination: str, *, limit: int = 10) -> list[Message]:
        return await message_jobs.peek(self.mgmt, self.runner, destination, limit)

    async def plan_range(self, destination: str, *, start: StartPosition, end: StartPosition | None) -> RangePlan:
        return await range_reads.plan_range(self.mgmt, self.runner, destination, start, end)

    def read_range(self, plan: RangePlan) -> AsyncIterator[Sequence[Message]]:
        def tail(destination: str, start: StartPosition) -> AsyncIterator[Sequence[Message]]:
            return self.tails.read(destination, start=start, stop_at_end=True)

        return range_reads.read_range(self.mgmt, self.runner, tail, plan)

    # -- writing -----------------------------------------------------------------------------------
    async def publish(
        self, destination: str, messages: Sequence[OutgoingMessage], *, options: PublishOptions | None = None
    ) -> PublishResult:
        return await message_jobs.publish(self.mgmt, self.runner, destination, messages, options)

    async def purge(self, destination: str) -> int:
        return await message_jobs.purge(self.mgmt, self.runner, destination)

    # -- dead letters ------------------------------------------------------------------------------
    async def dead_letter_queues(self) -> list[DeadLetterQueue]:
        return await self.dead.queues()

    async def retry_schedules(self) -> list[RetrySchedule]:
        return await retries.schedules(self.mgmt, self.dead)

    async def read_hazard(self, dlq: str) -> str | None:
        return await self.dead.read_hazard(dlq)

    async def dead_letters(self, dlq: str, *, limit: int = 100) -> list[DeadLetter]:
        return await self.dead.letters(dlq, limit)

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
        """Requeue: headers `x-mqtui-requeue-count` and `x-mqtui-requeued-at` record each requeue on the
        message. `duplicates` counts messages published again after an interrupted run had published
        them without getting the confirm: the first copy may have reached the target."""
        return await self.dead.requeue(dlq, to=to, ids=ids, limit=limit, progress=progress)

    async def delete_dead_letters(self, dlq: str, ids: Collection[str]) -> int:
        return await self.dead.delete(dlq, ids)

    # -- whole-queue move --------------------------------------------------------------------------
    async def plan_move(self, source: str, *, to: str) -> int:
        return await self.mover.plan(source, to=to)

    async def move_queue(self, source: str, *, to: str, progress: ProgressCallback | None = None) -> ReplayResult:
        return await self.mover.move(source, to=to, progress=progress)
