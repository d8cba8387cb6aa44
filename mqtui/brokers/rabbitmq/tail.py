"""A RabbitMQ tail: a thread with its own connection reading a private copy of a queue's traffic.

Three sources, chosen by `Tails`:

- copy: a temporary exclusive, auto-delete, server-named queue bound like the watched queue. It gets a
  copy of what the exchanges route there from now on; the watched queue and its consumers see nothing.
  It holds at most `COPY_QUEUE_LIMIT` messages (oldest dropped) so a stalled reader cannot grow it.
- stream: a stream queue read from an `x-stream-offset` (manual ack with a prefetch, as streams need;
  acking a stream delivery only moves this reader's window, it removes nothing).
- firehose: a temporary queue bound to `amq.rabbitmq.trace` (`publish.#`), keeping the messages that
  were routed to the watched queue, including those published straight to it through the default
  exchange, which no binding can copy. It needs `rabbitmqctl trace_on` on the vhost.

The thread hands batches over through an asyncio queue of size 1 and acks a batch only when the reader
has taken it, so the prefetch bounds what is held in memory; while the reader is slow it keeps the
connection's heartbeats going.

`Tails` picks the source for a destination from the management API, runs a thread per tail and
stops them all when the adapter closes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import pika
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection

from mqtui.brokers.rabbitmq.amqp import SHOWN_PROPERTIES, Endpoint, plain_value, text, to_message
from mqtui.brokers.rabbitmq.http import quote_segment
from mqtui.brokers.rabbitmq.management import Management
from mqtui.brokers.rabbitmq.names import QueueRef
from mqtui.errors import BrokerUnavailable, NotPossible
from mqtui.model import HeaderValue, Message, StartPosition

COPY_QUEUE_LIMIT = 10_000
#: Largest batch handed to the reader (and the prefetch of the tail's consumer).
BATCH_SIZE = 500
#: A partial batch is handed over once its first message is this old.
BATCH_WAIT = 0.1
TRACE_EXCHANGE = "amq.rabbitmq.trace"
#: Seconds without a message after which a tail with `stop_at_end` ends (a queue has no end offset).
STOP_AT_END_IDLE = 1.0
#: A destination `firehose:QUEUE` (or `firehose:` for every queue) is tailed from the firehose.
FIREHOSE = "firehose:"


@dataclass(frozen=True)
class Binding:
    exchange: str
    routing_key: str
    arguments: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TailSource:
    kind: Literal["copy", "stream", "firehose"]
    destination: str
    """The name shown on each message (the watched queue, as the user wrote it)."""
    bindings: tuple[Binding, ...] = ()
    queue: str | None = None
    """stream: the stream queue; firehose: keep only messages routed to this queue (None: all)."""
    offset: Any = None


class _End:
    pass


END = _End()


class TailThread:
    def __init__(
        self,
        endpoint: Endpoint,
        vhost: str,
        source: TailSource,
        *,
        loop: asyncio.AbstractEventLoop,
        idle_stop: float | None,
    ) -> None:
        self.endpoint = endpoint
        self.vhost = vhost
        self.source = source
        self.loop = loop
        self.idle_stop = idle_stop
        self.out: asyncio.Queue[Sequence[Message] | BaseException | _End] = asyncio.Queue(maxsize=1)
        self._stop = threading.Event()
        self._last_received = -1
        self._heard_at = 0.0
        self._thread = threading.Thread(target=self._run, name=f"mqtui-rabbitmq-tail-{endpoint.broker}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    # -- on the thread -----------------------------------------------------------------------------
    def _run(self) -> None:
        connection: BlockingConnection | None = None
        try:
            connection = self.endpoint.open(self.vhost, heartbeat=self._heartbeat)
            channel = connection.channel()
            queue, arguments = self._prepare(channel)
            channel.basic_qos(prefetch_count=BATCH_SIZE)
            self._consume(connection, channel, queue, arguments)
            self._put(END)
        except Exception as exc:
            self._put(self.endpoint.error(exc, f"vhost {self.vhost!r}"))
        finally:
            if connection is not None and connection.is_open:
                with contextlib.suppress(Exception):
                    connection.close()

    def _prepare(self, channel: BlockingChannel) -> tuple[str, dict[str, Any] | None]:
        source = self.source
        if source.kind == "stream":
            assert source.queue is not None
            return source.queue, {"x-stream-offset": source.offset}
        declared = channel.queue_declare(
            "", exclusive=True, auto_delete=True, arguments={"x-max-length": COPY_QUEUE_LIMIT}
        )
        queue = declared.method.queue
        for binding in source.bindings:
            channel.queue_bind(queue, binding.exchange, binding.routing_key, dict(binding.arguments) or None)
        return queue, None

    @property
    def _heartbeat(self) -> int:
        return max(2, round(self.endpoint.timeout))

    def _check_alive(self, connection: BlockingConnection, now: float) -> None:
        """A quiet tail still hears the broker's heartbeats (every half heartbeat); silence means a hang.

        pika's own heartbeat check takes up to three heartbeat intervals; this one answers within about
        the profile's timeout plus one heartbeat.
        """
        received = getattr(getattr(connection, "_impl", None), "bytes_received", None)
        if received is None:
            return
        if received != self._last_received:
            self._last_received, self._heard_at = received, now
        elif now - self._heard_at > self.endpoint.timeout + self._heartbeat:
            raise BrokerUnavailable(
                f"{self.endpoint.broker}: no answer from RabbitMQ within {self.endpoint.timeout:g}s (tail stopped)"
            )

    def _consume(
        self, connection: BlockingConnection, channel: BlockingChannel, queue: str, arguments: dict[str, Any] | None
    ) -> None:
        batch: list[Message] = []
        first_at = 0.0
        last_seen = time.monotonic()
        self._last_received, self._heard_at = -1, last_seen
        unacked: int | None = None
        for method, properties, body in channel.consume(queue, arguments=arguments, inactivity_timeout=0.05):
            if self._stop.is_set():
                return
            now = time.monotonic()
            self._check_alive(connection, now)
            if method is not None:
                last_seen = now
                unacked = method.delivery_tag
                message = self._convert(method, properties, body)
                if message is not None:
                    if not batch:
                        first_at = now
                    batch.append(message)
            full = len(batch) >= BATCH_SIZE or (batch and (method is None or now - first_at >= BATCH_WAIT))
            if full:
                if not self._put(batch, connection):
                    return
                batch = []
            if unacked is not None and not batch:
                channel.basic_ack(unacked, multiple=True)
                unacked = None
            if method is None and self.idle_stop is not None and now - last_seen >= self.idle_stop:
                return

    def _put(self, item: Any, connection: BlockingConnection | None = None) -> bool:
        """Hand `item` to the reader, waiting while it is busy; False when the tail was stopped."""
        try:
            future = asyncio.run_coroutine_threadsafe(self.out.put(item), self.loop)
        except RuntimeError:  # the event loop is gone
            return False
        while True:
            try:
                future.result(timeout=0.5)
                return True
            except concurrent.futures.TimeoutError:
                if self._stop.is_set():
                    future.cancel()
                    return False
                if connection is not None:
                    connection.process_data_events(0)
            except (concurrent.futures.CancelledError, RuntimeError):
                return False

    def _convert(self, method: Any, properties: pika.BasicProperties, body: bytes) -> Message | None:
        source = self.source
        if source.kind == "firehose":
            return self._from_trace(method, properties, body)
        position: int | str = method.delivery_tag
        if source.kind == "stream" and isinstance(properties.headers, Mapping):
            offset = properties.headers.get("x-stream-offset")
            if isinstance(offset, int) and not isinstance(offset, bool):
                position = int(offset)  # pika's `long` subclass
        return to_message(
            self.endpoint.broker,
            source.destination,
            position,
            properties,
            body,
            exchange=method.exchange,
            routing_key=method.routing_key,
            redelivered=method.redelivered,
        )

    def _from_trace(self, method: Any, properties: pika.BasicProperties, body: bytes) -> Message | None:
        """A firehose `publish.*` message: the traced message's own properties are in its headers."""
        trace = properties.headers if isinstance(properties.headers, Mapping) else {}
        routed = trace.get("routed_queues")
        routed_queues = [text(q) for q in routed] if isinstance(routed, list) else None
        keys = trace.get("routing_keys")
        routing_keys = [text(k) for k in keys] if isinstance(keys, list) else []
        wanted = self.source.queue
        if wanted is not None:
            if routed_queues is not None and wanted not in routed_queues:
                return None
            if routed_queues is None and wanted not in routing_keys:
                return None
        inner = trace.get("properties")
        inner = inner if isinstance(inner, Mapping) else {}
        headers: list[tuple[str, HeaderValue]] = []
        inner_headers = inner.get("headers")
        if isinstance(inner_headers, Mapping):
            headers.extend((text(k), plain_value(v)) for k, v in inner_headers.items())
        headers.append(("amqp.exchange", plain_value(trace.get("exchange_name"))))
        for name in SHOWN_PROPERTIES:
            if inner.get(name) is not None:
                headers.append((f"amqp.{name}", plain_value(inner[name])))
        if routed_queues is not None:
            headers.append(("amqp.routed_queues", list(routed_queues)))
        stamp = inner.get("timestamp")
        timestamp = None
        if isinstance(stamp, datetime):
            timestamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
        elif isinstance(stamp, int) and 0 < stamp < 1e11:
            timestamp = datetime.fromtimestamp(stamp, tz=UTC)
        return Message(
            broker=self.endpoint.broker,
            destination=self.source.destination,
            partition=None,
            position=method.delivery_tag,
            timestamp=timestamp,
            key=routing_keys[0].encode() if routing_keys else None,
            value=bytes(body or b""),
            headers=tuple(headers),
        )


class Tails:
    """The tails of one adapter: where each reads from, and their threads, stopped when it closes."""

    def __init__(self, mgmt: Management, endpoint: Endpoint) -> None:
        self.mgmt = mgmt
        self.endpoint = endpoint
        self.name = mgmt.name
        self._threads: set[TailThread] = set()

    def stop_all(self) -> None:
        for thread in list(self._threads):
            thread.stop()

    async def read(
        self, destination: str, *, start: StartPosition, stop_at_end: bool
    ) -> AsyncIterator[Sequence[Message]]:
        """Batches of messages flowing into `destination`, read without taking them from anyone."""
        vhost, source = await self._source(destination, start)
        thread = TailThread(
            self.endpoint,
            vhost,
            source,
            loop=asyncio.get_running_loop(),
            idle_stop=STOP_AT_END_IDLE if stop_at_end else None,
        )
        self._threads.add(thread)
        thread.start()
        try:
            while True:
                item = await thread.out.get()
                if isinstance(item, _End):
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            thread.stop()
            self._threads.discard(thread)
            await asyncio.to_thread(thread.join, 2.0)

    async def _source(self, destination: str, start: StartPosition) -> tuple[str, TailSource]:
        if destination.startswith(FIREHOSE):
            return await self._firehose_source(destination, start)
        ref = self.mgmt.naming.parse(destination)
        row = await self.mgmt.queue(ref)
        display = self.mgmt.display(ref.vhost, ref.name)
        if text(row.get("type")) == "stream":
            return ref.vhost, TailSource("stream", display, queue=ref.name, offset=self._stream_offset(start))
        if start.kind != "end":
            raise NotPossible(
                f"{self.name}: a tail of {display!r} only shows new messages (it is not a stream); "
                "peek shows those already queued"
            )
        bindings = tuple(
            Binding(text(b.get("source")), text(b.get("routing_key")), b.get("arguments") or {})
            for b in await self.mgmt.queue_bindings(ref)
            if text(b.get("source"))
        )
        if not bindings:
            raise NotPossible(
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
        raise NotPossible(f"{self.name}: a stream offset is a number, not {start.offset!r}")

    async def _firehose_source(self, destination: str, start: StartPosition) -> tuple[str, TailSource]:
        watched = destination[len(FIREHOSE) :]
        if start.kind != "end":
            raise NotPossible(f"{self.name}: the firehose only shows new messages (--from end)")
        ref = self.mgmt.naming.parse(watched) if watched else QueueRef(self.mgmt.naming.home, "")
        if watched:
            await self.mgmt.queue(ref)
        vhost = await self.mgmt.get(f"/api/vhosts/{quote_segment(ref.vhost)}", what=f"vhost {ref.vhost!r}")
        if not (vhost or {}).get("tracing"):
            raise NotPossible(
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
