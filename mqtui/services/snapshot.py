"""What the console knows about one broker at one moment: an immutable snapshot per poll.

The poller builds a new snapshot after every poll and hands it over whole, so the UI never draws from a
record that a background task is still filling in, and look tests can feed the same panes fixed
snapshots.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from mqtui.model import BacklogRow, Capability, DeadLetterQueue, Destination, RetrySchedule


class BrokerStatus(enum.StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DEGRADED = "degraded"
    """Connected, but part of the last poll failed: some of what is shown is older than the rest."""
    UNREACHABLE = "unreachable"


class LagState(enum.StrEnum):
    OK = "ok"
    DRAINING = "draining"
    GROWING = "growing"
    STALLED = "stalled"
    """No progress for `profile.stall_polls` polls while lag > 0: the state worth paging someone for."""
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class LagTrend:
    history: tuple[int | None, ...] = ()
    """Recent lag values, oldest first (the sparkline); None where a poll had no number (the broker
    was down, or could not say), drawn as a gap."""
    rate: float | None = None
    """Change of lag per second over the recent window; positive means falling further behind."""
    consume_rate: float | None = None
    """Messages consumed per second, from committed positions where the broker reports them."""
    eta: float | None = None
    """Seconds to drain the current lag at the consume rate; None when it would never drain."""
    state: LagState = LagState.UNKNOWN


GroupKey = tuple[str, str, str]
"""(broker, destination, group): one consumer's backlog on one destination, all partitions together."""


@dataclass(frozen=True, slots=True)
class GroupLag:
    """The backlog rows of one group on one destination, summed, with their trend."""

    broker: str
    destination: str
    group: str
    rows: tuple[BacklogRow, ...]
    lag: int | None
    lag_at_least: bool
    """`lag` is a lower bound: a row's adapter stopped counting (`BacklogRow.lag_at_least`)."""
    committed: int | None
    """Sum of numeric committed positions (None unless every row has one): the consume-rate source."""
    end: int | None
    in_flight: int | None
    consumers: int | None
    state: str | None
    last_activity: datetime | None
    members: tuple[str, ...]
    trend: LagTrend = LagTrend()
    rate_out: float | None = None
    """The destination's out rate as its broker reports it (RabbitMQ): the consume rate where no
    committed position says it."""
    appended: int | None = None
    """The destination's appended counter (`Destination.appended`): with the lag, what was consumed
    where no committed position says it (Redis stream groups)."""
    oldest_waiting_at: datetime | None = None
    """The oldest unconsumed message of any row (the worst partition's): the group's time lag."""
    time_lag_unknown: str | None = None
    """Why the time lag cannot be told, where a row with messages waiting could not say."""

    def time_lag(self, now: datetime) -> float | None:
        """Seconds since the oldest message not yet consumed was written; 0 when nothing waits; None
        when messages wait and the broker cannot say when the oldest was written."""
        if self.oldest_waiting_at is not None:
            return max(0.0, (now - self.oldest_waiting_at).total_seconds())
        return 0.0 if self.lag == 0 else None

    @property
    def key(self) -> GroupKey:
        return (self.broker, self.destination, self.group)

    @property
    def partitions(self) -> int:
        return sum(1 for row in self.rows if row.partition is not None)


def _sum(values: list[int | None]) -> int | None:
    return None if not values or any(v is None for v in values) else sum(v for v in values if v is not None)


def _numeric(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def group_backlog(
    rows: Iterable[BacklogRow],
    rates_out: Mapping[str, float] | None = None,
    appended: Mapping[str, int] | None = None,
) -> list[GroupLag]:
    """Fold per-partition rows into one row per (broker, destination, group), in first-seen order.

    `rates_out` (destination name -> messages/s out, as the broker reports it) and `appended`
    (destination name -> its appended counter) are attached to each group of that destination.
    """
    grouped: dict[GroupKey, list[BacklogRow]] = {}
    for row in rows:
        grouped.setdefault((row.broker, row.destination, row.group), []).append(row)
    result = []
    for (broker, destination, group), members in grouped.items():
        lags = [r.lag for r in members]
        known_lags = [lag for lag in lags if lag is not None]
        consumers = [r.consumers for r in members if r.consumers is not None]
        in_flight = [r.in_flight for r in members if r.in_flight is not None]
        activity = [r.last_activity for r in members if r.last_activity is not None]
        waiting = [r.oldest_waiting_at for r in members if r.oldest_waiting_at is not None]
        names: dict[str, None] = {}
        for r in members:
            names.update(dict.fromkeys(r.members))
        result.append(
            GroupLag(
                broker=broker,
                destination=destination,
                group=group,
                rows=tuple(sorted(members, key=lambda r: -1 if r.partition is None else r.partition)),
                lag=sum(known_lags) if known_lags else None,
                lag_at_least=any(r.lag_at_least for r in members if r.lag is not None),
                committed=_sum([_numeric(r.committed) for r in members]),
                end=_sum([_numeric(r.end) for r in members]),
                in_flight=sum(in_flight) if in_flight else None,
                consumers=max(consumers) if consumers else None,
                state=next((r.state for r in members if r.state), None),
                last_activity=max(activity) if activity else None,
                members=tuple(names),
                rate_out=(rates_out or {}).get(destination),
                appended=(appended or {}).get(destination),
                oldest_waiting_at=min(waiting) if waiting else None,
                time_lag_unknown=next((r.time_lag_unknown for r in members if r.time_lag_unknown), None),
            )
        )
    return result


PART_DESTINATIONS = "destinations"
PART_LAG = "lag"
PART_DLQS = "dead letters"
PART_RETRIES = "retries"


@dataclass(frozen=True, slots=True)
class KeptPart:
    """A part of a broker's data its last poll failed to read while the rest answered: the snapshot
    keeps that part's rows from an earlier poll, so they are as old as `since`, not live, and every view
    of them must say so (a broker counted up must not make its old lag look current)."""

    part: str
    """One of the PART_* names."""
    since: datetime | None
    """When the rows kept were fetched (None: no poll ever read this part)."""
    reason: str
    """Why the read failed: one scrubbed line, without the broker's name."""


@dataclass(frozen=True, slots=True)
class BrokerSnapshot:
    """One broker as of its last poll; data stays from the last good poll when a poll fails."""

    name: str
    kind: str
    status: BrokerStatus = BrokerStatus.CONNECTING
    error: str | None = None
    """One line, scrubbed of secrets, naming the broker."""
    destinations: tuple[Destination, ...] = ()
    backlog: tuple[BacklogRow, ...] = ()
    lag: tuple[GroupLag, ...] = ()
    dlqs: tuple[DeadLetterQueue, ...] = ()
    capabilities: Capability = Capability.NONE
    retries: tuple[RetrySchedule, ...] = ()
    """Retry topics, queues and schedules with their due counts, fetched with the DLQs."""
    replay_verb: str = "replay"
    polled_at: datetime | None = None
    """When the data shown was fetched (the last successful poll)."""
    next_retry_at: datetime | None = None
    """When an unreachable broker is tried again."""
    failures: int = 0
    """Consecutive failed polls."""
    rate_floors: frozenset[tuple[str, str]] = frozenset()
    """(destination, "in" or "out") for rates that are lower bounds: derived from the change of the
    depth, which is what arrived minus what left (a Redis list keeps no counter of either)."""
    notices: tuple[str, ...] = ()
    """The adapter's notices after the last poll that reached it (`BrokerAdapter.notices`): what its
    answers left out, such as keys a bounded Redis scan has not reached. One scrubbed line each."""

    kept: tuple[KeptPart, ...] = ()
    """The parts whose rows are left from an earlier poll because this poll's read of them failed."""

    def can(self, capability: Capability) -> bool:
        return bool(self.capabilities & capability)

    def kept_part(self, part: str) -> KeptPart | None:
        """The record of `part` being kept from an earlier poll, or None when it is from this poll."""
        return next((k for k in self.kept if k.part == part), None)

    def stale(self, part: str) -> bool:
        """`part`'s rows are not from a poll that reached the broker just now: it is down, or that read
        failed."""
        return self.status is BrokerStatus.UNREACHABLE or self.kept_part(part) is not None

    @property
    def healthy(self) -> bool:
        return self.status is BrokerStatus.CONNECTED
