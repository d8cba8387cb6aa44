"""Replaying Kafka dead letters to their origin topic, and remembering what was replayed.

Kafka cannot delete a record from a DLQ topic, so a replay records its progress instead, and the
guarantee is built from three pieces:

1. Each dead letter is re-produced by an idempotent producer (acks=all) with its key, its headers and
   `mqtui-replayed-from: <dlq>/<partition>/<offset>` plus `mqtui-replayed-at`, and is recorded as
   replayed only once its own delivery report says it arrived. Up to `WINDOW` are in flight at once
   (the idempotent producer keeps their order per partition): waiting for each report before sending
   the next would cap a replay at one broker round trip per dead letter.
2. The record is a commit of the DLQ partition's offset for the replay group (`replay_group`, default
   "mqtui-replay") with explicit offsets (AlterConsumerGroupOffsets: the group never has members),
   sent without holding up the next dead letter and awaited before the replay returns. The committed
   offset is a floor: every dead letter below it was replayed. Dead letters replayed out of order
   (`--id`) go into the commit's metadata, which Apache Kafka keeps (tansu drops it, see below).
   The replay group therefore shows up in `mqtui lag` with the DLQ's not-yet-replayed count as lag.
3. A process or broker killed between a delivery report and its commit leaves a copy that is not
   recorded. So before sending, every replay (and every plan) reads the recent tail of the target
   topics for `mqtui-replayed-from` headers naming this DLQ; a dead letter whose copy is found is
   recorded and skipped as "already replayed" instead of being sent twice.

The tail that step 3 reads starts at the dead letter's own timestamp, or at the partition's last
commit when the commit metadata holds its time, minus `CLOCK_SKEW_MS` for clocks that disagree, and
reads at most `SCAN_LIMIT` records per target partition. A copy older than that window is not found:
the dead letter is sent again and counted in `ReplayResult.duplicates` if it is among those a crashed
run can have left unrecorded (at most `WINDOW` in flight plus `MAX_UNRECORDED` confirmed but not yet
committed, after each partition's floor). On a broker that drops commit metadata, dead letters replayed
out of order are remembered only through step 3. Two replays of the same DLQ running at the same moment are not
coordinated with each other.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from confluent_kafka import Producer
from confluent_kafka.admin import OffsetSpec

from mqtui.brokers.kafka.client import KafkaClients, consumer_settings, error_text, producer_settings
from mqtui.brokers.kafka.dlq import coordinates, envelope_of, envelope_original, replay_origin
from mqtui.brokers.kafka.replay_record import Progress, Recorder
from mqtui.brokers.kafka.replay_send import GIVE_UP, REPLAYED_FROM, WINDOW, Entry, Tally, Window
from mqtui.brokers.kafka.tail import PartitionReader
from mqtui.dlqnames import dlq_origin
from mqtui.errors import BrokerUnavailable, NotFound, UsageError
from mqtui.model import ProgressCallback, ReplayResult

T = TypeVar("T")

ALREADY_REPLAYED = "already replayed"
CLOCK_SKEW_MS = 5 * 60 * 1000
SCAN_LIMIT = 100_000
MAX_UNRECORDED = 1000
"""Confirmed dead letters a replay may run ahead of its last acknowledged progress commit."""


@dataclass
class Plan:
    dlq: str
    entries: list[Entry]
    progress: dict[int, Progress]


class Replayer:
    """Plans and runs replays of one broker's DLQ topics."""

    def __init__(self, clients: KafkaClients, rules: tuple[str, ...], replay_group: str) -> None:
        self.clients = clients
        self.rules = rules
        self.group = replay_group
        self.name = clients.name

    def _reader_settings(self) -> dict:
        return consumer_settings(self.clients.config, f"mqtui-read-{uuid.uuid4().hex[:12]}")

    # -- planning ----------------------------------------------------------------------------------
    async def plan(self, dlq: str, *, to: str | None, ids: Collection[str] | None, limit: int | None) -> Plan:
        """Every dead letter (or those of `ids`) with where it goes or why it is skipped.

        Each partition is read from the replay group's committed floor: what lies below it was
        replayed, so it is listed as already replayed without being read again (its target, which
        only its record says, shows as "?"). A rerun of a replayed DLQ then reads nothing but the
        new dead letters, and the copy search looks only for those at or above the floor.
        """
        clients = self.clients
        wanted = _parse_ids(ids)
        partitions = sorted(await clients.partitions(dlq))
        metadata = clients.metadata_cache
        if to is not None and (metadata is None or to not in metadata.topics):
            raise NotFound(f"{self.name}: no topic {to!r} to replay into")
        topics = frozenset(metadata.topics) if metadata is not None else frozenset()
        low, high = await clients.watermarks((dlq, p) for p in partitions)
        committed = await clients.committed(self.group, [(dlq, p) for p in partitions])
        progress = {p: Progress.from_commit(committed.get((dlq, p))) for p in partitions}
        starts: dict[int, int] = {}
        ends: dict[int, int] = {}
        missing: list[Entry] = []
        replayed: dict[int, list[Entry]] = {}  # below the committed floor: replayed, so never read again
        for p in partitions:
            lo, hi = low.get((dlq, p)), high.get((dlq, p))
            if lo is None or hi is None:
                raise BrokerUnavailable(f"{self.name}: no watermarks for {dlq}[{p}]")
            floor = min(max(progress[p].floor, lo), hi)
            if wanted is None:
                replayed[p] = [Entry(p, o, None, None, skip=ALREADY_REPLAYED) for o in range(lo, floor)]
                starts[p], ends[p] = floor, hi
                continue
            for offset in sorted(wanted.get(p, ())):
                if not lo <= offset < hi:
                    missing.append(Entry(p, offset, None, to, skip=f"no such dead letter in {dlq}"))
                elif offset < floor:
                    replayed.setdefault(p, []).append(Entry(p, offset, None, None, skip=ALREADY_REPLAYED))
            inside = [o for o in wanted.get(p, ()) if floor <= o < hi]
            if inside:
                starts[p], ends[p] = min(inside), max(inside) + 1
        if wanted is not None:
            for p in set(wanted) - set(partitions):
                missing.extend(Entry(p, o, None, to, skip=f"no such dead letter in {dlq}") for o in sorted(wanted[p]))
        reader = PartitionReader(self._reader_settings(), self.name, dlq, starts, ends, idle_timeout=clients.timeout)
        read = await self._run(self._entries, reader, dlq, to, wanted, progress, topics)
        await self._find_copies(dlq, read, progress)
        if wanted is None:  # each partition's replayed ones, then those read: both in offset order already
            ordered = [e for p in partitions for part in (replayed[p], read.get(p, ())) for e in part]
        else:
            listed = {(e.partition, e.offset) for part in (missing, *read.values(), *replayed.values()) for e in part}
            # Asked for, inside the watermarks, yet not there (compacted away, say).
            missing += [Entry(p, o, None, to, skip=f"no such dead letter in {dlq}")
                        for p, offsets in wanted.items() for o in sorted(offsets) if (p, o) not in listed]  # fmt: skip
            ordered = sorted(
                [*missing, *itertools.chain(*read.values(), *replayed.values())], key=lambda e: (e.partition, e.offset)
            )
        return Plan(dlq, _limited(ordered, limit), progress)

    def _entries(
        self, stop: threading.Event, reader: PartitionReader, dlq: str, to: str | None,
        wanted: dict[int, set[int]] | None, progress: dict[int, Progress], topics: frozenset[str],
    ) -> dict[int, list[Entry]]:  # fmt: skip
        """Each partition's plan entries in offset order: where each dead letter goes (as `parse_dead_letter`
        would say) and why it cannot go, read from librdkafka's records without building a `Message` or a
        `DeadLetter`. The per-record hot loop of every plan: its steps are written out, not called."""
        fallback = dlq_origin(dlq, self.rules)  # the naming rule's answer is the same for every letter
        read: dict[int, list[Entry]] = {p: [] for p in reader.starts}
        # Reading starts at each floor, so only offsets recorded above it can be replayed already.
        done = {p: progress[p].done for p in reader.starts if progress[p].done}
        for batch in reader.raw_batches(stop):
            for record in batch:
                partition, offset = record.partition(), record.offset()
                if wanted is not None and offset not in wanted.get(partition, ()):
                    continue
                headers = record.headers()
                target = to or (replay_origin(dict(headers), fallback) if headers else fallback)
                millis = record.timestamp()[1]
                entry = Entry(partition, offset, millis if millis > 0 else None, target)
                if done and offset in done.get(partition, ()):
                    entry.skip = ALREADY_REPLAYED
                elif target is None:
                    entry.skip = "origin unknown: name a target topic with --to"
                elif target == dlq:
                    entry.skip = "origin is the DLQ itself: name a target topic with --to"
                else:  # the value is parsed here only, and again when sent only if it is an envelope
                    envelope = envelope_of(record.value() or b"")
                    if envelope is not None:
                        entry.envelope = True
                        if envelope_original(envelope) is None:
                            entry.skip = "dead-letter envelope holds no original_message"
                    if entry.skip is None and target not in topics:
                        entry.skip = f"target topic {target} does not exist"
                read[partition].append(entry)
        return read

    async def _find_copies(self, dlq: str, read: dict[int, list[Entry]], progress: dict[int, Progress]) -> None:
        """Mark dead letters whose replayed copy already reached the target (see the module docstring)."""
        since: dict[str, int] = {}  # target -> the oldest time a copy can have been sent at
        for partition, entries in read.items():
            committed_at = progress[partition].committed_at_ms or 0
            for entry in entries:
                if entry.skip is None:
                    target, millis = entry.target or "", max(entry.timestamp_ms or 0, committed_at)
                    since[target] = min(since.get(target, millis), millis)
        if not since:
            return
        metadata = self.clients.metadata_cache
        found: set[tuple[int, int]] = set()
        truncated: set[str] = set()
        for target, millis in since.items():
            topic = metadata.topics.get(target) if metadata is not None else None
            if topic is None:
                continue
            tps = [(target, p) for p in topic.partitions]
            first, (_low, high) = await asyncio.gather(
                self.clients.offsets(
                    tps, OffsetSpec.for_timestamp(max(millis - CLOCK_SKEW_MS, 0)), "find offsets by time"
                ),
                self.clients.watermarks(tps),
            )
            starts: dict[int, int] = {}
            ends: dict[int, int] = {}
            for _, p in tps:
                begin, end = first.get((target, p)), high.get((target, p))
                if begin is None or end is None or begin < 0:
                    continue
                if begin < end - SCAN_LIMIT:
                    begin = end - SCAN_LIMIT
                    truncated.add(target)
                # Read to the partition's real end (the reader stops there): a watermark can fall short
                # of it, as tansu's does after multi-record batches, and a copy must not hide past it.
                starts[p], ends[p] = begin, end + SCAN_LIMIT
            if starts:
                reader = PartitionReader(
                    self._reader_settings(), self.name, target, starts, ends, idle_timeout=self.clients.timeout
                )
                found |= await self._run(_copies_in, reader, dlq)
        if not found and not truncated:  # the usual first run: nothing to mark
            return
        for partition, entries in read.items():
            candidates = [e for e in entries if e.skip is None]  # in offset order
            for index, entry in enumerate(candidates):
                if (partition, entry.offset) in found:
                    entry.skip = ALREADY_REPLAYED
                    entry.copy_found = True
                elif index < WINDOW + MAX_UNRECORDED and entry.target in truncated:
                    # Among what a crashed run can have sent without recording it: the first after the floor.
                    entry.unverified = True

    # -- replaying ---------------------------------------------------------------------------------
    async def replay(
        self, dlq: str, *, to: str | None, ids: Collection[str] | None, limit: int | None,
        progress: ProgressCallback | None,
    ) -> ReplayResult:  # fmt: skip
        # Made before planning: an idempotent producer's first delivery waits for its producer id, which
        # is then fetched while the plan is read. librdkafka asks for it on a 500 ms timer and only over
        # a connection that is already up; a sparse producer with nothing to send yet connects to no
        # broker, so the id came a second after start (most of a 20,000-letter replay). Connecting to
        # every broker at once lets it come while the plan is read.
        producer = Producer(producer_settings(self.clients.config) | {"enable.sparse.connections": False})
        plan = await self.plan(dlq, to=to, ids=ids, limit=limit)
        stop = threading.Event()
        try:
            return await self._run_unbounded(self._send_all, plan, producer, progress, stop)
        except asyncio.CancelledError:
            stop.set()
            raise

    def _send_all(
        self, plan: Plan, producer: Producer, report: ProgressCallback | None, stop: threading.Event
    ) -> ReplayResult:
        dlq = plan.dlq
        errors: list[str] = []
        skipped = 0
        found: list[Entry] = []
        sendable: list[Entry] = []
        for entry in plan.entries:  # one pass: a plan can hold hundreds of thousands
            if entry.skip is None:
                sendable.append(entry)
            elif entry.skip == ALREADY_REPLAYED:
                skipped += 1
                if entry.copy_found:
                    found.append(entry)
            else:
                errors.append(f"{dlq} {entry.id}: {entry.skip}")
        failed = len(errors)
        recorder = Recorder(self.clients, self.group)
        for entry in found:
            plan.progress[entry.partition].record(entry.offset)
        for partition in sorted({e.partition for e in found}):
            recorder.record(dlq, partition, plan.progress[partition])
        if not sendable:
            return ReplayResult(sent=0, failed=failed, skipped=skipped, errors=tuple(errors))
        sent, send_failed, duplicates, send_errors, broker_gone = self._send(
            recorder, producer, plan, sendable, report, stop
        )
        if not broker_gone:
            try:
                for partition in sorted({e.partition for e in sendable}):
                    recorder.record(dlq, partition, plan.progress[partition])
            except BrokerUnavailable as exc:
                send_errors.append(f"{exc} (a rerun finds the copies already sent)")
        return ReplayResult(
            sent=sent,
            failed=failed + send_failed,
            skipped=skipped,
            duplicates=duplicates,
            errors=tuple(errors + send_errors),
        )

    def _send(
        self, recorder: Recorder, producer: Producer, plan: Plan, sendable: list[Entry],
        report: ProgressCallback | None, stop: threading.Event,
    ) -> tuple[int, int, int, list[str], bool]:  # fmt: skip
        """Send every sendable dead letter in DLQ order: (sent, failed, duplicates, errors, broker gone).

        Up to `WINDOW` dead letters are in flight at once; each is recorded only once its own delivery
        report says it arrived, in the order they were sent.
        """
        config = self.clients.config
        dlq = plan.dlq
        unsent: dict[int, dict[int, Entry]] = {}  # partition -> offset -> dead letter not sent yet
        for partition, entries in itertools.groupby(sendable, key=lambda e: e.partition):
            unsent.setdefault(partition, {}).update((e.offset, e) for e in entries)
        starts = {partition: min(letters) for partition, letters in unsent.items()}
        ends = {partition: max(letters) + 1 for partition, letters in unsent.items()}
        reader = PartitionReader(self._reader_settings(), self.name, dlq, starts, ends, idle_timeout=config.timeout)
        tally = Tally(len(sendable), report)
        unverified = any(e.unverified for e in sendable)
        gone: str | None = None  # why the broker is considered gone

        def settle(reports: list[Entry]) -> None:
            """Delivery reports, in the order the dead letters were sent: record the delivered ones."""
            nonlocal gone
            failures = [(e, e.error) for e in reports if e.error is not None]
            for entry, error in failures:
                tally.failed += 1
                tally.errors.append(f"{dlq} {entry.id}: {error_text(error)}")
                if error.code() in GIVE_UP and gone is None:
                    gone = error_text(error)
            if failures:
                reports = [e for e in reports if e.error is None]
            tally.sent += len(reports)
            if unverified:
                tally.duplicates += sum(e.unverified for e in reports)
            delivered: dict[int, list[int]] = {}  # partition -> offsets, increasing
            if len(unsent) == 1:
                if reports:
                    delivered[reports[0].partition] = [e.offset for e in reports]
            else:
                for entry in reports:
                    delivered.setdefault(entry.partition, []).append(entry.offset)
            for partition, offsets in delivered.items():
                plan.progress[partition].record_all(offsets)
                recorder.record(dlq, partition, plan.progress[partition], wait=False, count=len(offsets))
            tally.tick()

        def halted() -> bool:
            return gone is not None or stop.is_set()

        def pace() -> None:
            """Bound what a kill can leave sent but unrecorded to WINDOW + MAX_UNRECORDED: only a settle
            adds to what is unrecorded, and the window paces after each one, before it sends again."""
            recorder.keep_within(MAX_UNRECORDED, dlq)

        window = Window(producer, self.name, dlq, config.timeout, settle, pace, halted)
        try:
            for batch in reader.raw_batches(stop):  # librdkafka's records: no `Message` needed to resend one
                window.send(batch, unsent, datetime.now(UTC).isoformat().replace("+00:00", "Z").encode())
                if halted() or not any(unsent.values()):
                    break
            window.drain()
            if gone:
                raise BrokerUnavailable(f"{self.name}: replay of {dlq} stopped: {gone}")
        except BrokerUnavailable as exc:
            gone = gone or str(exc)
            window.abandon()
            left = sum(map(len, unsent.values()))
            tally.failed += left
            tally.errors.append(f"{exc} ({left} dead letter(s) not sent; run the replay again when the broker is back)")
            unsent.clear()
        tally.tick(force=True)
        left = sum(map(len, unsent.values()))
        if left and not stop.is_set():
            tally.failed += left
            tally.errors.append(f"{dlq}: {left} dead letter(s) vanished before they could be replayed")
        return tally.sent, tally.failed, tally.duplicates, tally.errors, gone is not None

    # -- threads -----------------------------------------------------------------------------------
    async def _run(self, func: Callable[..., T], *args: Any) -> T:
        """A blocking read on the pool, stopped if the awaiting task is cancelled."""
        stop = threading.Event()
        try:
            return await self._run_unbounded(func, stop, *args)
        finally:
            stop.set()

    async def _run_unbounded(self, func: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.clients.pool, func, *args)


def _copies_in(stop: threading.Event, reader: PartitionReader, dlq: str) -> set[tuple[int, int]]:
    """DLQ coordinates named by `mqtui-replayed-from` headers in what `reader` reads."""
    prefix = f"{dlq}/".encode()
    found: set[tuple[int, int]] = set()
    for batch in reader.raw_batches(stop):  # headers only: no Message records needed
        for record in batch:
            for name, value in record.headers() or ():
                if name == REPLAYED_FROM and isinstance(value, bytes) and value.startswith(prefix):
                    partition, _, offset = value[len(prefix) :].partition(b"/")
                    if partition.isdigit() and offset.isdigit():
                        found.add((int(partition), int(offset)))
    return found


def _parse_ids(ids: Collection[str] | None) -> dict[int, set[int]] | None:
    if not ids:
        return None
    wanted: dict[int, set[int]] = {}
    for letter_id in ids:
        try:
            partition, offset = coordinates(letter_id)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        wanted.setdefault(partition, set()).add(offset)
    return wanted


def _limited(entries: list[Entry], limit: int | None) -> list[Entry]:
    """Every entry up to and including the `limit`-th one that would be sent."""
    if limit is None:
        return entries
    kept: list[Entry] = []
    sendable = 0
    for entry in entries:
        if limit is not None and sendable >= limit:
            break
        kept.append(entry)
        sendable += entry.skip is None
    return kept
