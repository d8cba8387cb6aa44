"""RabbitMQ dead letters: which queues are DLQs, reading them, and requeueing or deleting their messages.

Which queues are DLQs is worked out in `topology` (dead-letter exchanges followed through bindings,
exchange-to-exchange bindings too; dead-letter routing keys; naming rules), once per queue listing.
Reading a DLQ is get + requeue, so on a quorum queue with a delivery limit it costs each message a
delivery: `DeadLetterQueue.read_hazard` says so, and the CLI and console confirm first.

Requeue sends a dead letter to the queue named in its newest `x-death` entry, through the default
exchange, so only the queue that failed it gets it again (republishing to the original exchange could
deliver it a second time to every other queue bound there); `to="exchange:NAME"` republishes through
NAME with the original routing key instead (`exchange:` alone means the exchange recorded in
`x-death`), and `to=QUEUE` sends to another queue. The blocking side is in `requeue`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from pika.adapters.blocking_connection import BlockingChannel

from mqtui.brokers.rabbitmq import celery, dramatiq
from mqtui.brokers.rabbitmq import requeue as requeue_ops
from mqtui.brokers.rabbitmq.amqp import Endpoint, Progress, text, to_message
from mqtui.brokers.rabbitmq.deaths import describe as describe_deaths
from mqtui.brokers.rabbitmq.deaths import first_death
from mqtui.brokers.rabbitmq.http import quote_segment
from mqtui.brokers.rabbitmq.journal import RequeueJournal, journal_path
from mqtui.brokers.rabbitmq.management import Management, QueueListing, retrieve
from mqtui.brokers.rabbitmq.names import QueueRef
from mqtui.brokers.rabbitmq.queues import DEFAULT_EXCHANGE_NAME, number
from mqtui.brokers.rabbitmq.runner import AmqpRunner
from mqtui.brokers.rabbitmq.topology import DlqInfo, dead_letter_map, dead_letter_sources, read_hazard, routes_by_source
from mqtui.dlqnames import dlq_origin
from mqtui.errors import NotFound, NotPossible
from mqtui.model import (
    DeadLetter,
    DeadLetterQueue,
    DestinationKind,
    ProgressCallback,
    ReplayItem,
    ReplayResult,
)

EXCHANGE_TARGET = "exchange:"
BINDING_COLUMNS = "source,destination,destination_type,routing_key"


class DeadLetters:
    """The dead-letter queues of one broker, read over both the management API and AMQP."""

    def __init__(
        self, mgmt: Management, runner: AmqpRunner, endpoint: Endpoint, rules: tuple[str, ...], timeout: float
    ) -> None:
        self.mgmt = mgmt
        self.runner = runner
        self.endpoint = endpoint
        self.rules = rules
        self.name = mgmt.name
        self.timeout = timeout

    # -- finding DLQs ------------------------------------------------------------------------------
    async def of_listing(self, listing: QueueListing) -> dict[tuple[str, str], DlqInfo]:
        """The dead-letter map of a queue listing, worked out once however many callers ask."""
        if listing.dlqs is None:
            listing.dlqs = asyncio.ensure_future(self._dead_letter_map(listing.rows))
            listing.dlqs.add_done_callback(retrieve)
        return await asyncio.shield(listing.dlqs)

    async def _dead_letter_map(self, rows: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], DlqInfo]:
        """Which queues receive dead letters: every exchange and binding of each vhost with a DLX, read once."""
        vhosts = sorted({vhost for vhost, _, dlx, _ in dead_letter_sources(rows) if dlx})

        async def topology(vhost: str) -> tuple[dict[str, str], dict[str, Any]]:
            segment = quote_segment(vhost)
            try:
                exchanges, bindings = await asyncio.gather(
                    self.mgmt.get(f"/api/exchanges/{segment}", {"columns": "name,type"}),
                    self.mgmt.get(f"/api/bindings/{segment}", {"columns": BINDING_COLUMNS}),
                )
            except NotFound:  # the vhost went away since the listing
                return {}, {}
            types = {text(e.get("name")): text(e.get("type")) for e in exchanges or ()}
            return types, routes_by_source(bindings or ())

        answers = await asyncio.gather(*(topology(vhost) for vhost in vhosts))
        types = {vhost: answer[0] for vhost, answer in zip(vhosts, answers, strict=True)}
        routes = {vhost: answer[1] for vhost, answer in zip(vhosts, answers, strict=True)}
        return dead_letter_map(rows, types, routes, display=self.mgmt.display, rules=self.rules)

    async def queues(self) -> list[DeadLetterQueue]:
        listing = await self.mgmt.queue_listing()
        dlqs = await self.of_listing(listing)
        found = []
        for row in listing.rows:
            vhost, name = text(row.get("vhost")), text(row.get("name"))
            info = dlqs.get((vhost, name))
            if info is None:
                continue
            found.append(
                DeadLetterQueue(
                    broker=self.name,
                    name=self.mgmt.display(vhost, name),
                    kind=DestinationKind.STREAM if row.get("type") == "stream" else DestinationKind.QUEUE,
                    origin=", ".join(sorted(info.origins)) or None,
                    count=number(row.get("messages")),
                    detected_by=info.detected_by,
                    read_hazard=read_hazard(row, self.mgmt.version),
                )
            )
        return sorted(found, key=lambda q: q.name)

    async def read_hazard(self, dlq: str) -> str | None:
        """Whether reading `dlq` costs its messages a delivery (see `topology.read_hazard`)."""
        ref = self.mgmt.naming.parse(dlq)
        path = f"/api/queues/{quote_segment(ref.vhost)}/{quote_segment(ref.name)}"
        columns = {"columns": "type,arguments,effective_policy_definition"}
        row = await self.mgmt.get(path, columns, what=f"queue {self.mgmt.display(ref.vhost, ref.name)!r}")
        return read_hazard(row or {}, self.mgmt.version)

    # -- reading -----------------------------------------------------------------------------------
    async def letters(self, dlq: str, limit: int) -> list[DeadLetter]:
        """The first `limit` dead letters, read with manual ack and all nacked back (depth unchanged).

        DeadLetter.id is a digest of body, ids and x-death entries (`deaths.dead_letter_id`).
        """
        ref = self.mgmt.naming.parse(dlq)
        display = self.mgmt.display(ref.vhost, ref.name)
        fallback = dlq_origin(ref.name, self.rules)
        idle = min(self.timeout, 2.0)

        def job(channel: BlockingChannel, progress: Progress) -> list[DeadLetter]:
            letters = requeue_ops.browse(channel, ref.name, limit, progress, idle)
            return [self._dead_letter(ref.vhost, display, letter, fallback) for letter in letters]

        return await self.runner.run(ref.vhost, job)

    def _dead_letter(self, vhost: str, display: str, letter: requeue_ops.Delivery, fallback: str | None) -> DeadLetter:
        headers = letter.headers
        first = first_death(headers)
        newest = letter.deaths[0] if letter.deaths else None
        origin_queue = newest.queue if newest else first.get("first_death_queue", fallback)
        times = [d.time for d in letter.deaths if d.time is not None]
        extra: dict[str, str] = dict(first)
        if newest is not None:
            extra["exchange"] = newest.exchange
            extra["routing_keys"] = ",".join(newest.routing_keys)
            extra["x_death"] = describe_deaths(letter.deaths)
        count = headers.get(requeue_ops.REQUEUE_COUNT)
        if count is not None:
            extra["requeue_count"] = text(count)
        extra.update(dramatiq.job_fields(letter.body) or celery.job_fields(headers))
        message = to_message(
            self.name,
            display,
            letter.tag,
            letter.properties,
            letter.body,
            exchange=letter.exchange,
            routing_key=letter.routing_key,
            redelivered=letter.redelivered,
        )
        return DeadLetter(
            id=letter.id,
            message=message,
            origin=self.mgmt.display(vhost, origin_queue) if origin_queue else None,
            reason=newest.reason if newest else first.get("first_death_reason"),
            attempts=newest.count if newest else None,
            first_failure=min(times) if times else None,
            # An entry's time stays its first: after a second death in the same queue it is not the last.
            last_failure=newest.time if newest and newest.count <= 1 else None,
            extra=extra,
        )

    # -- requeueing --------------------------------------------------------------------------------
    async def _resolver(self, ref: QueueRef, to: str | None) -> requeue_ops.TargetResolver:
        """How each dead letter of `ref` finds its target; checks `to` exists first (NotFound)."""
        if to is None:

            def to_origin(letter: requeue_ops.Delivery) -> requeue_ops.Target | str:
                if not letter.deaths or not letter.deaths[0].queue:
                    return "no x-death header names its origin: requeue it with --to QUEUE"
                queue = letter.deaths[0].queue
                return requeue_ops.Target("", queue, self.mgmt.display(ref.vhost, queue))

            return to_origin
        if to.startswith(EXCHANGE_TARGET):
            named = to[len(EXCHANGE_TARGET) :]
            if named:
                await self.mgmt.get(
                    f"/api/exchanges/{quote_segment(ref.vhost)}/{quote_segment(named)}", what=f"exchange {named!r}"
                )

            def to_exchange(letter: requeue_ops.Delivery) -> requeue_ops.Target | str:
                # x-death's first routing key is the one the message was published with; the others
                # are its CC keys. Publishing once with the first and the message's own CC header
                # (RabbitMQ keeps it) routes it as the original publish did; once per key would send
                # duplicates. BCC keys are recorded nowhere, so those queues get no copy.
                newest = letter.deaths[0] if letter.deaths else None
                if newest is None or not newest.routing_keys:
                    return "no x-death header gives its routing key"
                exchange = named or newest.exchange
                label = f"exchange {exchange or DEFAULT_EXCHANGE_NAME} key {newest.routing_keys[0]}"
                return requeue_ops.Target(exchange, newest.routing_keys[0], label)

            return to_exchange
        target = self.mgmt.naming.parse(to)
        if target.vhost != ref.vhost:
            raise NotPossible(f"{self.name}: requeue stays within the DLQ's vhost {ref.vhost!r}")
        await self.mgmt.queue(target)
        fixed = requeue_ops.Target("", target.name, self.mgmt.display(target.vhost, target.name))
        return lambda _letter: fixed

    async def plan(
        self, dlq: str, *, to: str | None, ids: Collection[str] | None, limit: int | None
    ) -> list[ReplayItem]:
        """Reads (and returns) the dead letters a requeue would move: at most 65,535 are previewed."""
        ref = self.mgmt.naming.parse(dlq)
        resolve = await self._resolver(ref, to)
        wanted = set(ids) if ids else None
        idle = min(self.timeout, 2.0)

        # Selecting ids means looking through the whole DLQ; otherwise the first `limit` are enough.
        count = limit if limit is not None and wanted is None else requeue_ops.MAX_BROWSE

        def job(channel: BlockingChannel, progress: Progress) -> list[ReplayItem]:
            letters = requeue_ops.browse(channel, ref.name, count, progress, idle)
            items = []
            for letter in letters:
                if wanted is not None and letter.id not in wanted:
                    continue
                target = resolve(letter)
                if isinstance(target, str):
                    items.append(ReplayItem(letter.id, "-", skip_reason=target))
                else:
                    items.append(ReplayItem(letter.id, target.label))
                if limit is not None and sum(1 for i in items if i.skip_reason is None) >= limit:
                    break
            if wanted is not None:
                seen = {item.id for item in items}
                items.extend(ReplayItem(i, "-", skip_reason="not in the DLQ") for i in sorted(wanted - seen))
            return items

        return await self.runner.run(ref.vhost, job, dedicated=True)

    async def requeue(
        self,
        dlq: str,
        *,
        to: str | None,
        ids: Collection[str] | None,
        limit: int | None,
        progress: ProgressCallback | None,
    ) -> ReplayResult:
        """Publish with confirms, then ack; see `requeue.requeue` for what survives a crash.

        Dead letters are consumed with a prefetch, except from a DLQ whose reads count as deliveries
        (`read_hazard`): there each is one basic.get, so none is sent ahead and handed back for nothing.
        """
        ref = self.mgmt.naming.parse(dlq)
        resolve, hazard = await asyncio.gather(self._resolver(ref, to), self.read_hazard(dlq))
        path = journal_path(self.name, self.endpoint.host, self.endpoint.port, ref.vhost, ref.name)
        prefetch = 0 if hazard else requeue_ops.PREFETCH
        idle = min(self.timeout, 2.0)

        def job(channel: BlockingChannel, watch: Progress) -> ReplayResult:
            journal = RequeueJournal(path)
            return requeue_ops.requeue(
                channel,
                ref.name,
                resolve=resolve,
                ids=ids,
                limit=limit,
                journal=journal,
                progress=watch,
                report=progress,
                prefetch=prefetch,
                idle=idle,
            )

        return await self.runner.run(ref.vhost, job, dedicated=True)

    async def delete(self, dlq: str, ids: Collection[str]) -> int:
        ref = self.mgmt.naming.parse(dlq)

        def job(channel: BlockingChannel, progress: Progress) -> int:
            return requeue_ops.delete(channel, ref.name, ids, progress)

        return await self.runner.run(ref.vhost, job, dedicated=True)
