"""The keys of one Redis database as the adapter shows them: bounded scans, a poll's snapshot as
destinations and backlog rows, and the names shown mapped back to key bytes.

Keys that are not UTF-8 are shown with \\x escapes; `raw` finds the key bytes behind such a name. The
`notices` say when a scan has not reached every key yet or found more than it keeps (`scan`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import humanize

from mqtui.brokers.redis.client import text
from mqtui.brokers.redis.discovery import Collector
from mqtui.brokers.redis.scan import KeyScanner
from mqtui.brokers.redis.snapshot import Snapshot
from mqtui.brokers.redis.streams import id_time
from mqtui.config import RedisConfig
from mqtui.jobcounts import DELAYED, FAILED, RETRYING
from mqtui.model import BacklogRow, Destination, DestinationKind

if TYPE_CHECKING:
    from redis.asyncio import Redis

#: Why a list's rows have no time lag.
LIST_NO_TIMES = "a Redis list keeps no times"

#: Where each framework's fold put a queue's counts -> the neutral keys `ls` and the console read them by.
JOB_COUNT_KEYS = {
    "rq": {"rq_failed": FAILED},
    "bullmq": {"delayed": DELAYED, "failed": FAILED},
    "dramatiq": {"dramatiq_delayed": DELAYED, "dramatiq_dead": FAILED},
    "sidekiq": {"scheduled": DELAYED, "retrying": RETRYING, "dead": FAILED},
}


class Keyspace:
    """One database's keys: what the scanner found, the collector read, and the names shown for them."""

    def __init__(self, config: RedisConfig) -> None:
        self.name = config.name
        self.scanner = KeyScanner(config.key_patterns, config.scan_limit)
        self.collector = Collector(config)
        self._raw_names: dict[str, bytes] = {}
        self._added: dict[str, tuple[int, float]] = {}
        self.notices: list[str] = []
        """Keys a bounded scan has not reached or kept, at the last snapshot."""

    def raw(self, name: str) -> bytes:
        """The key bytes behind a name we showed (keys that are not UTF-8 are shown with \\x escapes)."""
        return self._raw_names.get(name) or name.encode("utf-8")

    async def snapshot(self, client: Redis, **options: bool) -> Snapshot:
        known = await self.scanner.step(client)
        await self._note_scan_limits(client)
        for key in known:
            name = text(key)
            if name.encode("utf-8") != key:
                self._raw_names[name] = key
        snap = await self.collector.snapshot(client, known, **options)
        for key in snap.gone:
            self.scanner.forget(key)
        return snap

    async def _note_scan_limits(self, client: Redis) -> None:
        scanner, notices = self.scanner, []
        advice = "narrow key_patterns or raise scan_limit"
        if not scanner.scanned_all:
            size = int(await client.dbsize())
            notices.append(f"{self.name}: scanned about {scanner.scanned:,} of ~{size:,} keys so far, "
                           f"{scanner.limit:,} per poll; keys not reached yet are not shown ({advice})")  # fmt: skip
        if scanner.found > scanner.limit:
            notices.append(f"{self.name}: {scanner.found:,} lists, streams and job keys found; only the first "
                           f"{scanner.limit:,} by name are shown ({advice})")  # fmt: skip
        self.notices = notices

    def destinations(self, snap: Snapshot, *, include_internal: bool) -> list[Destination]:
        """Lists, streams and channels of a snapshot; a stream's rate in is measured since the last one."""
        found = []
        for item in snap.lists.values():
            if item.internal and not include_internal:
                continue
            extra = dict(item.extra)
            if item.convention != "list":
                extra["convention"] = item.convention
            for own, neutral in JOB_COUNT_KEYS.get(item.convention, {}).items():
                if extra.get(own, "").isdigit():  # Sidekiq's "12 (all queues)" is no count of this queue
                    extra[neutral] = extra[own]
            if item.memory is not None:
                extra["memory"] = humanize.naturalsize(item.memory, binary=True)
            found.append(
                Destination(self.name, item.name, DestinationKind.LIST, depth=item.depth, in_flight=item.in_flight,
                            consumers=item.consumers, is_dlq=item.is_dlq, internal=item.internal,
                            last_activity=item.last_activity, extra=extra)
            )  # fmt: skip
        for stream in snap.streams.values():
            if stream.internal and not include_internal:
                continue
            extra = {"groups": str(len(stream.groups)), "last_id": stream.last_id}
            if stream.memory is not None:
                extra["memory"] = humanize.naturalsize(stream.memory, binary=True)
            found.append(
                Destination(self.name, stream.name, DestinationKind.STREAM, depth=stream.length,
                            in_flight=sum(g.pending for g in stream.groups),
                            consumers=sum(g.consumers for g in stream.groups),
                            rate_in=self._rate_in(stream.name, stream.entries_added, snap.taken_at),
                            is_dlq=stream.is_dlq, internal=stream.internal, last_activity=stream.last_activity,
                            extra=extra, appended=stream.entries_added)
            )  # fmt: skip
        for channel, subscribers in snap.channels:
            found.append(Destination(self.name, channel, DestinationKind.CHANNEL, consumers=subscribers))
        return sorted(found, key=lambda d: (d.name, d.kind.value))

    def _rate_in(self, name: str, added: int | None, now: float) -> float | None:
        """Entries added per second since the previous poll (XINFO STREAM entries-added)."""
        if added is None:
            return None
        previous = self._added.get(name)
        self._added[name] = (added, now)
        if previous is None or now <= previous[1] or added < previous[0]:
            return None
        return (added - previous[0]) / (now - previous[1])

    def backlog(self, snap: Snapshot) -> list[BacklogRow]:
        """A row per list queue (its convention as the group) and per stream consumer group."""
        rows = []
        for item in snap.lists.values():
            if item.internal or item.is_dlq:
                continue
            rows.append(
                BacklogRow(self.name, item.name, item.group, lag=item.depth, in_flight=item.in_flight,
                           consumers=item.consumers, members=item.members, last_activity=item.last_activity,
                           time_lag_unknown=LIST_NO_TIMES if item.depth else None)
            )  # fmt: skip
        for stream in snap.streams.values():
            for info in stream.groups:
                rows.append(
                    BacklogRow(self.name, stream.name, info.name, committed=info.last_delivered, end=stream.last_id,
                               lag=info.lag, lag_at_least=info.lag_at_least, in_flight=info.pending,
                               consumers=info.consumers,
                               state="empty" if info.consumers == 0 else None,
                               last_activity=info.last_activity(snap.taken_at),
                               members=tuple(m.name for m in info.members),
                               oldest_waiting_at=id_time(info.oldest_waiting))
                )  # fmt: skip
        return rows
