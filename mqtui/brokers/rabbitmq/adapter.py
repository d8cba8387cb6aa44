"""RabbitMQ: queues and consumers from the management API, messages over AMQP with pika.

Names: queues of the profile's vhost keep their names, queues of other vhosts are `vhost/queue`
(`mqtui.brokers.rabbitmq.names`). `ls --all` adds exchanges and the server-named `amq.*` queues.

Connections: `connect()` checks the management API (reachability, credentials) and learns the vhosts;
AMQP connections open on first use, one per vhost, on the adapter's worker thread, and reopen after the
broker dropped them. A call that makes no progress within the profile's `timeout` is abandoned with
BrokerUnavailable (its thread and connections are left to die; the next call starts afresh).

Reading without consuming:
- `tail` binds a private temporary queue like the watched one (copy), reads a stream queue from an
  offset, or, for a destination written `firehose:QUEUE` (or `firehose:` for everything), reads the
  firehose (`amq.rabbitmq.trace`), the only way to see messages published straight to a queue through
  the default exchange; it needs `rabbitmqctl trace_on` and is never switched on by mqtui. A copy
  only sees new messages (`--from end`); with `stop_at_end`, a tail ends after `STOP_AT_END_IDLE`
  seconds without a message, since a queue has no end offset to reach.
- `peek` is basic.get + requeue: it marks messages redelivered and counts against a quorum queue's
  delivery-limit, hence Capability.PEEK and its confirmation.

Dead letters: which queues are DLQs is worked out in `rabbitmq_topology` (dead-letter exchanges followed
through bindings, exchange-to-exchange bindings too; dead-letter routing keys; naming rules). Reading a
DLQ is get + requeue, so on a quorum queue with a delivery limit it costs each message a delivery:
`DeadLetterQueue.read_hazard` says so, and the CLI and console confirm first. Requeue sends a dead letter to the queue named
in its newest `x-death` entry, through the default exchange, so only the queue that failed it gets it
again (republishing to the original exchange could deliver it a second time to every other queue bound
there); `to="exchange:NAME"` republishes through NAME with the original routing key instead
(`exchange:` alone means the exchange recorded in `x-death`), and `to=QUEUE` sends to another queue.
`move_queue` moves a whole queue inside the broker with a shovel instead (`rabbitmq_shovel`).

One poll asks for destinations, backlog and DLQs at once; they share one listing of /api/queues (and one
dead-letter map) instead of paging through it three times. `/api/overview` is read once at connect
(version, cluster); `describe("$server")` is the server view (`rabbitmq_server`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

import orjson
import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from mqtui.brokers.base import BrokerAdapter, PublishOptions
from mqtui.brokers.rabbitmq import requeue as requeue_ops
from mqtui.brokers.rabbitmq.amqp import AmqpSession, Cancelled, Endpoint, Progress, outgoing_header, text, to_message
from mqtui.brokers.rabbitmq.deaths import describe as describe_deaths
from mqtui.brokers.rabbitmq.deaths import first_death
from mqtui.brokers.rabbitmq.http import QUEUE_COLUMNS, ManagementAPI, quote_segment
from mqtui.brokers.rabbitmq.journal import RequeueJournal, journal_path
from mqtui.brokers.rabbitmq.names import Naming, QueueRef
from mqtui.brokers.rabbitmq.server import IDENTITY_COLUMNS, NODE_COLUMNS, OVERVIEW_COLUMNS, SERVER_VIEW, server_detail
from mqtui.brokers.rabbitmq.shovel import ShovelStatus, definition, parse_status, shovel_name
from mqtui.brokers.rabbitmq.tail import END, TRACE_EXCHANGE, Binding, TailSource, TailThread
from mqtui.brokers.rabbitmq.topology import (
    DlqInfo,
    dead_letter_map,
    dead_letter_sources,
    parse_version,
    read_hazard,
    routes_by_source,
)
from mqtui.config import BrokerConfig, RabbitMQConfig
from mqtui.dlqnames import dlq_origin, rules_for
from mqtui.errors import BrokerError, BrokerUnavailable, NotFound, Unsupported, UsageError
from mqtui.model import (
    BacklogRow,
    Capability,
    DeadLetter,
    DeadLetterQueue,
    Destination,
    DestinationKind,
    Detail,
    DetailSection,
    Message,
    OutgoingMessage,
    ProgressCallback,
    PublishResult,
    ReplayItem,
    ReplayResult,
    StartPosition,
)

T = TypeVar("T")

#: Seconds without a message after which a tail with `stop_at_end` ends.
STOP_AT_END_IDLE = 1.0
CONSUMERS_GROUP = "(consumers)"
#: Seconds between looks at a moving shovel, and without progress after which mqtui stops following it.
MOVE_POLL = 0.25
MOVE_STALL = 60.0
FIREHOSE = "firehose:"
EXCHANGE_TARGET = "exchange:"
DEFAULT_EXCHANGE_NAME = "(AMQP default)"

#: Queue arguments worth a column, with the label they get in `Destination.extra`.
SHOWN_ARGUMENTS = {
    "x-dead-letter-exchange": "dlx",
    "x-dead-letter-routing-key": "dl-routing-key",
    "x-message-ttl": "ttl-ms",
    "x-max-length": "max-length",
    "x-max-length-bytes": "max-length-bytes",
    "x-overflow": "overflow",
    "x-delivery-limit": "delivery-limit",
    "x-expires": "expires-ms",
    "x-single-active-consumer": "single-active-consumer",
}
PUBLISH_OPTIONS = (
    "exchange",
    "routing_key",
    "content_type",
    "content_encoding",
    "message_id",
    "correlation_id",
    "reply_to",
    "expiration",
    "priority",
    "type",
    "app_id",
    "persistent",
    "mandatory",
)


def _seen(outcome: asyncio.Future[Any]) -> None:
    """Mark a job's outcome as retrieved. A job given up on (the broker hung) still ends later with
    Cancelled() or the connection's error; unread, asyncio logs it with its traceback when the future
    is collected, from whatever thread collects it ("Future exception was never retrieved")."""
    if not outcome.cancelled():
        outcome.exception()


@dataclass
class _QueueListing:
    """One listing of every queue, shared by the calls of one poll; its dead-letter map is worked out once."""

    rows: list[dict[str, Any]]
    dlqs: asyncio.Future[dict[tuple[str, str], DlqInfo]] | None = None


class RabbitMQAdapter(BrokerAdapter):
    kind = "rabbitmq"
    capabilities: ClassVar[Capability] = (
        Capability.TAIL
        | Capability.PEEK
        | Capability.PUBLISH
        | Capability.REPLAY
        | Capability.DELETE_DEAD_LETTER
        | Capability.PURGE
        | Capability.MOVE_QUEUE
    )
    replay_verb = "requeue"

    def __init__(self, config: BrokerConfig) -> None:
        super().__init__(config)
        assert isinstance(config, RabbitMQConfig)
        self.endpoint = Endpoint.from_config(config)
        self.api = ManagementAPI(
            config.name,
            self.endpoint.management_url,
            self.endpoint.management_username,
            self.endpoint.management_password,
            timeout=config.timeout,
            ssl_context=self.endpoint.ssl_context,
        )
        self.naming = Naming(self.endpoint.home_vhost)
        self._rules = rules_for("rabbitmq", config.dlq_patterns)
        self._http_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix=f"mqtui-rabbitmq-http-{config.name}")
        self._session: AmqpSession | None = None
        self._tails: set[TailThread] = set()
        self._listing_task: asyncio.Future[_QueueListing] | None = None
        self.overview: Mapping[str, Any] = {}
        """What /api/overview said at connect: version, cluster and node names (IDENTITY_COLUMNS)."""
        self.version: tuple[int, ...] = ()
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------------------
    async def connect(self) -> None:
        listed, overview = await asyncio.gather(
            self._get("/api/vhosts", {"columns": "name"}),
            self._get("/api/overview", {"columns": ",".join(IDENTITY_COLUMNS)}),
        )
        self.overview = overview if isinstance(overview, Mapping) else {}
        self.version = parse_version(self.overview.get("rabbitmq_version"))
        vhosts = {text(v.get("name")) for v in listed or ()}
        if self.naming.home not in vhosts:
            raise NotFound(
                f"{self.name}: vhost {self.naming.home!r} not found or not open to user {self.api.username!r}"
            )
        self.naming.update(vhosts)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._listing_task is not None:
            self._listing_task.cancel()
        for tail in list(self._tails):
            tail.stop()
        session, self._session = self._session, None
        if session is not None:
            closing = session.worker.submit(session.close_all)
            session.worker.stop()
            with contextlib.suppress(Exception):  # a dead broker cannot refuse a close
                await asyncio.wait_for(asyncio.wrap_future(closing), timeout=2.0)
        self._http_pool.shutdown(wait=False, cancel_futures=True)

    # -- plumbing ----------------------------------------------------------------------------------
    async def _get(self, path: str, params: Mapping[str, str | int] | None = None, *, what: str | None = None) -> Any:
        return await self._send("GET", path, params=params, what=what)

    async def _send(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: Mapping[str, str | int] | None = None,
        what: str | None = None,
    ) -> Any:
        """A management API request on the HTTP worker threads."""
        loop = asyncio.get_running_loop()
        call = functools.partial(self.api.request, method, path, params, body=body, what=what)
        try:
            return await loop.run_in_executor(self._http_pool, call)
        except RuntimeError:  # the pool was shut down by close()
            raise BrokerUnavailable(f"{self.name}: the connection was closed") from None

    async def _queue(self, ref: QueueRef) -> dict[str, Any]:
        path = f"/api/queues/{quote_segment(ref.vhost)}/{quote_segment(ref.name)}"
        return await self._get(path, what=f"queue {self.naming.display(ref.vhost, ref.name)!r}")

    async def _queue_bindings(self, ref: QueueRef) -> list[dict[str, Any]]:
        path = f"/api/queues/{quote_segment(ref.vhost)}/{quote_segment(ref.name)}/bindings"
        return await self._get(path, what=f"queue {self.naming.display(ref.vhost, ref.name)!r}") or []

    async def _listing(self, path: str, columns: tuple[str, ...]) -> list[dict[str, Any]]:
        """Every row of a paged listing: the first page, then the others side by side."""
        loop = asyncio.get_running_loop()

        async def page(number: int) -> Any:
            call = functools.partial(self.api.paged, path, columns, number)
            try:
                return await loop.run_in_executor(self._http_pool, call)
            except RuntimeError:
                raise BrokerUnavailable(f"{self.name}: the connection was closed") from None

        first = await page(1) or {}
        pages = [first, *await asyncio.gather(*(page(n) for n in range(2, int(first.get("page_count") or 1) + 1)))]
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for answer in pages:
            for row in (answer or {}).get("items") or ():
                rows.setdefault((text(row.get("vhost")), text(row.get("name"))), row)
        self.naming.update({vhost for vhost, _ in rows})
        return list(rows.values())

    async def _queue_listing(self) -> _QueueListing:
        """Every queue (QUEUE_COLUMNS), one listing shared by the callers that ask while it runs.

        The poller asks for destinations, backlog and DLQs at the same moment; they wait for the same
        pages. A caller arriving after a listing ended starts a new one: no answer is cached beyond it.
        """
        task = self._listing_task
        if task is None or task.done():

            async def list_queues() -> _QueueListing:
                return _QueueListing(await self._listing("/api/queues", QUEUE_COLUMNS))

            task = self._listing_task = asyncio.ensure_future(list_queues())
            task.add_done_callback(_retrieve)
        return await asyncio.shield(task)

    async def _listing_dlqs(self, listing: _QueueListing) -> dict[tuple[str, str], DlqInfo]:
        if listing.dlqs is None:
            listing.dlqs = asyncio.ensure_future(self._dead_letter_map(listing.rows))
            listing.dlqs.add_done_callback(_retrieve)
        return await asyncio.shield(listing.dlqs)

    def _control(self) -> AmqpSession:
        if self._closed:
            raise BrokerUnavailable(f"{self.name}: the connection was closed")
        if self._session is None or self._session.abandoned:
            self._session = AmqpSession(self.endpoint)
        return self._session

    async def _amqp(
        self,
        vhost: str,
        job: Callable[[BlockingChannel, Progress], T],
        *,
        dedicated: bool = False,
        patience: float | None = None,
    ) -> T:
        """Run `job` with a fresh channel on the worker thread, watching that it keeps making progress.

        The broker is called unresponsive when the job goes `patience` seconds (default: the profile's
        timeout) without a step. `dedicated` jobs (requeue, delete) get their own thread and
        connection, so a long requeue does not hold up a publish on the shared one.
        """
        session = AmqpSession(self.endpoint) if dedicated else self._control()
        progress = Progress()
        future = session.worker.submit(lambda: session.run(vhost, lambda channel: job(channel, progress), progress))
        waiter = asyncio.wrap_future(future)
        waiter.add_done_callback(_seen)  # an abandoned job's Cancelled() must not be logged when collected
        limit = (patience or self.config.timeout) + 1.0
        try:
            while True:
                done, _ = await asyncio.wait({waiter}, timeout=0.2)
                if done:
                    try:
                        return waiter.result()
                    except Cancelled:
                        raise BrokerUnavailable(f"{self.name}: the operation was abandoned") from None
                if not progress.started:
                    if session.abandoned:
                        raise BrokerUnavailable(f"{self.name}: no answer from RabbitMQ within {self.config.timeout:g}s")
                    continue
                if time.monotonic() - progress.last > limit:
                    progress.cancel()
                    session.abandoned = True
                    session.worker.stop()  # the thread ends once its stuck call returns or fails
                    if self._session is session:
                        self._session = None
                    raise BrokerUnavailable(f"{self.name}: no answer from RabbitMQ within {limit - 1:g}s")
        except asyncio.CancelledError:
            progress.cancel()
            raise
        finally:
            if dedicated:
                session.worker.submit(session.close_all)
                session.worker.stop()

    def _display(self, vhost: str, name: str) -> str:
        return self.naming.display(vhost, name)

    # -- reading -----------------------------------------------------------------------------------
    async def destinations(self, *, include_internal: bool = False) -> list[Destination]:
        listing = await self._queue_listing()
        dlqs = await self._listing_dlqs(listing)
        found = []
        for row in listing.rows:
            vhost, name = text(row.get("vhost")), text(row.get("name"))
            if name.startswith("amq.") and not include_internal:
                continue
            found.append(self._destination(row, dlqs.get((vhost, name))))
        if include_internal:
            found.extend(await self._exchanges())
        return sorted(found, key=lambda d: (d.kind != DestinationKind.EXCHANGE, d.name))

    def _destination(self, row: Mapping[str, Any], dlq: DlqInfo | None) -> Destination:
        vhost, name = text(row.get("vhost")), text(row.get("name"))
        queue_type = text(row.get("type")) or "classic"
        stats = row.get("message_stats") or {}
        extra = {"type": queue_type, "vhost": vhost, "state": text(row.get("state"))}
        extra["ready"] = str(_int(row.get("messages_ready")))
        arguments = row.get("arguments") or {}
        policy = row.get("effective_policy_definition") or {}
        for argument, label in SHOWN_ARGUMENTS.items():
            value = arguments.get(argument, policy.get(argument.removeprefix("x-")))
            if value is not None:
                extra[label] = _show(value)
        if row.get("policy"):
            extra["policy"] = text(row.get("policy"))
        ack_rate = _rate(stats, "ack_details")
        if ack_rate is not None:
            extra["ack/s"] = f"{ack_rate:g}"
        if dlq is not None:
            extra["dlq-of"] = ", ".join(sorted(dlq.origins)) or "-"
        return Destination(
            broker=self.name,
            name=self._display(vhost, name),
            kind=DestinationKind.STREAM if queue_type == "stream" else DestinationKind.QUEUE,
            depth=_int(row.get("messages")),
            in_flight=_int(row.get("messages_unacknowledged")),
            consumers=_int(row.get("consumers")),
            rate_in=_rate(stats, "publish_details"),
            rate_out=_rate(stats, "deliver_get_details"),
            is_dlq=dlq is not None,
            internal=name.startswith("amq."),
            last_activity=_last_activity(row, queue_type),
            extra=extra,
        )

    async def _exchanges(self) -> list[Destination]:
        columns = (
            "name",
            "vhost",
            "type",
            "internal",
            "durable",
            "message_stats.publish_in_details.rate",
            "message_stats.publish_out_details.rate",
        )
        found = []
        for row in await self._listing("/api/exchanges", columns):
            vhost, name = text(row.get("vhost")), text(row.get("name"))
            stats = row.get("message_stats") or {}
            found.append(
                Destination(
                    broker=self.name,
                    name=self._display(vhost, name or DEFAULT_EXCHANGE_NAME),
                    kind=DestinationKind.EXCHANGE,
                    rate_in=_rate(stats, "publish_in_details"),
                    rate_out=_rate(stats, "publish_out_details"),
                    internal=not name or name.startswith("amq.") or bool(row.get("internal")),
                    extra={"type": text(row.get("type")), "vhost": vhost},
                )
            )
        return found

    async def describe(self, destination: str) -> Detail:
        """A queue's details, or with `$server` the server view (a queue of that name is shadowed)."""
        if destination == SERVER_VIEW:
            return await self.server_view()
        ref = self.naming.parse(destination)
        row, bindings = await asyncio.gather(self._queue(ref), self._queue_bindings(ref))
        stats = row.get("message_stats") or {}
        summary = [
            ("vhost", ref.vhost),
            ("type", text(row.get("type")) or "classic"),
            ("state", text(row.get("state"))),
            ("durable", _show(row.get("durable"))),
            ("auto delete", _show(row.get("auto_delete"))),
            ("exclusive", _show(row.get("exclusive"))),
            ("messages", str(_int(row.get("messages")))),
            ("ready", str(_int(row.get("messages_ready")))),
            ("unacked", str(_int(row.get("messages_unacknowledged")))),
            ("consumers", str(_int(row.get("consumers")))),
            ("policy", text(row.get("policy")) or "-"),
            ("node", text(row.get("node")) or "-"),
        ]
        for label, key in (
            ("publish/s", "publish_details"),
            ("deliver/s", "deliver_get_details"),
            ("ack/s", "ack_details"),
        ):
            rate = _rate(stats, key)
            summary.append((label, "-" if rate is None else f"{rate:g}"))
        arguments = row.get("arguments") or {}
        sections = [
            DetailSection("Arguments", ("ARGUMENT", "VALUE"), tuple((text(k), _show(v)) for k, v in arguments.items())),
            DetailSection(
                "Bindings",
                ("EXCHANGE", "ROUTING KEY", "ARGUMENTS"),
                tuple(
                    (
                        text(b.get("source")) or DEFAULT_EXCHANGE_NAME,
                        text(b.get("routing_key")),
                        _show(b.get("arguments") or {}),
                    )
                    for b in bindings
                ),
            ),
            DetailSection(
                "Consumers",
                ("TAG", "CHANNEL", "PREFETCH", "ACK", "EXCLUSIVE", "ACTIVE"),
                tuple(
                    (
                        text(c.get("consumer_tag")),
                        text((c.get("channel_details") or {}).get("name")),
                        _prefetch(c.get("prefetch_count")),
                        "manual" if c.get("ack_required") else "auto",
                        _show(c.get("exclusive")),
                        _show(c.get("active", True)),
                    )
                    for c in row.get("consumer_details") or ()
                ),
            ),
        ]
        return Detail(self.name, self._display(ref.vhost, ref.name), tuple(summary), tuple(sections))

    async def server_view(self) -> Detail:
        """Version, cluster, rates, totals, nodes and listeners (see `server`)."""
        overview, nodes, shovel = await asyncio.gather(
            self._get("/api/overview", {"columns": ",".join(OVERVIEW_COLUMNS)}),
            self._get("/api/nodes", {"columns": ",".join(NODE_COLUMNS)}),
            self.shovel_enabled(),
        )
        return server_detail(self.name, overview or {}, nodes or [], shovel)

    async def shovel_enabled(self) -> bool:
        """Whether the shovel plugin answers (its management part lists shovels at /api/shovels)."""
        try:
            await self._get("/api/shovels", {"columns": "name"})
        except NotFound:
            return False
        return True

    async def backlog(self, *, group: str | None = None) -> list[BacklogRow]:
        """One row per queue: lag = ready, in flight = unacked, members = its consumers with prefetch.

        `group` names a queue. Every row's group is "(consumers)", so a row keeps its identity while
        consumers come and go; queues without consumers are listed too (they are the worst lag).
        """
        if group is not None:
            ref = self.naming.parse(group)
            try:
                row = await self._queue(ref)
            except NotFound:
                return []
            return [self._backlog_row(row, row.get("consumer_details") or [])]
        listing, consumers = await asyncio.gather(
            self._queue_listing(),
            self._get(
                "/api/consumers", {"columns": "queue,consumer_tag,prefetch_count,ack_required,channel_details.name"}
            ),
        )
        by_queue: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for consumer in consumers or ():
            queue = consumer.get("queue") or {}
            by_queue.setdefault((text(queue.get("vhost")), text(queue.get("name"))), []).append(consumer)
        return [
            self._backlog_row(row, by_queue.get((text(row.get("vhost")), text(row.get("name"))), []))
            for row in listing.rows
            if not text(row.get("name")).startswith("amq.")
        ]

    def _backlog_row(self, row: Mapping[str, Any], consumers: Iterable[Mapping[str, Any]]) -> BacklogRow:
        vhost, name = text(row.get("vhost")), text(row.get("name"))
        queue_type = text(row.get("type")) or "classic"
        count = _int(row.get("consumers"))
        members = tuple(
            f"{text(c.get('consumer_tag'))} prefetch={_prefetch(c.get('prefetch_count'))} "
            f"{'manual' if c.get('ack_required') else 'auto'}-ack"
            for c in consumers
        )
        if queue_type == "stream":
            lag, state = None, "stream (reader offsets not reported)"
        else:
            lag, state = _int(row.get("messages_ready")), "consuming" if count else "no consumers"
        return BacklogRow(
            broker=self.name,
            destination=self._display(vhost, name),
            group=CONSUMERS_GROUP,
            end=_int(row.get("messages")),
            lag=lag,
            in_flight=_int(row.get("messages_unacknowledged")),
            consumers=count,
            state=state,
            last_activity=_last_activity(row, queue_type),
            members=members,
        )

    async def tail(
        self,
        destination: str,
        *,
        start: StartPosition,
        stop_at_end: bool = False,
    ) -> AsyncIterator[Sequence[Message]]:
        """Batches of messages flowing into `destination`, read without taking them from anyone.

        See the module docstring for the three ways (copy, stream offset, firehose).
        """
        vhost, source = await self._tail_source(destination, start)
        thread = TailThread(
            self.endpoint,
            vhost,
            source,
            loop=asyncio.get_running_loop(),
            idle_stop=STOP_AT_END_IDLE if stop_at_end else None,
        )
        self._tails.add(thread)
        thread.start()
        try:
            while True:
                item = await thread.out.get()
                if item is END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item  # type: ignore[misc]
        finally:
            thread.stop()
            self._tails.discard(thread)
            await asyncio.to_thread(thread.join, 2.0)

    async def _tail_source(self, destination: str, start: StartPosition) -> tuple[str, TailSource]:
        if destination.startswith(FIREHOSE):
            return await self._firehose_source(destination, start)
        ref = self.naming.parse(destination)
        row = await self._queue(ref)
        display = self._display(ref.vhost, ref.name)
        if text(row.get("type")) == "stream":
            return ref.vhost, TailSource("stream", display, queue=ref.name, offset=self._stream_offset(start))
        if start.kind != "end":
            raise Unsupported(
                f"{self.name}: a tail of {display!r} only shows new messages (it is not a stream); "
                "peek shows those already queued"
            )
        bindings = tuple(
            Binding(text(b.get("source")), text(b.get("routing_key")), b.get("arguments") or {})
            for b in await self._queue_bindings(ref)
            if text(b.get("source"))
        )
        if not bindings:
            raise Unsupported(
                f"{self.name}: {display!r} is only bound to the default exchange, and what is published "
                f"straight to a queue cannot be copied: peek at it, or tail {FIREHOSE}{display} after "
                f"`rabbitmqctl trace_on -p {ref.vhost}`"
            )
        return ref.vhost, TailSource("copy", display, bindings=bindings)

    def _stream_offset(self, start: StartPosition) -> Any:
        if start.kind == "beginning":
            return "first"
        if start.kind == "end":
            return "next"
        if start.kind == "time" and start.time is not None:
            return start.time
        if isinstance(start.offset, int):
            return start.offset
        raise Unsupported(f"{self.name}: a stream offset is a number, not {start.offset!r}")

    async def _firehose_source(self, destination: str, start: StartPosition) -> tuple[str, TailSource]:
        watched = destination[len(FIREHOSE) :]
        if start.kind != "end":
            raise Unsupported(f"{self.name}: the firehose only shows new messages (--from end)")
        ref = self.naming.parse(watched) if watched else QueueRef(self.naming.home, "")
        if watched:
            await self._queue(ref)
        vhost = await self._get(f"/api/vhosts/{quote_segment(ref.vhost)}", what=f"vhost {ref.vhost!r}")
        if not (vhost or {}).get("tracing"):
            raise Unsupported(
                f"{self.name}: firehose tracing is off on vhost {ref.vhost!r}: turn it on with "
                f"`rabbitmqctl trace_on -p {ref.vhost}` (it slows the broker; trace_off when done)"
            )
        source = TailSource(
            "firehose",
            destination,
            bindings=(Binding(TRACE_EXCHANGE, "publish.#"),),
            queue=ref.name or None,
        )
        return ref.vhost, source

    async def peek(self, destination: str, *, limit: int = 10) -> list[Message]:
        """basic.get without ack, then one nack with requeue: the messages are marked redelivered."""
        ref = self.naming.parse(destination)
        display = self._display(ref.vhost, ref.name)

        def job(channel: BlockingChannel, progress: Progress) -> list[Message]:
            found: list[Message] = []
            last = None
            try:
                for _ in range(limit):
                    method, properties, body = channel.basic_get(ref.name, auto_ack=False)
                    progress.check()
                    if method is None:
                        break
                    last = method.delivery_tag
                    found.append(
                        to_message(
                            self.name,
                            display,
                            method.delivery_tag,
                            properties,
                            body,
                            exchange=method.exchange,
                            routing_key=method.routing_key,
                            redelivered=method.redelivered,
                        )
                    )
            finally:
                if last is not None and channel.is_open:
                    channel.basic_nack(last, multiple=True, requeue=True)
            return found

        return await self._amqp(ref.vhost, job)

    # -- writing -----------------------------------------------------------------------------------
    async def publish(
        self,
        destination: str,
        messages: Sequence[OutgoingMessage],
        *,
        options: PublishOptions | None = None,
    ) -> PublishResult:
        """Publish with confirms. Options: see PUBLISH_OPTIONS.

        Without `exchange`, messages go through the default exchange to the queue `destination`. With
        one, the routing key is `routing_key`, else the message key, else `destination`'s queue name.
        Messages are persistent (`persistent=false` to change) and mandatory (`mandatory=false`):
        those no queue took are counted in `unroutable`.
        """
        settings = _publish_settings(self.name, options or {})
        ref = self.naming.parse(destination)
        exchange = settings.pop("exchange", "")
        fixed_key = settings.pop("routing_key", None)
        mandatory = settings.pop("mandatory", True)
        persistent = settings.pop("persistent", True)

        def job(channel: BlockingChannel, progress: Progress) -> PublishResult:
            channel.confirm_delivery()
            sent = unroutable = 0
            failed: list[tuple[int, str]] = []
            for index, message in enumerate(messages):
                progress.check()
                routing_key = fixed_key
                if routing_key is None:
                    routing_key = message.key.decode("utf-8", "replace") if exchange and message.key else ref.name
                properties = pika.BasicProperties(
                    delivery_mode=2 if persistent else 1,
                    timestamp=int(time.time()),
                    headers={k: outgoing_header(v) for k, v in message.headers} or None,
                    **settings,
                )
                try:
                    channel.basic_publish(exchange, routing_key, message.value, properties, mandatory=mandatory)
                    sent += 1
                except pika.exceptions.UnroutableError:
                    unroutable += 1
                except pika.exceptions.NackError:
                    failed.append((index, "the broker refused the message (nack)"))
                except pika.exceptions.AMQPConnectionError as exc:
                    if index == 0:
                        raise
                    raise BrokerUnavailable(
                        f"{self.name}: connection lost after {sent} of {len(messages)} message(s) were confirmed"
                    ) from exc
            return PublishResult(sent=sent, failed=tuple(failed), unroutable=unroutable)

        return await self._amqp(ref.vhost, job)

    async def purge(self, destination: str) -> int:
        ref = self.naming.parse(destination)

        def job(channel: BlockingChannel, progress: Progress) -> int:
            return int(channel.queue_purge(ref.name).method.message_count)

        # Purging millions of messages takes the broker a while: that is not a hang.
        return await self._amqp(ref.vhost, job, patience=max(self.config.timeout, 120.0))

    # -- dead letters ------------------------------------------------------------------------------
    async def _dead_letter_map(self, rows: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], DlqInfo]:
        """Which queues receive dead letters: every exchange and binding of each vhost with a DLX, read once."""
        vhosts = sorted({vhost for vhost, _, dlx, _ in dead_letter_sources(rows) if dlx})

        async def topology(vhost: str) -> tuple[dict[str, str], dict[str, Any]]:
            segment = quote_segment(vhost)
            try:
                exchanges, bindings = await asyncio.gather(
                    self._get(f"/api/exchanges/{segment}", {"columns": "name,type"}),
                    self._get(f"/api/bindings/{segment}", {"columns": BINDING_COLUMNS}),
                )
            except NotFound:  # the vhost went away since the listing
                return {}, {}
            types = {text(e.get("name")): text(e.get("type")) for e in exchanges or ()}
            return types, routes_by_source(bindings or ())

        answers = await asyncio.gather(*(topology(vhost) for vhost in vhosts))
        types = {vhost: answer[0] for vhost, answer in zip(vhosts, answers, strict=True)}
        routes = {vhost: answer[1] for vhost, answer in zip(vhosts, answers, strict=True)}
        return dead_letter_map(rows, types, routes, display=self._display, rules=self._rules)

    async def dead_letter_queues(self) -> list[DeadLetterQueue]:
        listing = await self._queue_listing()
        dlqs = await self._listing_dlqs(listing)
        found = []
        for row in listing.rows:
            vhost, name = text(row.get("vhost")), text(row.get("name"))
            info = dlqs.get((vhost, name))
            if info is None:
                continue
            found.append(
                DeadLetterQueue(
                    broker=self.name,
                    name=self._display(vhost, name),
                    kind=DestinationKind.STREAM if row.get("type") == "stream" else DestinationKind.QUEUE,
                    origin=", ".join(sorted(info.origins)) or None,
                    count=_int(row.get("messages")),
                    detected_by=info.detected_by,
                    read_hazard=read_hazard(row, self.version),
                )
            )
        return sorted(found, key=lambda q: q.name)

    async def read_hazard(self, dlq: str) -> str | None:
        """Whether reading `dlq` costs its messages a delivery (see `topology.read_hazard`)."""
        ref = self.naming.parse(dlq)
        path = f"/api/queues/{quote_segment(ref.vhost)}/{quote_segment(ref.name)}"
        columns = {"columns": "type,arguments,effective_policy_definition"}
        row = await self._get(path, columns, what=f"queue {self._display(ref.vhost, ref.name)!r}")
        return read_hazard(row or {}, self.version)

    async def dead_letters(self, dlq: str, *, limit: int = 100) -> list[DeadLetter]:
        """The first `limit` dead letters, read with manual ack and all nacked back (depth unchanged).

        DeadLetter.id is a digest of body, ids and x-death entries (`rabbitmq_deaths.dead_letter_id`).
        """
        ref = self.naming.parse(dlq)
        display = self._display(ref.vhost, ref.name)
        fallback = dlq_origin(ref.name, self._rules)
        idle = min(self.config.timeout, 2.0)

        def job(channel: BlockingChannel, progress: Progress) -> list[DeadLetter]:
            letters = requeue_ops.browse(channel, ref.name, limit, progress, idle)
            return [self._dead_letter(ref.vhost, display, letter, fallback) for letter in letters]

        return await self._amqp(ref.vhost, job)

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
            origin=self._display(vhost, origin_queue) if origin_queue else None,
            reason=newest.reason if newest else first.get("first_death_reason"),
            attempts=newest.count if newest else None,
            first_failure=min(times) if times else None,
            # An entry's time stays its first: after a second death in the same queue it is not the last.
            last_failure=newest.time if newest and newest.count <= 1 else None,
            extra=extra,
        )

    async def _resolver(
        self, ref: QueueRef, to: str | None
    ) -> Callable[[requeue_ops.Delivery], requeue_ops.Target | str]:
        """How each dead letter of `ref` finds its target; checks `to` exists first (NotFound)."""
        if to is None:

            def to_origin(letter: requeue_ops.Delivery) -> requeue_ops.Target | str:
                if not letter.deaths or not letter.deaths[0].queue:
                    return "no x-death header names its origin: requeue it with --to QUEUE"
                queue = letter.deaths[0].queue
                return requeue_ops.Target("", queue, self._display(ref.vhost, queue))

            return to_origin
        if to.startswith(EXCHANGE_TARGET):
            named = to[len(EXCHANGE_TARGET) :]
            if named:
                await self._get(
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
        target = self.naming.parse(to)
        if target.vhost != ref.vhost:
            raise Unsupported(f"{self.name}: requeue stays within the DLQ's vhost {ref.vhost!r}")
        await self._queue(target)
        fixed = requeue_ops.Target("", target.name, self._display(target.vhost, target.name))
        return lambda _letter: fixed

    async def plan_replay(
        self,
        dlq: str,
        *,
        to: str | None = None,
        ids: Collection[str] | None = None,
        limit: int | None = None,
    ) -> list[ReplayItem]:
        """Reads (and returns) the dead letters a requeue would move: at most 65,535 are previewed."""
        ref = self.naming.parse(dlq)
        resolve = await self._resolver(ref, to)
        wanted = set(ids) if ids else None
        idle = min(self.config.timeout, 2.0)

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

        return await self._amqp(ref.vhost, job, dedicated=True)

    async def replay(
        self,
        dlq: str,
        *,
        to: str | None = None,
        ids: Collection[str] | None = None,
        limit: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> ReplayResult:
        """Requeue: publish with confirms, then ack; see `requeue` for what survives a crash.

        Dead letters are consumed with a prefetch, except from a DLQ whose reads count as deliveries
        (`read_hazard`): there each is one basic.get, so none is sent ahead and handed back for nothing.

        Headers `x-mqtui-requeue-count` and `x-mqtui-requeued-at` record each requeue on the message.
        `duplicates` counts messages published again after an interrupted run had published them
        without getting the confirm: the first copy may have reached the target.
        """
        ref = self.naming.parse(dlq)
        resolve, hazard = await asyncio.gather(self._resolver(ref, to), self.read_hazard(dlq))
        path = journal_path(self.name, self.endpoint.host, self.endpoint.port, ref.vhost, ref.name)
        prefetch = 0 if hazard else requeue_ops.PREFETCH
        idle = min(self.config.timeout, 2.0)

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

        return await self._amqp(ref.vhost, job, dedicated=True)

    async def delete_dead_letters(self, dlq: str, ids: Collection[str]) -> int:
        ref = self.naming.parse(dlq)

        def job(channel: BlockingChannel, progress: Progress) -> int:
            return requeue_ops.delete(channel, ref.name, ids, progress)

        return await self._amqp(ref.vhost, job, dedicated=True)

    # -- whole-queue move (rabbitmq_shovel) --------------------------------------------------------
    async def plan_move(self, source: str, *, to: str) -> int:
        ref, _target, _refuses = await self._check_move(source, to)
        ready, _consumers = await self._declared(ref)
        return ready

    async def _check_move(self, source: str, to: str) -> tuple[QueueRef, QueueRef, bool]:
        """The source and target queues, once the move is known to be possible, and whether the target
        can refuse messages (an overflow of reject-publish). The source's existence is checked by the
        passive declare that counts it."""
        ref, target = self.naming.parse(source), self.naming.parse(to)
        if target.vhost != ref.vhost:
            raise Unsupported(f"{self.name}: a move stays within the queue's vhost {ref.vhost!r}")
        if target.name == ref.name:
            raise UsageError(f"{self.name}: {to!r} is the queue being moved")
        if not await self.shovel_enabled():
            raise Unsupported(
                f"{self.name}: the shovel plugin is not enabled (rabbitmq-plugins enable rabbitmq_shovel "
                "rabbitmq_shovel_management); dlq replay --to moves messages through mqtui instead"
            )
        row = await self._queue(target)  # the shovel would declare a missing one, as a plain classic queue
        arguments, policy = row.get("arguments") or {}, row.get("effective_policy_definition") or {}
        overflow = str(arguments.get("x-overflow") or policy.get("overflow") or "")
        return ref, target, overflow.startswith("reject-publish")

    async def move_queue(self, source: str, *, to: str, progress: ProgressCallback | None = None) -> ReplayResult:
        """Start a shovel that moves what `source` holds now to `to`, and follow it until it deletes itself.

        The shovel runs on the broker: when mqtui stops following it (stopped, or no progress for
        `MOVE_STALL` seconds) it goes on, and the result says so. See `rabbitmq_shovel` for what a move
        keeps and what it does not.
        """
        ref, target, refuses = await self._check_move(source, to)
        total, consumers = await self._declared(ref)
        if total == 0:
            return ReplayResult()
        move = _Move(ref, self.naming.display(ref.vhost, ref.name), shovel_name(ref.name, time.time()), total,
                     consumers, refuses, progress)  # fmt: skip
        what = "shovel parameters (creating one needs the policymaker tag)"
        await self._send("PUT", f"/api/parameters/shovel/{move.path}",
                         {"value": definition(ref.vhost, ref.name, target.name)}, what=what)  # fmt: skip
        try:
            return await self._follow_move(move)
        except BrokerError as exc:
            raise type(exc)(f"{exc}; shovel {move.name} was started and goes on moving on the broker") from None

    async def _follow_move(self, move: _Move) -> ReplayResult:
        moved, last_change, total = 0, time.monotonic(), move.total
        while True:
            await asyncio.sleep(MOVE_POLL)
            try:
                await self._get(f"/api/parameters/shovel/{move.path}", what=f"shovel {move.name!r}")
            except NotFound:  # src-delete-after reached: the shovel deleted itself
                return await self._moved(move)
            status, row = await asyncio.gather(self._shovel_status(move.path), self._queue(move.ref))
            sampled = row.get("messages_ready")  # absent until the statistics have a first sample
            now_moved = moved if sampled is None else max(0, min(total, total - _int(sampled)))
            if now_moved != moved:
                moved, last_change = now_moved, time.monotonic()
                move.report(moved)
            if status.state == "terminated":
                with contextlib.suppress(NotFound):
                    await self._send("DELETE", f"/api/parameters/shovel/{move.path}", what=f"shovel {move.name!r}")
                left = min(total, (await self._declared(move.ref))[0])
                reason = f": {status.reason}" if status.reason else ""
                return ReplayResult(sent=total - left, failed=left, errors=(
                    f"{self.name}: shovel {move.name} stopped{reason}; it was deleted, {left:,} message(s) are in "
                    f"{move.display} (those it did not move, and any dead-lettered since)",
                ))  # fmt: skip
            if time.monotonic() - last_change > MOVE_STALL:
                return ReplayResult(sent=moved, failed=total - moved, errors=(
                    f"{self.name}: shovel {move.name} moved nothing for {MOVE_STALL:g}s; it is still on the broker "
                    "(management UI: Admin > Shovel Status) and moves the rest when it can",
                ))  # fmt: skip

    async def _moved(self, move: _Move) -> ReplayResult:
        """What a finished shovel moved. It deletes itself after confirmed transfers of the source's
        length at its start, so that many moved, except into a target that refuses publishes (a full
        queue with reject-publish): RabbitMQ 3.10 counts a refused message too and leaves it in the
        source. Then the source is counted again, once the shovel's consumer is gone and what it held
        unacked is back, and what is there is taken as refused: a lower bound on what moved, since
        letters dead-lettered meanwhile land there too."""
        total = move.total
        deadline = time.monotonic() + self.config.timeout
        left, consumers = await self._declared(move.ref)
        while consumers > move.consumers and time.monotonic() < deadline:
            await asyncio.sleep(MOVE_POLL)
            left, consumers = await self._declared(move.ref)
        if not move.refuses:
            move.report(total)
            arrived = (f"{self.name}: {left:,} message(s) are in {move.display} after the move: dead-lettered while it "
                       "ran (new ones, or moved ones that failed again)",)  # fmt: skip
            return ReplayResult(sent=total, errors=arrived if left else ())
        left = min(total, left)
        move.report(total - left)
        if not left:
            return ReplayResult(sent=total)
        return ReplayResult(sent=total - left, failed=left, errors=(
            f"{self.name}: shovel {move.name} ended with {left:,} message(s) in {move.display}: refused by the "
            "destination, which rejects publishes when full (or dead-lettered during the move); nothing was "
            "lost, move again to retry",
        ))  # fmt: skip

    async def _declared(self, ref: QueueRef) -> tuple[int, int]:
        """(messages ready, consumers) now, exactly (a passive declare; the management API samples)."""

        def counts(channel: BlockingChannel, _progress: Progress) -> tuple[int, int]:
            method = channel.queue_declare(ref.name, passive=True).method
            return int(method.message_count), int(method.consumer_count)

        return await self._amqp(ref.vhost, counts)

    async def _shovel_status(self, path: str) -> ShovelStatus:
        try:
            return parse_status(await self._get(f"/api/shovels/vhost/{path}"))
        except NotFound:  # defined, not started yet
            return ShovelStatus("")


# -- helpers ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Move:
    """One whole-queue move being followed: what it started from, for reading its end."""

    ref: QueueRef
    display: str
    name: str
    total: int
    """Messages ready in the source when the shovel was created."""
    consumers: int
    """Consumers of the source before the shovel's own: its end is when the count is back to this."""
    refuses: bool
    """The target rejects publishes when full (x-overflow reject-publish)."""
    progress: ProgressCallback | None

    @property
    def path(self) -> str:
        return f"{quote_segment(self.ref.vhost)}/{quote_segment(self.name)}"

    def report(self, moved: int) -> None:
        if self.progress is not None:
            self.progress(moved, self.total)


BINDING_COLUMNS = "source,destination,destination_type,routing_key"


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a shared future's failure as seen: every caller may have been cancelled before it ended."""
    if not future.cancelled():
        future.exception()


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _rate(stats: Mapping[str, Any], key: str) -> float | None:
    details = stats.get(key)
    if not isinstance(details, Mapping):
        return None
    rate = details.get("rate")
    return float(rate) if isinstance(rate, int | float) and not isinstance(rate, bool) else None


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return str(value)


def _prefetch(value: object) -> str:
    return "unlimited" if not value else str(value)


def _last_activity(row: Mapping[str, Any], queue_type: str) -> datetime | None:
    """`idle_since` when the queue is idle; RabbitMQ leaves it out while the queue is busy."""
    idle = row.get("idle_since")
    if isinstance(idle, str) and idle:
        try:
            moment = datetime.fromisoformat(idle.replace(" ", "T"))
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if queue_type == "stream":
        return None
    return datetime.now(UTC)


def _publish_settings(broker: str, options: Mapping[str, str]) -> dict[str, Any]:
    """CLI `--prop` values checked and typed; unknown keys are a usage error, not silently ignored."""
    settings: dict[str, Any] = {}
    for key, value in options.items():
        if key not in PUBLISH_OPTIONS:
            raise UsageError(f"{broker}: unknown publish property {key!r} (known: {', '.join(PUBLISH_OPTIONS)})")
        if key in ("persistent", "mandatory"):
            lowered = value.strip().lower()
            if lowered not in ("true", "false", "yes", "no", "1", "0"):
                raise UsageError(f"{broker}: {key} must be true or false, not {value!r}")
            settings[key] = lowered in ("true", "yes", "1")
        elif key == "priority":
            try:
                settings[key] = int(value)
            except ValueError:
                raise UsageError(f"{broker}: priority must be a number, not {value!r}") from None
        else:
            settings[key] = value
    return settings
