"""Fixed data for look tests: three brokers in three states, with the kinds of rows an incident shows.

Built through the same services the live console uses (LagHistory computes the trends, the gateway
and its write policy run every action), only the brokers are fake: `FakeAdapter` answers from the fixed
data and records the writes it is asked, and `FixedBackend` hands the console fixed snapshots, a fixed
clock and fixed tails. Includes hostile names and payloads, so every look test is also a check that
nothing in a message is interpreted as markup or reaches the terminal raw.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

from mqtui.brokers import AdapterRegistry
from mqtui.brokers.base import BrokerAdapter
from mqtui.config import BrokerConfig, Config, Profile, parse_config
from mqtui.errors import NotFound, Unsupported
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
    RangePart,
    RangePlan,
    ReplayItem,
    ReplayResult,
    StartPosition,
)
from mqtui.services.backend import ConsoleBackend, SnapshotListener
from mqtui.services.history import LagHistory
from mqtui.services.session import Session
from mqtui.services.snapshot import BrokerSnapshot, BrokerStatus, group_backlog
from mqtui.services.tailer import TailStream

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
HOSTILE = "[bold red]pwned[/] \x1b]0;title\x07 [@click=app.quit]"

KAFKA_CAPS = Capability.TAIL | Capability.PUBLISH | Capability.REPLAY | Capability.RESET_OFFSETS
REDIS_CAPS = Capability.TAIL | Capability.PUBLISH | Capability.REPLAY | Capability.DELETE_DEAD_LETTER | Capability.PURGE
NATS_CAPS = (
    Capability.TAIL
    | Capability.PUBLISH
    | Capability.REPLAY
    | Capability.DELETE_DEAD_LETTER
    | Capability.PURGE
    | Capability.REQUEST
    | Capability.SERVER_VIEW
)


def profile(readonly: bool = False, production: bool = False) -> Profile:
    raw = {
        "profiles": {
            "prod": {
                "readonly": readonly,
                "production": production,
                "brokers": [
                    {"name": "orders-kafka", "kind": "kafka", "url": "127.0.0.1:1"},
                    {"name": "cache-redis", "kind": "redis", "url": "redis://127.0.0.1:1/0"},
                    {"name": "events-nats", "kind": "nats", "url": "nats://127.0.0.1:1"},
                ],
            }
        }
    }
    return parse_config(raw, Path("fixed.toml")).profiles["prod"]


def _lag() -> list:  # type: ignore[type-arg]
    """Groups after six polls: one draining, one growing, one stalled, one caught up, and one draining
    whose lag is a lower bound (Redis said nil and the count stopped at its limit). Time lags against
    the fixed clock: billing 1m 30s (its worst partition), analytics 2h 5m, ledger 3d 4h, workers 0s
    (nothing waits), the hostile stream's group unknown (with why), audit unknown (no why)."""
    history = LagHistory(stall_polls=3)
    result = []
    for poll in range(6):
        rows = [
            BacklogRow("orders-kafka", "orders", "billing", 0, committed=1000 + 300 * poll, end=5000 + 100 * poll,
                       lag=4000 - 200 * poll, consumers=2, state="Stable", members=("billing-1",),
                       oldest_waiting_at=NOW - timedelta(seconds=90)),
            BacklogRow("orders-kafka", "orders", "billing", 1, committed=900 + 300 * poll, end=3000 + 100 * poll,
                       lag=2100 - 200 * poll, consumers=2, state="Stable", members=("billing-2",),
                       oldest_waiting_at=NOW - timedelta(seconds=40)),
            BacklogRow("orders-kafka", "orders", "analytics", 0, committed=10 + 5 * poll, end=5000 + 100 * poll,
                       lag=4990 + 95 * poll, consumers=1, state="Stable",
                       oldest_waiting_at=NOW - timedelta(hours=2, minutes=5)),
            BacklogRow("orders-kafka", "payments", "ledger", 0, committed=77, end=512, lag=435, consumers=0,
                       state="Empty", oldest_waiting_at=NOW - timedelta(days=3, hours=4)),
            BacklogRow("cache-redis", "jobs", "workers", None, committed=f"{poll}-0", end=f"{poll}-0", lag=0,
                       consumers=4, in_flight=3),
            BacklogRow("cache-redis", HOSTILE, "grp", None, lag=12, consumers=1,
                       time_lag_unknown="the entries after last-delivered were trimmed"),
            BacklogRow("cache-redis", "audit", "archiver", None, committed=f"{poll}-0", end="99-0",
                       lag=12_000 - 100 * poll, lag_at_least=True, consumers=1),
        ]  # fmt: skip
        groups = group_backlog(rows)
        result = history.observe("orders-kafka", [g for g in groups if g.broker == "orders-kafka"], poll * 2.0)
        result += history.observe("cache-redis", [g for g in groups if g.broker == "cache-redis"], poll * 2.0)
    return result


def message(position: int, value: bytes, *, key: bytes | None = b"order-1", headers=()) -> Message:  # type: ignore[no-untyped-def]
    return Message("orders-kafka", "orders", position % 3, position, NOW - timedelta(seconds=90 - position),
                   key, value, tuple(headers))  # fmt: skip


MESSAGES = [
    message(1, b'{"order": 1, "total": 12.5, "items": ["a", "b"]}', headers=[("trace-id", b"abc123")]),
    message(2, b"\x00\x01\x02\xff\xfe binary \x1b[2J", key=None),
    message(3, HOSTILE.encode(), key=HOSTILE.encode(), headers=[("x-evil", HOSTILE.encode())]),
    message(4, "emoji 🚀 and right-to-left עברית \u202eevil".encode()),
    *(message(position, b'{"order": %d, "status": "paid"}' % position) for position in range(5, 40)),
]

LETTERS = [
    DeadLetter(
        "0:17",
        message(17, b'{"order": 17}'),
        origin="orders",
        reason="processing failed: timeout",
        attempts=3,
        first_failure=NOW - timedelta(hours=2),
        last_failure=NOW - timedelta(minutes=5),
        extra={"exception": "TimeoutError"},
    ),
    DeadLetter(
        "0:18",
        message(18, HOSTILE.encode()),
        origin="orders",
        reason=HOSTILE,
        attempts=5,
        first_failure=NOW - timedelta(hours=1),
        last_failure=NOW - timedelta(minutes=1),
    ),
    DeadLetter("0:19", message(19, b"gone"), origin="orders", reason="expired", gone=True),
]


#: What a Redis adapter says when its bounded key scan has not gone round the keyspace yet.
SCAN_NOTICE = (
    "cache-redis: scanned about 10,000 of ~2,400,000 keys so far, 10,000 per poll; keys not reached yet are "
    "not shown (narrow key_patterns or raise scan_limit)"
)


def snapshots(broker_notices: tuple[str, ...] = ()) -> list[BrokerSnapshot]:
    """`broker_notices` go to the Redis broker's snapshot, as its poller would put its adapter's."""
    lag = _lag()
    kafka = BrokerSnapshot(
        name="orders-kafka", kind="kafka", status=BrokerStatus.CONNECTED, capabilities=KAFKA_CAPS,
        destinations=(
            Destination("orders-kafka", "orders", DestinationKind.TOPIC, depth=8200, partitions=2, rate_in=52.5,
                        consumers=3),
            Destination("orders-kafka", "payments", DestinationKind.TOPIC, depth=512, partitions=1, rate_in=0.0),
            Destination("orders-kafka", "orders.DLQ", DestinationKind.TOPIC, depth=3, partitions=1, is_dlq=True),
            Destination("orders-kafka", "__consumer_offsets", DestinationKind.TOPIC, depth=99, internal=True),
        ),
        lag=tuple(g for g in lag if g.broker == "orders-kafka"),
        dlqs=(DeadLetterQueue("orders-kafka", "orders.DLQ", DestinationKind.TOPIC, "orders", 3,
                              oldest=NOW - timedelta(hours=2)),),
        polled_at=NOW - timedelta(seconds=1),
    )  # fmt: skip
    redis = BrokerSnapshot(
        name="cache-redis", kind="redis", status=BrokerStatus.DEGRADED, capabilities=REDIS_CAPS,
        replay_verb="requeue",
        error="cache-redis: backlog: no answer within 5s",
        destinations=(
            Destination("cache-redis", "jobs", DestinationKind.STREAM, depth=1200, in_flight=3, consumers=4),
            Destination("cache-redis", "queue:emails", DestinationKind.LIST, depth=42),
            Destination("cache-redis", HOSTILE, DestinationKind.LIST, depth=1),
            Destination("cache-redis", "jobs:dlq", DestinationKind.STREAM, depth=7, is_dlq=True),
        ),
        lag=tuple(g for g in lag if g.broker == "cache-redis"),
        dlqs=(DeadLetterQueue("cache-redis", "jobs:dlq", DestinationKind.STREAM, "jobs", 7,
                              oldest=NOW - timedelta(days=3)),),
        polled_at=NOW - timedelta(seconds=7),
        failures=1,
        notices=broker_notices,
    )  # fmt: skip
    nats = BrokerSnapshot(
        name="events-nats", kind="nats", status=BrokerStatus.UNREACHABLE,
        error="events-nats: connection refused by 127.0.0.1:4222",
        next_retry_at=NOW + timedelta(seconds=8), failures=3,
    )  # fmt: skip
    return [kafka, redis, nats]


@dataclass
class FixedData:
    """What the fake brokers answer, and the writes they were asked."""

    snapshots: Sequence[BrokerSnapshot]
    now: datetime
    details: Mapping[tuple[str, str], Detail] = field(default_factory=dict)
    """(broker, destination or group) -> detail."""
    dead_letters: Mapping[tuple[str, str], Sequence[DeadLetter]] = field(default_factory=dict)
    messages: Mapping[tuple[str, str], Sequence[Message]] = field(default_factory=dict)
    """(broker, destination) -> what a tail or a peek of it shows."""
    requests: list[tuple[str, tuple[object, ...]]] = field(default_factory=list)
    """Every write asked of a fake adapter, in order (what a look test can assert on)."""


class FakeAdapter(BrokerAdapter[BrokerConfig]):
    """A broker that answers from `FixedData` and accepts every write it can do, changing nothing.

    One subclass per kind declares that kind's capabilities, so the gateway refuses what the real
    adapter would; `fake_adapters(data)` is the factory a session registers instead of the real ones.
    """

    data: FixedData

    def __init__(self, config: BrokerConfig, data: FixedData) -> None:
        super().__init__(config)
        self.data = data

    async def connect(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def _snapshot(self) -> BrokerSnapshot:
        return next(s for s in self.data.snapshots if s.name == self.name)

    def _write(self, action: str, *args: object) -> None:
        self.data.requests.append((action, (self.name, *args)))

    def _detail(self, name: str) -> Detail:
        try:
            return self.data.details[(self.name, name)]
        except KeyError:
            raise NotFound(f"{self.name}: {name} not found") from None

    async def destinations(self, *, include_internal: bool = False) -> list[Destination]:
        return [d for d in self._snapshot().destinations if include_internal or not d.internal]

    async def backlog(self, *, group: str | None = None) -> list[BacklogRow]:
        rows = [row for lag in self._snapshot().lag for row in lag.rows]
        return [row for row in rows if group is None or row.group == group]

    async def dead_letter_queues(self) -> list[DeadLetterQueue]:
        return list(self._snapshot().dlqs)

    async def describe(self, destination: str) -> Detail:
        return self._detail(destination)

    async def describe_group(self, group: str) -> Detail:
        return self._detail(group)

    async def describe_server(self) -> Detail:
        return self._detail("$server")

    def tail(
        self, destination: str, *, start: StartPosition, stop_at_end: bool = False
    ) -> AsyncIterator[Sequence[Message]]:
        async def batches() -> AsyncIterator[Sequence[Message]]:
            yield list(self.data.messages.get((self.name, destination), ()))

        return batches()

    async def plan_range(self, destination: str, *, start: StartPosition, end: StartPosition | None) -> RangePlan:
        """The fixed messages of `destination`, one part per partition (the range is not narrowed)."""
        messages = self.data.messages.get((self.name, destination), ())
        if not messages:
            raise NotFound(f"{self.name}: {destination} not found")
        by_part: dict[int | None, list[Message]] = {}
        for m in messages:
            by_part.setdefault(m.partition, []).append(m)
        parts = tuple(
            RangePart(part, found[0].position, found[-1].position, len(found)) for part, found in sorted(
                by_part.items(), key=lambda item: -1 if item[0] is None else item[0])
        )  # fmt: skip
        return RangePlan(destination, parts)

    async def read_range(self, plan: RangePlan) -> AsyncIterator[Sequence[Message]]:
        yield list(self.data.messages.get((self.name, plan.destination), ()))

    async def peek(self, destination: str, *, limit: int = 10) -> list[Message]:
        self._write("peek", destination, limit)
        return list(self.data.messages.get((self.name, destination), ()))[:limit]

    async def dead_letters(self, dlq: str, *, limit: int = 100) -> list[DeadLetter]:
        return list(self.data.dead_letters.get((self.name, dlq), ()))[:limit]

    async def plan_replay(
        self, dlq: str, *, to: str | None = None, ids: Collection[str] | None = None, limit: int | None = None
    ) -> list[ReplayItem]:
        letters = self.data.dead_letters.get((self.name, dlq), ())
        return [
            ReplayItem(letter.id, to or letter.origin or "?", "original is gone" if letter.gone else None)
            for letter in letters
            if ids is None or letter.id in ids
        ]

    async def replay(
        self,
        dlq: str,
        *,
        to: str | None = None,
        ids: Collection[str] | None = None,
        limit: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> ReplayResult:
        self._write("replay", dlq, to, tuple(ids or ()))
        plan = await self.plan_replay(dlq, to=to, ids=ids)
        sent = [item for item in plan if item.skip_reason is None]
        if progress is not None:
            progress(len(sent), len(sent))
        return ReplayResult(sent=len(sent), skipped=len(plan) - len(sent))

    async def delete_dead_letters(self, dlq: str, ids: Collection[str]) -> int:
        self._write("delete", dlq, tuple(ids))
        return len(ids)

    async def publish(
        self, destination: str, messages: Sequence[OutgoingMessage], *, options: Mapping[str, str] | None = None
    ) -> PublishResult:
        self._write("publish", destination, tuple(messages), dict(options or {}))
        return PublishResult(sent=len(messages))

    async def purge(self, destination: str) -> int:
        self._write("purge", destination)
        return 0

    async def plan_move(self, source: str, *, to: str) -> int:
        return 0

    async def move_queue(self, source: str, *, to: str, progress: ProgressCallback | None = None) -> ReplayResult:
        self._write("move", source, to)
        return ReplayResult(sent=0)

    async def request(self, destination: str, message: OutgoingMessage, *, timeout: float) -> Message:
        self._write("request", destination, message, timeout)
        return Message(self.name, destination, None, 1, self.data.now, None, message.value, message.headers)

    async def reset_offsets(self, group: str, *, to: StartPosition, destination: str | None = None) -> list[BacklogRow]:
        self._write("reset-offsets", group, str(to), destination)
        raise Unsupported(f"{self.name}: fixed data cannot reset offsets")


class FakeKafka(FakeAdapter):
    kind: ClassVar[str] = "kafka"
    capabilities: ClassVar[Capability] = KAFKA_CAPS


class FakeRedis(FakeAdapter):
    kind: ClassVar[str] = "redis"
    capabilities: ClassVar[Capability] = REDIS_CAPS
    replay_verb: ClassVar[str] = "requeue"


class FakeNats(FakeAdapter):
    kind: ClassVar[str] = "nats"
    capabilities: ClassVar[Capability] = NATS_CAPS


def fake_adapters(data: FixedData) -> AdapterRegistry:
    """The adapters of a session whose brokers are fakes answering from `data`, registered the way
    `mqtui.brokers.ADAPTERS` registers the real ones."""
    registry = AdapterRegistry()
    for fake in (FakeKafka, FakeRedis, FakeNats):
        registry.register(fake.kind, lambda config, fake=fake: fake(config, data), fake.capabilities)
    return registry


class FixedBackend(ConsoleBackend):
    """The console's backend over fake brokers: fixed snapshots and clock, every action through `call`."""

    def __init__(self, session: Session, data: FixedData) -> None:
        super().__init__(session)
        self.data = data
        self.started = False
        self.stopped = False

    @property
    def requests(self) -> list[tuple[str, tuple[object, ...]]]:
        return self.data.requests

    def now(self) -> datetime:
        return self.data.now

    def start(self, listener: SnapshotListener) -> None:
        self.started = True
        for snapshot in self.data.snapshots:
            listener(snapshot)

    def stop(self) -> None:
        self.stopped = True

    def snapshots(self) -> dict[str, BrokerSnapshot]:
        return {snapshot.name: snapshot for snapshot in self.data.snapshots}

    def tail(self, broker: str, destination: str, start: StartPosition, *, capacity: int = 50_000) -> TailStream:
        messages = self.data.messages.get((broker, destination), ())
        return TailStream.fixed(self.profile.broker(broker), destination, messages)

    def open_profile(self, name: str) -> ConsoleBackend:
        raise NotFound(f"unknown profile {name!r}")


def fixed_backend(
    prof: Profile, data: FixedData, *, config: Config | None = None, notices: Iterable[str] = (), name: str = "prod"
) -> FixedBackend:
    """A backend for profile `name` whose brokers are fakes answering from `data`."""
    config = config or Config(profiles={name: prof})
    session = Session(name, prof, config, Path("fixed.toml"), tuple(notices), adapters=fake_adapters(data))
    return FixedBackend(session, data)


def static_backend(
    *,
    readonly: bool = False,
    production: bool = False,
    notices: tuple[str, ...] = (),
    broker_notices: tuple[str, ...] = (),
    theme: str = "mqtui-dark",
    keys: dict[str, str] | None = None,
) -> FixedBackend:
    prof = profile(readonly=readonly, production=production)
    data = FixedData(
        snapshots=snapshots(broker_notices),
        now=NOW,
        details={
            ("orders-kafka", "orders"): Detail(
                "orders-kafka",
                "orders",
                summary=(("partitions", "2"), ("retention.ms", "604800000")),
                sections=(
                    DetailSection(
                        "Partitions",
                        ("partition", "low", "high", "leader"),
                        (("0", "0", "5000", "1"), ("1", "0", "3200", "1")),
                    ),
                ),
            ),
            ("orders-kafka", "billing"): Detail(
                "orders-kafka",
                "billing",
                summary=(("state", "Stable"),),
                sections=(
                    DetailSection(
                        "Members",
                        ("member", "host", "assignment"),
                        (("billing-1", "/10.0.0.1", "orders[0]"), ("billing-2", "/10.0.0.2", "orders[1]")),
                    ),
                ),
            ),
        },
        dead_letters={("orders-kafka", "orders.DLQ"): LETTERS},
        messages={("orders-kafka", "orders"): MESSAGES},
    )
    config = Config(theme=theme, keys=keys or {}, profiles={"prod": prof, "staging": prof})
    return fixed_backend(prof, data, config=config, notices=notices)
