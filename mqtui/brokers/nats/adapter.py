"""NATS: core subjects, JetStream streams and consumers, and dead letters made from advisories.

nats-py is async, so every call here is a task on the caller's loop; HTTP monitoring runs in a thread.
Where things appear in the broker-neutral interface:

* `destinations()`: streams (depth = messages; subjects, bytes, first/last sequence and time,
  retention, storage and replicas in `extra`) via the paged STREAM.LIST API, plus core subjects that
  have subscribers from `/subsz?subs=1` when `monitor_url` is set. KV and object-store buckets are
  internal.
* `backlog()`: one row per consumer (`group` = consumer name): lag = num_pending, in_flight =
  num_ack_pending, committed = ack floor stream sequence, end = the stream's last sequence. mqtui's own
  tail consumers are left out. `describe_group("NAME")` or `("STREAM/NAME")` has every counter.
* **Server view**: `describe("$server")` answers server identity, connections, slow consumers,
  subscriptions and JetStream usage, from the monitoring endpoints where `monitor_url` is set and from
  the client connection (INFO, $JS.API.INFO, this client's own counters) in any case.
* Dead letters: see `mqtui.brokers.nats.dlq`. Tail: see `mqtui.brokers.nats.tail`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Collection, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

import nats.errors
import nats.js.errors
from nats.aio.client import Client

from mqtui.brokers.base import BrokerAdapter, PublishOptions
from mqtui.brokers.nats import dlq as dlqs
from mqtui.brokers.nats import monitor as monitoring
from mqtui.brokers.nats import records
from mqtui.brokers.nats.connection import (
    JetStreamApiError,
    JetStreamDisabled,
    _quiet_close,
    api_request,
    broker_errors,
    open_connection,
    paged,
)
from mqtui.brokers.nats.replay import replay_planned
from mqtui.brokers.nats.settings import connection_settings
from mqtui.brokers.nats.tail import core_tail, stream_tail, workqueue_tail
from mqtui.config import NatsConfig, redact_url
from mqtui.dlqnames import rules_for
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
from mqtui.safetext import safe_line

T = TypeVar("T")
log = logging.getLogger(__name__)
SERVER_VIEW = "$server"
DEFAULT_DLQ_STREAM = "DLQ"
#: Limits of the advisory DLQ stream mqtui creates, so it cannot grow without bound: an advisory is
#: about 400 bytes, and past a limit the oldest entries go (the failed messages stay in their streams).
DLQ_STREAM_LIMITS = {"max_age": 7 * 24 * 3600 * 10**9, "max_msgs": 1_000_000, "max_bytes": 1 << 30, "discard": "old"}
PUBLISH_OPTIONS = ("mode", "stream")
#: Concurrent requests when one answer needs many (consumer lists, publish acks); a replay's requests go
#: through `pipeline` instead.
CONCURRENCY = 64
_BAD_STREAM_CHARS = frozenset(" \t\r\n.*>/\\")


class NatsAdapter(BrokerAdapter):
    kind: ClassVar[str] = "nats"
    capabilities: ClassVar[Capability] = (
        Capability.TAIL
        | Capability.PUBLISH
        | Capability.REPLAY
        | Capability.DELETE_DEAD_LETTER
        | Capability.PURGE
        | Capability.REQUEST
    )

    def __init__(self, config: NatsConfig) -> None:  # type: ignore[override]
        super().__init__(config)
        self.config: NatsConfig = config
        self.nc: Client | None = None
        self.counters: dict[str, int] = {}
        self.rules = rules_for("nats", config.dlq_patterns)
        self.monitor: monitoring.Monitor | None = None
        """The monitoring endpoints, once connected, when `monitor_url` is set."""
        self.dlq_stream_status: str | None = None
        """What `create_dlq_stream` did on connect (shown in the server view), None when not asked."""
        self._notices: list[str] = []

    # -- lifecycle ---------------------------------------------------------------------------------
    async def connect(self) -> None:
        settings = connection_settings(self.config)
        self.nc = await open_connection(self.config, settings, self.counters)
        if self.config.monitor_url:  # an https monitor is served with the client port's TLS settings
            self.monitor = monitoring.Monitor(self.name, self.config.monitor_url, self.config.timeout, tls=settings.tls)
        if not self.config.create_dlq_stream:
            return
        if self.config.profile_readonly:  # the session says so once, as a start-up notice
            self.dlq_stream_status = "not created: the profile is readonly"
            return
        with self._errors("create the DLQ stream"):
            self.dlq_stream_status, complete = await self._ensure_dlq_stream()
        if not complete:  # stream names are the broker's: the CLI and the console make notices safe
            self._notices = [f"{self.name}: create_dlq_stream: {self.dlq_stream_status}"]
            log.info("%s", safe_line(self._notices[0], None))

    @property
    def notices(self) -> list[str]:
        """Advisories `create_dlq_stream` could not capture (a readonly profile's skipped creation is said
        once at start-up by the session instead: it is known before connecting)."""
        return self._notices

    async def close(self) -> None:
        nc, self.nc = self.nc, None
        if nc is not None:
            await _quiet_close(nc)

    def _conn(self) -> Client:
        if self.nc is None or self.nc.is_closed:
            raise BrokerUnavailable(f"{self.name}: not connected")
        return self.nc

    def _errors(self, what: str) -> contextlib.AbstractContextManager[None]:
        return broker_errors(self.name, what, self.config.timeout)

    async def _api(self, subject: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return await api_request(self._conn(), subject, body, self.config.timeout)

    async def _bounded(self, calls: Sequence[Awaitable[T]]) -> list[T]:
        """Run many requests at once, CONCURRENCY at a time, answers in order."""
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(call: Awaitable[T]) -> T:
            async with gate:
                return await call

        return list(await asyncio.gather(*(one(c) for c in calls)))

    # -- JetStream reads -------------------------------------------------------------------------------
    async def _streams(self) -> list[dict[str, Any]]:
        try:
            return await paged(self._conn(), "STREAM.LIST", "streams", self.config.timeout)
        except JetStreamDisabled:
            return []

    async def _stream(self, name: str) -> dict[str, Any]:
        if not self._valid_stream_name(name):
            raise NotFound(f"{self.name}: {name!r} is not a stream name")
        try:
            return await self._api(f"STREAM.INFO.{name}")
        except JetStreamApiError as exc:
            if exc.not_found:
                raise NotFound(f"{self.name}: no stream named {name}") from None
            raise

    async def _consumers(self, stream: str) -> list[dict[str, Any]]:
        return await paged(self._conn(), f"CONSUMER.LIST.{stream}", "consumers", self.config.timeout)

    async def _streams_storing(self, subject: str) -> list[str]:
        try:
            answer = await self._api("STREAM.NAMES", {"subject": subject})
        except JetStreamDisabled:
            return []
        return list(answer.get("streams") or [])

    @staticmethod
    def _valid_stream_name(name: str) -> bool:
        return bool(name) and not (set(name) & _BAD_STREAM_CHARS)

    async def _find_stream(self, name: str) -> dict[str, Any] | None:
        """Stream info when `name` is a stream, None when it can only be a subject."""
        if not self._valid_stream_name(name):
            return None
        try:
            return await self._api(f"STREAM.INFO.{name}")
        except JetStreamApiError as exc:
            if exc.not_found:
                return None
            raise
        except JetStreamDisabled:
            return None

    # -- reading -----------------------------------------------------------------------------------
    async def destinations(self, *, include_internal: bool = False) -> list[Destination]:
        with self._errors("list streams"):
            streams = await self._streams()
        facts = {s.name: s for s in (dlqs.StreamFacts.of(info) for info in streams)}
        result = []
        for info in streams:
            destination = records.stream_destination(
                self.name, info, is_dlq=self._is_dlq(facts[info["config"]["name"]], facts)
            )
            if include_internal or not destination.internal:
                result.append(destination)
        if self.monitor is not None:
            with contextlib.suppress(BrokerUnavailable):  # the monitor only adds subjects; streams still count
                subs = await self.monitor.subscriptions()
                result.extend(monitoring.subject_destinations(self.name, subs, include_internal))
        return result

    def _is_dlq(self, stream: dlqs.StreamFacts, streams: dict[str, dlqs.StreamFacts]) -> bool:
        return (
            stream.name == self.config.dlq_stream
            or dlqs.captures_advisories(stream.subjects)
            or dlqs.republish_origin(stream, self.rules, streams) is not None
        )

    async def describe(self, destination: str) -> Detail:
        if destination == SERVER_VIEW:
            return await self.server_view()
        with self._errors(f"describe {destination}"):
            info = await self._find_stream(destination)
            if info is not None:
                consumers = await self._consumers(destination)
                return Detail(
                    broker=self.name,
                    name=destination,
                    summary=records.stream_summary(info),
                    sections=(records.consumers_section(consumers),),
                )
            streams = await self._streams_storing(destination)
        sections = []
        matching: list[dict[str, Any]] = []
        if self.monitor is not None:
            subs = await self.monitor.subscriptions()
            matching = [s for s in subs if dlqs.subjects_overlap(str(s.get("subject") or ""), destination)]
            sections.append(monitoring.subscriptions_section(matching, include_internal=True))
        if not streams and not matching:
            raise NotFound(f"{self.name}: no stream named {destination}, none stores it and nobody subscribes to it")
        summary = (
            ("kind", "core subject"),
            ("stored by", ", ".join(streams) or "no stream (core only)"),
        )
        return Detail(broker=self.name, name=destination, summary=summary, sections=tuple(sections))

    async def server_view(self) -> Detail:
        """The server as a whole: what the monitoring port says, and what this connection sees."""
        nc = self._conn()
        info: dict[str, Any] = dict(getattr(nc, "_server_info", {}) or {})
        stats = nc.stats
        url = nc.connected_url
        server_id, server_name = str(info.get("server_id", "")), str(info.get("server_name", ""))
        summary: list[tuple[str, str]] = [("connected to", redact_url(url.geturl()) if url else "-")]
        if self.monitor is None:  # with monitoring, /varz says this and more
            summary += [
                ("server", server_id if server_name in ("", server_id) else f"{server_name} ({server_id})"),
                ("version", str(info.get("version", ""))),
            ]
        summary += [
            ("max payload", str(info.get("max_payload", ""))),
            ("jetstream", "enabled" if info.get("jetstream") else "disabled"),
            ("this client: msgs in / out", f"{stats.get('in_msgs', 0)} / {stats.get('out_msgs', 0)}"),
            ("this client: reconnects", str(stats.get("reconnects", 0))),
            ("this client: slow consumer events", str(self.counters.get("slow_consumers", 0))),
        ]
        sections: list[DetailSection] = []
        with self._errors("read JetStream account info"), contextlib.suppress(JetStreamDisabled, JetStreamApiError):
            account = await self._api("INFO")
            api = account.get("api") or {}
            summary += [
                ("account streams / consumers", f"{account.get('streams', 0)} / {account.get('consumers', 0)}"),
                ("account memory / storage", f"{account.get('memory', 0)} / {account.get('storage', 0)}"),
                ("account api requests / errors", f"{api.get('total', 0)} / {api.get('errors', 0)}"),
            ]
        if self.dlq_stream_status is not None:
            summary.append(("dlq stream (create_dlq_stream)", self.dlq_stream_status))
        if self.monitor is None:
            summary.append(("monitoring", "monitor_url not set: other clients' connections and subscriptions unseen"))
        else:
            varz, connz, subs, jsz = await asyncio.gather(
                self.monitor.get("/varz"),
                self.monitor.connections(),
                self.monitor.subscriptions(),
                self.monitor.get("/jsz", streams="true", consumers="true"),
            )
            summary += monitoring.varz_summary(varz)
            sections += [
                monitoring.connections_section(connz),
                monitoring.subscriptions_section(subs),
                monitoring.jsz_section(jsz),
            ]
        return Detail(broker=self.name, name=SERVER_VIEW, summary=tuple(summary), sections=tuple(sections))

    async def _consumer_infos(self, only_stream: str | None = None) -> tuple[list[dict[str, Any]], dict[str, int]]:
        """Every consumer of every stream (one paged CONSUMER.LIST per stream that has consumers)."""
        streams = await self._streams()
        last_seqs = {s["config"]["name"]: int((s.get("state") or {}).get("last_seq") or 0) for s in streams}
        names = [
            s["config"]["name"]
            for s in streams
            if int((s.get("state") or {}).get("consumer_count") or 0) > 0 and only_stream in (None, s["config"]["name"])
        ]
        pages = await self._bounded([self._consumers(name) for name in names])
        infos = [info for page in pages for info in page]
        return infos, last_seqs

    @staticmethod
    def _split_group(group: str | None) -> tuple[str | None, str | None]:
        if group and "/" in group:
            stream, _, consumer = group.partition("/")
            return stream, consumer
        return None, group

    async def backlog(self, *, group: str | None = None) -> list[BacklogRow]:
        stream, consumer = self._split_group(group)
        with self._errors("list consumers"):
            infos, last_seqs = await self._consumer_infos(stream)
        return [
            records.backlog_row(self.name, info, last_seqs.get(str(info.get("stream_name"))))
            for info in infos
            if not str(info.get("name", "")).startswith(records.TAIL_CONSUMER_PREFIX)
            and (consumer is None or info.get("name") == consumer)
        ]

    async def describe_group(self, group: str) -> Detail:
        stream, consumer = self._split_group(group)
        with self._errors(f"describe consumer {group}"):
            infos, _ = await self._consumer_infos(stream)
        found = [info for info in infos if info.get("name") == consumer]
        if not found:
            raise NotFound(f"{self.name}: no consumer named {group}")
        if len(found) > 1:
            where = ", ".join(f"{i.get('stream_name')}/{consumer}" for i in found)
            raise UsageError(f"{self.name}: consumer {consumer} exists on several streams; name one of: {where}")
        return Detail(broker=self.name, name=group, summary=records.consumer_summary(found[0]))

    async def tail(
        self,
        destination: str,
        *,
        start: StartPosition,
        stop_at_end: bool = False,
    ) -> AsyncIterator[Sequence[Message]]:
        nc = self._conn()
        timeout = self.config.timeout
        with self._errors(f"tail {destination}"):
            info = await self._find_stream(destination)
            filter_subject: str | None = None
            if info is None:
                if start.kind == "end":
                    async for batch in core_tail(nc, self.name, destination, stop_at_end=stop_at_end):
                        yield batch
                    return
                streams = await self._streams_storing(destination)
                if not streams:
                    raise NotFound(
                        f"{self.name}: no stream stores {destination}, so it has no history: tail it from the end"
                    )
                info = await self._stream(streams[0])
                filter_subject = destination
            config, state = info.get("config") or {}, info.get("state") or {}
            stream = str(config.get("name"))
            last_seq = int(state.get("last_seq") or 0)
            if config.get("retention") == "workqueue":
                reader = workqueue_tail(
                    nc, self.name, stream, first_seq=int(state.get("first_seq") or 0), last_seq=last_seq,
                    filter_subject=filter_subject, start=start, stop_at_end=stop_at_end, timeout=timeout,
                )  # fmt: skip
            else:
                reader = stream_tail(
                    nc, self.name, stream, last_seq=last_seq, filter_subject=filter_subject, start=start,
                    stop_at_end=stop_at_end, timeout=timeout,
                )  # fmt: skip
            try:
                async for batch in reader:
                    yield batch
            finally:
                await reader.aclose()  # type: ignore[attr-defined]

    # -- writing -----------------------------------------------------------------------------------
    async def publish(
        self,
        destination: str,
        messages: Sequence[OutgoingMessage],
        *,
        options: PublishOptions | None = None,
    ) -> PublishResult:
        """JetStream (acknowledged, sequences in `positions`) when a stream stores the subject, else core.

        `--prop mode=core|jetstream` forces one; `--prop stream=NAME` makes JetStream check the stream.
        """
        options = dict(options or {})
        unknown = sorted(set(options) - set(PUBLISH_OPTIONS))
        if unknown:
            raise UsageError(f"unknown NATS publish property {unknown[0]!r} (known: {', '.join(PUBLISH_OPTIONS)})")
        if any(m.key is not None for m in messages):
            raise Unsupported(f"{self.name}: NATS messages have no key; send it as a --header")
        mode = options.get("mode", "auto").lower()
        if mode not in ("auto", "core", "jetstream", "js"):
            raise UsageError(f"--prop mode must be core or jetstream, not {mode!r}")
        nc = self._conn()
        with self._errors(f"publish to {destination}"):
            if mode == "auto":
                mode = "jetstream" if await self._streams_storing(destination) else "core"
            headers: list[dict[str, str] | str] = [_outgoing_headers(m) for m in messages]
            if mode == "core":
                return await self._publish_core(nc, destination, messages, headers)
            return await self._publish_js(nc, destination, messages, headers, options.get("stream"))

    async def _publish_core(
        self, nc: Client, subject: str, messages: Sequence[OutgoingMessage], headers: list[dict[str, str] | str]
    ) -> PublishResult:
        failed: list[tuple[int, str]] = []
        for index, (message, hdrs) in enumerate(zip(messages, headers, strict=True)):
            if isinstance(hdrs, str):
                failed.append((index, hdrs))
                continue
            try:
                await nc.publish(subject, message.value, headers=hdrs or None)
            except nats.errors.MaxPayloadError:
                failed.append((index, f"larger than the server's max payload ({nc.max_payload} bytes)"))
        await nc.flush(timeout=max(1, int(self.config.timeout)))
        return PublishResult(sent=len(messages) - len(failed), failed=tuple(failed))

    async def _publish_js(
        self,
        nc: Client,
        subject: str,
        messages: Sequence[OutgoingMessage],
        headers: list[dict[str, str] | str],
        stream: str | None,
    ) -> PublishResult:
        js = nc.jetstream(timeout=self.config.timeout)

        async def one(index: int) -> tuple[int, int | None, str | None]:
            hdrs = headers[index]
            if isinstance(hdrs, str):
                return index, None, hdrs
            try:
                ack = await js.publish(subject, messages[index].value, headers=hdrs or None, stream=stream)
            except nats.js.errors.NoStreamResponseError:
                return index, None, f"no stream stores {subject}"
            except nats.js.errors.APIError as exc:
                return index, None, str(exc.description or exc)
            except nats.errors.MaxPayloadError:
                return index, None, f"larger than the server's max payload ({nc.max_payload} bytes)"
            except (TimeoutError, nats.errors.TimeoutError):
                if nc.is_closed:
                    raise
                return index, None, f"no acknowledgement within {self.config.timeout:g}s"
            return index, ack.seq, None

        answers = await self._bounded([one(i) for i in range(len(messages))])
        positions = tuple(seq for _, seq, error in answers if error is None and seq is not None)
        failed = tuple((index, error) for index, _, error in answers if error is not None)
        return PublishResult(sent=len(positions), failed=failed, positions=positions)

    async def request(self, destination: str, message: OutgoingMessage, *, timeout: float) -> Message:
        nc = self._conn()
        hdrs = _outgoing_headers(message)
        if isinstance(hdrs, str):
            raise UsageError(hdrs)
        with self._errors(f"request {destination}"):
            try:
                reply = await nc.request(destination, message.value, timeout=timeout, headers=hdrs or None)
            except nats.errors.NoRespondersError:
                raise NotFound(f"{self.name}: no service answers on {destination}") from None
            except (TimeoutError, nats.errors.TimeoutError):
                if nc.is_closed or not nc.is_connected:
                    raise BrokerUnavailable(
                        f"{self.name}: connection lost during the request to {destination}"
                    ) from None
                raise BrokerError(f"{self.name}: no reply on {destination} within {timeout:g}s") from None
        return Message(
            broker=self.name,
            destination=destination,
            partition=None,
            position=1,
            timestamp=datetime.now(UTC),
            key=None,
            value=reply.data,
            headers=records.headers_from_client(reply.headers),
        )

    async def purge(self, destination: str) -> int:
        """Purge a stream, or only the messages of one subject from the stream that stores it."""
        with self._errors(f"purge {destination}"):
            info = await self._find_stream(destination)
            if info is not None:
                answer = await self._api(f"STREAM.PURGE.{destination}", {})
            else:
                streams = await self._streams_storing(destination)
                if not streams:
                    raise NotFound(
                        f"{self.name}: no stream named {destination} or storing it (core subjects keep nothing)"
                    )
                answer = await self._api(f"STREAM.PURGE.{streams[0]}", {"filter": destination})
        return int(answer.get("purged") or 0)

    # -- dead letters ------------------------------------------------------------------------------
    async def _ensure_dlq_stream(self) -> tuple[str, bool]:
        """Create the advisory DLQ stream for the advisory families no stream captures whole; answers what
        happened and whether every advisory is now captured. A family that a stream captures in part (one
        stream's advisories) cannot be captured by a new stream: JetStream refuses overlapping subjects, so
        that is reported instead."""
        name = self.config.dlq_stream or DEFAULT_DLQ_STREAM
        streams = [dlqs.StreamFacts.of(info) for info in await self._streams()]
        if any(s.name == name for s in streams):
            return f"exists: {name}", True
        plan = dlqs.plan_dlq_stream(streams)
        blocked = "; ".join(f"{family} is captured in part by {', '.join(parts)}" for family, parts in plan.blocked)
        if plan.subjects:
            config = {"name": name, "subjects": list(plan.subjects), "storage": "file", "retention": "limits",
                      **DLQ_STREAM_LIMITS}  # fmt: skip
            await self._api(f"STREAM.CREATE.{name}", config)
            created = f"created: {name} ({', '.join(plan.subjects)})"
            return (f"{created}; not captured: {blocked}", False) if blocked else (created, True)
        if blocked:
            return f"not created: {blocked} (JetStream refuses overlapping stream subjects)", False
        return "not needed: other streams capture every advisory", True

    async def dead_letter_queues(self) -> list[DeadLetterQueue]:
        with self._errors("list dead-letter streams"):
            streams = await self._streams()
        facts = {s.name: s for s in (dlqs.StreamFacts.of(info) for info in streams)}
        found = []
        for stream in facts.values():
            if dlqs.captures_advisories(stream.subjects):
                origin, how = dlqs.advisory_origin_stream(stream.subjects), "advisories"
            elif (origin := dlqs.republish_origin(stream, self.rules, facts)) is not None:
                how = "naming rule"
            elif stream.name == self.config.dlq_stream:
                origin, how = None, "config"
            else:
                continue
            found.append(DeadLetterQueue(
                broker=self.name, name=stream.name, kind=DestinationKind.STREAM, origin=origin,
                count=stream.messages, oldest=stream.first_time, detected_by=how,
            ))  # fmt: skip
        return found

    async def dead_letters(self, dlq: str, *, limit: int = 100) -> list[DeadLetter]:
        with self._errors(f"read dead letters of {dlq}"):
            return await self._letters(dlq, ids=None, limit=limit)

    async def _letters(self, dlq: str, *, ids: Collection[str] | None, limit: int | None) -> list[DeadLetter]:
        nc = self._conn()
        stream = dlqs.StreamFacts.of(await self._stream(dlq))
        if ids is not None:
            seqs = sorted({int(i) for i in ids if str(i).isdigit()})
            answers = await dlqs.get_stored(nc, [(dlq, seq) for seq in seqs], self.config.timeout)
            entries = [records.stored_message(self.name, a) for a in answers if a is not None]
            if limit is not None:
                entries = entries[:limit]
        else:
            entries = await dlqs.read_stream(
                nc,
                self.name,
                stream,
                start=stream.first_seq,
                limit=limit or stream.messages,
                timeout=self.config.timeout,
            )
        if dlqs.captures_advisories(stream.subjects):
            return await self._advisory_letters(entries)
        streams = {s.name: s for s in (dlqs.StreamFacts.of(info) for info in await self._streams())}
        origin_name = dlqs.republish_origin(stream, self.rules, streams)
        origin_stream = streams.get(origin_name) if origin_name else None
        letters = []
        for entry in entries:
            texts = dlqs.header_texts(entry)
            letters.append(
                dlqs.republished_letter(entry, dlqs.entry_origin(entry, self.rules, origin_stream, texts), texts)
            )
        return letters

    async def _advisory_letters(self, entries: list[Message]) -> list[DeadLetter]:
        nc = self._conn()
        advisories = [dlqs.parse_advisory(e) for e in entries]
        wanted = sorted({(a["stream"], a["stream_seq"]) for a in advisories if a is not None})
        answers = await dlqs.get_stored(nc, wanted, self.config.timeout)
        originals = dict(zip(wanted, answers, strict=True))
        letters = []
        for entry, advisory in zip(entries, advisories, strict=True):
            if advisory is None:
                letters.append(dlqs.unreadable_letter(entry))
            else:
                original = originals.get((advisory["stream"], advisory["stream_seq"]))
                letters.append(dlqs.advisory_letter(self.name, entry, original, advisory))
        return letters

    async def _plan(
        self, dlq: str, to: str | None, ids: Collection[str] | None, limit: int | None
    ) -> list[tuple[ReplayItem, DeadLetter]]:
        letters = await self._letters(dlq, ids=ids, limit=limit)
        stored: dict[str, bool] = {}
        plan = []
        for letter in letters:
            target = to or letter.origin
            reason = None
            if letter.gone:
                stream = letter.extra.get("stream")
                reason = f"gone: no longer in stream {stream}" if stream else "not a replayable entry"
            elif not target:
                reason = "origin unknown: use --to"
            else:
                if target not in stored:
                    stored[target] = bool(await self._streams_storing(target))
                if not stored[target]:
                    reason = f"no stream stores {target}"
            plan.append((ReplayItem(id=letter.id, target=target or "", skip_reason=reason), letter))
        return plan

    async def plan_replay(
        self,
        dlq: str,
        *,
        to: str | None = None,
        ids: Collection[str] | None = None,
        limit: int | None = None,
    ) -> list[ReplayItem]:
        with self._errors(f"plan the replay of {dlq}"):
            return [item for item, _ in await self._plan(dlq, to, ids, limit)]

    async def replay(
        self,
        dlq: str,
        *,
        to: str | None = None,
        ids: Collection[str] | None = None,
        limit: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> ReplayResult:
        """Publish each dead letter through JetStream with a stable Nats-Msg-Id, wait for the ack, then
        remove the entry from the DLQ stream (see `replay`). A rerun after a crash republishes with
        the same id, which the target stream drops as a duplicate within its duplicate window (counted
        as skipped)."""
        nc = self._conn()
        with self._errors(f"replay {dlq}"):
            plan = await self._plan(dlq, to, ids, limit)
            return await replay_planned(
                nc, self.name, dlq, plan, timeout=self.config.timeout, from_start=ids is None, progress=progress
            )

    async def _delete_entry(self, stream: str, seq: int) -> bool:
        try:
            answer = await self._api(f"STREAM.MSG.DELETE.{stream}", {"seq": seq, "no_erase": True})
        except JetStreamApiError as exc:
            if exc.not_found:
                return False
            raise
        return bool(answer.get("success"))

    async def delete_dead_letters(self, dlq: str, ids: Collection[str]) -> int:
        with self._errors(f"delete dead letters from {dlq}"):
            await self._stream(dlq)
            outcomes = await self._bounded([self._delete_entry(dlq, int(i)) for i in ids if str(i).isdigit()])
        return sum(outcomes)


def _outgoing_headers(message: OutgoingMessage) -> dict[str, str] | str:
    """Headers as nats-py wants them (str dict), or the reason they cannot be sent."""
    headers: dict[str, str] = {}
    for key, value in message.headers:
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        if any(c in key for c in "\r\n: ") or "\r" in text or "\n" in text:
            return f"header {key!r} holds a line break, colon or space where NATS cannot carry one"
        headers[key] = text
    return headers
