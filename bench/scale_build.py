"""Production-scale snapshots for the console bench: thousands of destinations, lag rows and DLQs.

The console's key-to-screen latency is a property of the UI, not of the brokers: it is measured on
snapshots built here, as a poller would build them (`group_backlog` folds partitions, `LagHistory` adds
the trends), spread over one broker of each kind, and fed to the console by `ScaleBackend` on a fixed
beat. Every poll moves every figure (depths, lags, rates), which also reorders the lag rows: the worst
case for a table that follows keyed rows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mqtui.config import Config, parse_config
from mqtui.model import BacklogRow, Capability, DeadLetterQueue, Destination, DestinationKind, StartPosition
from mqtui.services.backend import ConsoleBackend, SnapshotListener
from mqtui.services.history import LagHistory
from mqtui.services.session import Session
from mqtui.services.snapshot import BrokerSnapshot, BrokerStatus, group_backlog
from mqtui.services.tailer import TailStream

NOW = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
BROKERS = [("kafka", "kafka", DestinationKind.TOPIC), ("rabbit", "rabbitmq", DestinationKind.QUEUE),
           ("redis", "redis", DestinationKind.STREAM), ("nats", "nats", DestinationKind.STREAM)]  # fmt: skip
URLS = {"kafka": "127.0.0.1:1", "rabbitmq": "amqp://127.0.0.1:1", "redis": "redis://127.0.0.1:1/0",
        "nats": "nats://127.0.0.1:1"}  # fmt: skip
CAPS = Capability.TAIL | Capability.PUBLISH | Capability.REPLAY | Capability.RESET_OFFSETS | Capability.PURGE


@dataclass(frozen=True)
class Scale:
    """How big the profile is, across its four brokers."""

    destinations: int
    lag_rows: int
    dlqs: int
    partitions: int = 30
    """Partitions per Kafka group: 6,000 lag rows are 200 groups of 30 partitions."""

    @property
    def rows(self) -> int:
        return self.destinations + self.lag_rows + self.dlqs


SMALL = Scale(destinations=50, lag_rows=50, dlqs=5, partitions=5)
LARGE = Scale(destinations=10_000, lag_rows=6_000, dlqs=1_000)


class Polls:
    """One snapshot per broker per poll; poll `n` moves every figure from poll `n - 1`."""

    def __init__(self, scale: Scale) -> None:
        self.scale = scale
        self.history = LagHistory(stall_polls=3)
        self.count = 0

    def next(self, step: Callable[[], None] = lambda: None) -> list[BrokerSnapshot]:
        """`step` is called before each broker's snapshot is built, as a poller's loop runs between steps."""
        poll = self.count
        self.count += 1
        snapshots = []
        for index, (name, kind, dkind) in enumerate(BROKERS):
            step()
            snapshots.append(self._broker(index, name, kind, dkind, poll))
        return snapshots

    def _broker(self, index: int, name: str, kind: str, dkind: DestinationKind, poll: int) -> BrokerSnapshot:
        share = self.scale.destinations // len(BROKERS)
        dlq_share = self.scale.dlqs // len(BROKERS)
        destinations = []
        for i in range(share):
            dead = i < dlq_share
            label = f"orders.{i:05d}.DLQ" if dead else f"orders.{i:05d}"
            wobble = (i * 7919 + poll * 104729) % 997
            destinations.append(
                Destination(name, label, dkind, depth=1000 + wobble, in_flight=i % 7, consumers=i % 5,
                            partitions=3 if kind == "kafka" else None, rate_in=float(wobble % 50),
                            rate_out=float((wobble * 3) % 50), is_dlq=dead)
            )  # fmt: skip
        dlqs = tuple(
            DeadLetterQueue(name, f"orders.{i:05d}.DLQ", dkind, f"orders.{i:05d}", 3 + (i + poll) % 11,
                            oldest=NOW - timedelta(hours=i % 48))
            for i in range(dlq_share)
        )  # fmt: skip
        rows = []
        if kind == "kafka":
            groups = self.scale.lag_rows // self.scale.partitions
            for g in range(groups):
                for p in range(self.scale.partitions):
                    lag = (g * 31 + p * 17 + poll * (1 + g % 5) * 13) % 5000
                    rows.append(
                        BacklogRow(name, f"orders.{g % max(1, share):05d}", f"group-{g:04d}", p, committed=poll * 100,
                                   end=poll * 100 + lag, lag=lag, consumers=2, state="Stable",
                                   oldest_waiting_at=NOW - timedelta(seconds=lag % 600))
                    )  # fmt: skip
        grouped = group_backlog(rows)
        trends = self.history.observe(name, grouped, poll * 2.0)
        return BrokerSnapshot(
            name=name, kind=kind, status=BrokerStatus.CONNECTED, capabilities=CAPS, destinations=tuple(destinations),
            lag=tuple(trends), dlqs=dlqs, polled_at=NOW + timedelta(seconds=2 * poll),
        )  # fmt: skip


def session(name: str = "scale") -> Session:
    raw = {"profiles": {name: {"brokers": [{"name": n, "kind": k, "url": URLS[k]} for n, k, _ in BROKERS]}}}
    config: Config = parse_config(raw, Path("scale.toml"))
    return Session(name, config.profiles[name], config, Path("scale.toml"))


class ScaleBackend(ConsoleBackend):
    """The console's backend on built snapshots: `deliver` hands one poll over from the caller's thread,
    as `LiveBackend` does from its loop; nothing touches the network."""

    def __init__(self, polls: Polls) -> None:
        super().__init__(session())
        self.polls = polls
        self.latest = polls.next()
        self.listener: SnapshotListener | None = None
        self.lock = threading.Lock()

    def now(self) -> datetime:
        return NOW + timedelta(seconds=2 * self.polls.count)

    def start(self, listener: SnapshotListener) -> None:
        self.listener = listener
        for snapshot in self.latest:
            listener(snapshot)

    def deliver(self, *, same: bool = False) -> None:
        """The next poll (every figure moved), or with `same` the last one again (nothing changed)."""
        with self.lock:
            if not same:
                self.latest = self.polls.next(self.key_hold.step_aside)  # as `LiveBackend`'s loop steps aside
            listener: Callable[[BrokerSnapshot], None] | None = self.listener
            if listener is not None:
                for snapshot in self.latest:
                    listener(snapshot)

    def stop(self) -> None:
        self.listener = None

    def snapshots(self) -> dict[str, BrokerSnapshot]:
        return {snapshot.name: snapshot for snapshot in self.latest}

    def tail(self, broker: str, destination: str, start: StartPosition, *, capacity: int = 50_000) -> TailStream:
        return TailStream.fixed(self.profile.broker(broker), destination, ())

    def open_profile(self, name: str) -> ConsoleBackend:
        raise LookupError(name)
