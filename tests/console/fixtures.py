"""Fixed data for look tests: three brokers in three states, with the kinds of rows an incident shows.

Built through the same services the live console uses (LagHistory computes the trends), only the
broker answers are fixed. Includes hostile names and payloads, so every look test is also a check
that nothing in a message is interpreted as markup or reaches the terminal raw.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mqtui.config import Config, Profile, parse_config
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
)
from mqtui.services.history import LagHistory
from mqtui.services.snapshot import BrokerSnapshot, BrokerStatus, group_backlog
from mqtui.services.static import StaticBackend, StaticData

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
HOSTILE = "[bold red]pwned[/] \x1b]0;title\x07 [@click=app.quit]"

KAFKA_CAPS = Capability.TAIL | Capability.PUBLISH | Capability.REPLAY | Capability.RESET_OFFSETS
REDIS_CAPS = Capability.TAIL | Capability.PUBLISH | Capability.REPLAY | Capability.DELETE_DEAD_LETTER | Capability.PURGE


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
    return parse_config(raw, __import__("pathlib").Path("fixed.toml")).profiles["prod"]


def _lag() -> list:  # type: ignore[type-arg]
    """Groups after six polls: one draining, one growing, one stalled, one caught up, and one draining
    whose lag is a lower bound (Redis said nil and the count stopped at its limit)."""
    history = LagHistory(stall_polls=3)
    result = []
    for poll in range(6):
        rows = [
            BacklogRow("orders-kafka", "orders", "billing", 0, committed=1000 + 300 * poll, end=5000 + 100 * poll,
                       lag=4000 - 200 * poll, consumers=2, state="Stable", members=("billing-1",)),
            BacklogRow("orders-kafka", "orders", "billing", 1, committed=900 + 300 * poll, end=3000 + 100 * poll,
                       lag=2100 - 200 * poll, consumers=2, state="Stable", members=("billing-2",)),
            BacklogRow("orders-kafka", "orders", "analytics", 0, committed=10 + 5 * poll, end=5000 + 100 * poll,
                       lag=4990 + 95 * poll, consumers=1, state="Stable"),
            BacklogRow("orders-kafka", "payments", "ledger", 0, committed=77, end=512, lag=435, consumers=0,
                       state="Empty"),
            BacklogRow("cache-redis", "jobs", "workers", None, committed=f"{poll}-0", end=f"{poll}-0", lag=0,
                       consumers=4, in_flight=3),
            BacklogRow("cache-redis", HOSTILE, "grp", None, lag=12, consumers=1),
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


def static_backend(
    *,
    readonly: bool = False,
    production: bool = False,
    notices: tuple[str, ...] = (),
    broker_notices: tuple[str, ...] = (),
    theme: str = "mqtui-dark",
    keys: dict[str, str] | None = None,
) -> StaticBackend:
    prof = profile(readonly=readonly, production=production)
    data = StaticData(
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
    return StaticBackend("prod", prof, data, config=config, notices=notices)
