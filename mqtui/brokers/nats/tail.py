"""Tailing NATS without taking a message from anyone.

* A **core subject** (wildcards allowed): a plain subscription; what arrives is handed out in batches.
  Core messages have no sequence: `position` counts the messages this tail received, and `timestamp`
  is the time of receipt.
* A **stream** (or a subject a stream stores, read from a start other than the end): an ordered
  ephemeral consumer of mqtui's own (`mqtui-tail-<id>`: no durable name, AckPolicy none, memory
  storage, one replica, removed by the server after a minute without us). It is pulled in batches of
  `BATCH`, so at most one batch waits in memory; a gap in the consumer sequence, a deleted consumer or
  missing heartbeats (a server restart) recreate it from the last stream sequence seen, which is what
  "ordered" means. No durable consumer is ever touched.
* A **work-queue stream**, where any consumer would take messages away: STREAM.MSG.GET walks the
  sequences instead, so the tail reads without a consumer at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.nuid import NUID

from mqtui.brokers.nats.connection import JetStreamApiError, api_request, api_subject
from mqtui.brokers.nats.jetstream import JetStream
from mqtui.brokers.nats.records import TAIL_CONSUMER_PREFIX, headers_from_client, stored_message
from mqtui.errors import BrokerUnavailable, NotFound, NotPossible
from mqtui.model import Message, StartPosition

BATCH = 500
EXPIRES = 5.0
HEARTBEAT = 1.0
INACTIVE_THRESHOLD = 60.0
CORE_BUFFER = 10_000
_NS = 1_000_000_000
_nuid = NUID()


def _message(broker: str, msg: Msg, position: int, when: datetime | None, redelivered: int = 0) -> Message:
    return Message(
        broker=broker,
        destination=msg.subject,
        partition=None,
        position=position,
        timestamp=when,
        key=None,
        value=msg.data,
        headers=headers_from_client(msg.headers),
        redelivered=redelivered,
    )


async def core_tail(nc: Client, broker: str, subject: str, *, stop_at_end: bool) -> AsyncIterator[Sequence[Message]]:
    """Batches from a core subscription; a reader that falls CORE_BUFFER behind loses the oldest."""
    if stop_at_end:
        return  # a core subject stores nothing: the tail is caught up before it starts
    buffer: list[Message] = []
    arrived = asyncio.Event()
    received = 0

    async def on_message(msg: Msg) -> None:
        nonlocal received
        received += 1
        if len(buffer) >= CORE_BUFFER:
            del buffer[0]
        buffer.append(_message(broker, msg, received, datetime.now(UTC)))
        arrived.set()

    sub = await nc.subscribe(subject, cb=on_message)
    try:
        while True:
            await arrived.wait()
            arrived.clear()
            batch, buffer[:] = list(buffer), []
            if batch:
                yield batch
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()


def start_sequence(broker: str, start: StartPosition) -> int:
    """The stream sequence an offset start names; a stream id or any other text is refused (NotPossible:
    NATS tails streams, only not from there)."""
    if not isinstance(start.offset, int):
        raise NotPossible(f"{broker}: a NATS stream position is a sequence number, not {start.offset!r}")
    return start.offset


def deliver_config(broker: str, start: StartPosition, last_seq: int | None = None) -> dict[str, Any]:
    """The consumer's deliver policy for a tail start (end, beginning, a sequence, a time)."""
    if last_seq is not None:
        return {"deliver_policy": "by_start_sequence", "opt_start_seq": last_seq + 1}
    if start.kind == "end":
        return {"deliver_policy": "new"}
    if start.kind == "beginning":
        return {"deliver_policy": "all"}
    if start.kind == "offset":
        return {"deliver_policy": "by_start_sequence", "opt_start_seq": max(start_sequence(broker, start), 1)}
    assert start.time is not None
    return {"deliver_policy": "by_start_time", "opt_start_time": start.time.astimezone(UTC).isoformat()}


class OrderedPull:
    """One ordered ephemeral pull consumer, recreated from the last sequence seen when it breaks."""

    def __init__(self, nc: Client, broker: str, stream: str, filter_subject: str | None, timeout: float) -> None:
        self.nc = nc
        self.broker = broker
        self.stream = stream
        self.filter_subject = filter_subject
        self.timeout = timeout
        self.name = ""
        self.sub: Subscription | None = None
        self.buffer: list[Msg] = []
        self.arrived = asyncio.Event()
        self.expected = 1
        self.last_seq: int | None = None
        self.outstanding = 0
        self.pending = 0
        self.origin = StartPosition("end")

    async def start(self, start: StartPosition) -> None:
        self.origin = start
        self.name = f"{TAIL_CONSUMER_PREFIX}{_nuid.next().decode()}"
        config: dict[str, Any] = {
            "name": self.name,
            "ack_policy": "none",
            "replay_policy": "instant",
            "inactive_threshold": int(INACTIVE_THRESHOLD * _NS),
            "mem_storage": True,
            "num_replicas": 1,
            **deliver_config(self.broker, start, self.last_seq),
        }
        if self.filter_subject:
            config["filter_subject"] = self.filter_subject
        inbox = self.nc.new_inbox()
        self.sub = await self.nc.subscribe(inbox, cb=self._on_message)
        self.buffer, self.expected, self.outstanding = [], 1, 0
        answer = await api_request(
            self.nc,
            f"CONSUMER.CREATE.{self.stream}.{self.name}",
            {"stream_name": self.stream, "config": config, "action": "create"},
            self.timeout,
        )
        self.pending = int(answer.get("num_pending") or 0)

    async def _on_message(self, msg: Msg) -> None:
        self.buffer.append(msg)
        self.arrived.set()

    async def _pull(self) -> None:
        assert self.sub is not None
        request = {"batch": BATCH, "expires": int(EXPIRES * _NS), "idle_heartbeat": int(HEARTBEAT * _NS)}
        await self.nc.publish(
            api_subject(self.nc, f"CONSUMER.MSG.NEXT.{self.stream}.{self.name}"),
            orjson.dumps(request),
            reply=self.sub.subject,
        )
        self.outstanding = BATCH

    async def restart(self) -> None:
        """Drop the broken consumer and make a new one from the sequence after the last one seen."""
        await self.close()
        deadline = time.monotonic() + max(self.timeout, 30.0)
        while True:
            try:
                await self.start(self.origin)
                return
            except JetStreamApiError:
                raise
            except Exception:
                if self.nc.is_closed or time.monotonic() > deadline:
                    raise BrokerUnavailable(f"{self.broker}: lost the tail of {self.stream}") from None
                await asyncio.sleep(0.5)

    async def next_batch(self) -> list[Message]:
        """The messages that arrived since the last call (at least one, or [] once nothing is pending)."""
        while True:
            if self.outstanding <= 0:
                await self._pull()
            if not self.buffer:
                try:
                    await asyncio.wait_for(self.arrived.wait(), timeout=HEARTBEAT * 3)
                except TimeoutError:
                    await self.restart()  # no heartbeat: the server restarted or the consumer went away
                    continue
            self.arrived.clear()
            items, self.buffer = self.buffer, []
            batch: list[Message] = []
            broken = False
            for msg in items:
                status = (msg.headers or {}).get("Status")
                if status:
                    if status == "409" and "deleted" in (msg.headers or {}).get("Description", "").lower():
                        broken = True
                        break
                    if status != "100":
                        self.outstanding = 0  # the pull request ended (expired, or the server refused it)
                    if status not in ("100", "404", "408", "409"):
                        await asyncio.sleep(0.5)  # an unexpected refusal: do not spin on it
                    continue
                try:
                    meta = msg.metadata
                except Exception:
                    continue
                if meta.consumer != self.name:
                    continue
                if meta.sequence.consumer != self.expected:
                    broken = True
                    break
                self.expected += 1
                self.outstanding -= 1
                self.last_seq = meta.sequence.stream
                self.pending = meta.num_pending
                batch.append(_message(self.broker, msg, meta.sequence.stream, meta.timestamp, meta.num_delivered - 1))
            if broken:
                await self.restart()
            if batch:
                return batch

    async def close(self) -> None:
        if self.sub is not None:
            with contextlib.suppress(Exception):
                await self.sub.unsubscribe()
            self.sub = None
        if self.name and not self.nc.is_closed:
            with contextlib.suppress(Exception):
                await api_request(self.nc, f"CONSUMER.DELETE.{self.stream}.{self.name}", None, min(self.timeout, 2.0))


async def stream_tail(
    nc: Client,
    broker: str,
    stream: str,
    *,
    last_seq: int,
    filter_subject: str | None,
    start: StartPosition,
    stop_at_end: bool,
    timeout: float,
) -> AsyncGenerator[Sequence[Message], None]:
    """Batches from an ordered ephemeral consumer; with `stop_at_end`, up to the stream's end at start."""
    reader = OrderedPull(nc, broker, stream, filter_subject, timeout)
    try:
        await reader.start(start)
        if stop_at_end and (reader.pending == 0 or start.kind == "end"):
            return
        while True:
            batch = await reader.next_batch()
            yield batch
            if stop_at_end and (reader.pending == 0 or (reader.last_seq or 0) >= last_seq):
                return
    finally:
        await reader.close()


async def workqueue_tail(
    nc: Client,
    broker: str,
    stream: str,
    *,
    first_seq: int,
    last_seq: int,
    filter_subject: str | None,
    start: StartPosition,
    stop_at_end: bool,
    timeout: float,
) -> AsyncGenerator[Sequence[Message], None]:
    """Read a work-queue stream by sequence with STREAM.MSG.GET: no consumer, so nothing is taken."""
    if start.kind == "end":
        seq = last_seq + 1
    elif start.kind == "offset":
        seq = start_sequence(broker, start)
    else:
        seq = first_seq
    since = start.time if start.kind == "time" else None
    subject = filter_subject or ">"
    while True:
        batch: list[Message] = []
        while len(batch) < BATCH:
            try:
                answer = await api_request(
                    nc, f"STREAM.MSG.GET.{stream}", {"seq": max(seq, 1), "next_by_subj": subject}, timeout
                )
            except JetStreamApiError as exc:
                if exc.not_found:
                    break
                raise
            message = stored_message(broker, answer.get("message") or {})
            seq = int(message.position) + 1
            if since is None or (message.timestamp is not None and message.timestamp >= since):
                batch.append(message)
            if stop_at_end and int(message.position) >= last_seq:
                break
        if batch:
            yield batch
        if stop_at_end and (seq > last_seq or not batch):
            return
        if not batch:
            await asyncio.sleep(0.5)


async def tail(
    js: JetStream, destination: str, *, start: StartPosition, stop_at_end: bool
) -> AsyncIterator[Sequence[Message]]:
    """Batches from a stream, a subject a stream stores, or (from the end) a core subject."""
    nc = js.conn()
    timeout = js.timeout
    with js.errors(f"tail {destination}"):
        info = await js.find_stream(destination)
        filter_subject: str | None = None
        if info is None:
            if start.kind == "end":
                async for batch in core_tail(nc, js.name, destination, stop_at_end=stop_at_end):
                    yield batch
                return
            streams = await js.streams_storing(destination)
            if not streams:
                raise NotFound(f"{js.name}: no stream stores {destination}, so it has no history: tail it from the end")
            info = await js.stream(streams[0])
            filter_subject = destination
        config, state = info.get("config") or {}, info.get("state") or {}
        stream = str(config.get("name"))
        last_seq = int(state.get("last_seq") or 0)
        reader: AsyncGenerator[Sequence[Message], None]
        if config.get("retention") == "workqueue":
            reader = workqueue_tail(
                nc, js.name, stream, first_seq=int(state.get("first_seq") or 0), last_seq=last_seq,
                filter_subject=filter_subject, start=start, stop_at_end=stop_at_end, timeout=timeout,
            )  # fmt: skip
        else:
            reader = stream_tail(
                nc, js.name, stream, last_seq=last_seq, filter_subject=filter_subject, start=start,
                stop_at_end=stop_at_end, timeout=timeout,
            )  # fmt: skip
        try:
            async for batch in reader:
                yield batch
        finally:
            await reader.aclose()
