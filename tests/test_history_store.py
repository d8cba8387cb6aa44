"""The lag history file: what a poll records, gaps, batching, retention, and a bad file turning it off."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from mqtui.config import RedisConfig
from mqtui.demo.localbrokers import LocalRedis
from mqtui.errors import ConfigError
from mqtui.model import BacklogRow, Destination, DestinationKind
from mqtui.services import store as store_module
from mqtui.services.backend import LiveBackend
from mqtui.services.history import LagHistory
from mqtui.services.poller import BrokerPoller
from mqtui.services.snapshot import BrokerSnapshot, BrokerStatus, group_backlog
from mqtui.services.store import HistoryStore, Point, default_path
from mqtui.ui.cells import sparkline
from tests.helpers import write_config

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def snapshot(
    lag: int, at: datetime, *, status: BrokerStatus = BrokerStatus.CONNECTED, groups: int = 1
) -> BrokerSnapshot:
    """Broker k: `groups` groups on "orders", the first lagging `lag` with its oldest message 30 s old."""
    rows = [
        BacklogRow("k", "orders", f"g{i}", 0, committed=100 + i, end=100 + i + lag, lag=lag, consumers=2,
                   oldest_waiting_at=at - timedelta(seconds=30))
        for i in range(groups)
    ]  # fmt: skip
    destination = Destination("k", "orders", DestinationKind.TOPIC, depth=lag, rate_in=12.5, rate_out=10.0)
    return BrokerSnapshot("k", "kafka", status=status, destinations=(destination,), lag=tuple(group_backlog(rows)),
                          polled_at=at)  # fmt: skip


def opened(path: Path, **kwargs: object) -> HistoryStore:
    store = HistoryStore(path, **kwargs)  # type: ignore[arg-type]
    assert store.failure is None, store.failure
    return store


def test_a_poll_records_lag_time_lag_and_rates_and_a_down_poll_records_a_gap(tmp_path: Path) -> None:
    store = opened(tmp_path / "h.sqlite3", clock=lambda: T0.timestamp())
    store.record(snapshot(500, T0), T0)
    down = snapshot(500, T0, status=BrokerStatus.UNREACHABLE)  # rows kept from the last good poll
    store.record(down, T0 + timedelta(seconds=2))
    store.record(snapshot(300, T0 + timedelta(seconds=4)), T0 + timedelta(seconds=4))
    assert store.flush()
    points = store.series("k", "orders", "g0", T0 - timedelta(minutes=1))
    assert [(p.at, p.lag, p.time_lag, p.rate_in, p.rate_out, p.gap) for p in points] == [
        (T0, 500, 30.0, 12.5, 10.0, False),
        (T0 + timedelta(seconds=2), None, None, None, None, True),
        (T0 + timedelta(seconds=4), 300, 30.0, 12.5, 10.0, False),
    ]
    assert store.counts() == (3, 3)  # one poll row per snapshot, up or down
    assert store.outages("k", T0 - timedelta(minutes=1)) == [(T0 + timedelta(seconds=2), T0 + timedelta(seconds=4))]
    store.record(down, T0 + timedelta(seconds=6))
    assert store.flush()
    assert store.outages("k", T0 + timedelta(seconds=3))[-1] == (T0 + timedelta(seconds=6), None)  # still down
    store.close()


def test_a_connecting_snapshot_records_nothing(tmp_path: Path) -> None:
    store = opened(tmp_path / "h.sqlite3")
    store.record(BrokerSnapshot("k", "kafka"), T0)
    assert store.flush()
    assert store.counts() == (0, 0)
    store.close()


def test_what_queues_while_the_writer_waits_goes_in_one_transaction(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    store = opened(path)
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # the writer's first transaction waits for this lock
    store.record(snapshot(1, T0), T0)
    for n in range(50):
        store.record(snapshot(n, T0 + timedelta(seconds=n + 1), groups=3), T0)
    threading.Timer(0.3, holder.rollback).start()
    assert store.flush()
    holder.close()
    assert store.counts() == (1 + 50 * 3, 51)
    assert store.batches <= 2  # 51 snapshots: the first alone at most, the other 50 together
    store.close()


def test_retention_deletes_old_rows_in_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "PRUNE_BATCH", 7)
    monkeypatch.setattr(store_module, "PRUNE_EVERY", 0.0)
    now = [(T0 - timedelta(seconds=100)).timestamp()]  # when this run started
    store = opened(tmp_path / "h.sqlite3", retention=60.0, clock=lambda: now[0])
    for n in range(30):  # 30 polls, 2 s apart, two groups each, ending at T0
        at = T0 - timedelta(seconds=58 - 2 * n)
        store.record(snapshot(n, at, groups=2), at)
    assert store.flush()
    assert store.counts() == (60, 30)
    now[0] = (T0 + timedelta(seconds=31)).timestamp()  # the first 16 polls are now over a minute old
    store.record(snapshot(99, T0 + timedelta(seconds=31)), T0)  # a batch: retention runs after it
    assert store.flush()
    points = store.series("k", "orders", "g0", T0 - timedelta(hours=1))
    assert len(points) == 16  # 7 rows a transaction: 30 of them went in 5 batches
    assert points[0].at == T0 - timedelta(seconds=28)
    assert store.counts() == (15 * 2 + 1, 16)
    store.close()


def test_a_new_run_puts_a_gap_in_the_series(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    first = opened(path, clock=lambda: T0.timestamp())
    first.record(snapshot(10, T0 + timedelta(seconds=1)), T0)
    first.close()
    later = T0 + timedelta(minutes=10)
    second = opened(path, clock=lambda: later.timestamp())
    second.record(snapshot(20, later + timedelta(seconds=1)), later)
    assert second.flush()
    points = second.series("k", "orders", "g0", T0 - timedelta(minutes=1))
    assert [(p.at, p.lag) for p in points] == [
        (T0 + timedelta(seconds=1), 10),
        (later, None),  # not watched between the two runs
        (later + timedelta(seconds=1), 20),
    ]
    assert second.series_of([("k", "orders", "g0"), ("k", "orders", "none")], T0 - timedelta(minutes=1)) == {
        ("k", "orders", "g0"): points
    }
    assert second.recent(["k"], T0 - timedelta(minutes=1), 10) == {("k", "orders", "g0"): [
        Point(T0 + timedelta(seconds=1), 10, 30.0, 12.5, 10.0, 100, None, 2),
        Point(later + timedelta(seconds=1), 20, 30.0, 12.5, 10.0, 100, None, 2),
    ]}  # fmt: skip
    second.close()


def test_a_corrupt_file_turns_history_off_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    path.write_bytes(b"this is no database, and it is long enough to have a header" * 100)
    store = HistoryStore(path)
    assert store.failure is not None and "\n" not in store.failure
    assert store.failure.startswith(f"history off: {path}: ") and "not a database" in store.failure
    store.record(snapshot(1, T0), T0)  # ignored, never raises
    assert store.series("k", "orders", "g0", T0) == [] and not store.recording
    store.close()


def test_a_locked_file_turns_history_off_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    opened(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        store = HistoryStore(path)
        assert store.failure == f"history off: {path}: database is locked"
    finally:
        holder.rollback()
        holder.close()


def test_an_unwritable_place_turns_history_off_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("a file where the history directory should be")
    store = HistoryStore(tmp_path / "file" / "history" / "p.sqlite3")
    assert store.failure is not None and store.failure.startswith("history off: ") and "\n" not in store.failure


def test_a_failure_while_writing_turns_history_off_and_says_so_once(tmp_path: Path) -> None:
    said: list[str] = []
    path = tmp_path / "h.sqlite3"
    store = opened(path, on_failure=said.append)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # held past the writer's busy timeout
    try:
        store.record(snapshot(1, T0), T0)
        assert store.flush()
        store.record(snapshot(2, T0), T0)
        assert store.flush()
    finally:
        holder.rollback()
        holder.close()
    assert said == [f"history off: {path}: database is locked"] and store.failure == said[0]
    assert store.counts() == (0, 0)
    store.close()


def test_the_file_lives_under_the_data_directory_per_profile(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MQTUI_DATA_DIR", str(tmp_path))
    assert default_path("prod") == tmp_path / "history" / "prod.sqlite3"
    assert default_path("../etc/x") == tmp_path / "history" / "_etc_x.sqlite3"


def test_lag_history_shows_a_gap_for_a_down_poll_and_after_a_restore() -> None:
    history = LagHistory(stall_polls=3)
    groups = group_backlog([BacklogRow("k", "orders", "g0", 0, committed=1, end=11, lag=10, consumers=1)])
    history.observe("k", groups, 0.0)
    (down,) = history.gap("k", groups, 2.0)
    assert down.trend.history == (10, None) and down.lag == 10  # the row keeps its last lag, dimmed
    (back,) = history.observe("k", groups, 4.0)
    assert back.trend.history == (10, None, 10)
    assert sparkline(back.trend.history) == "▄ ▄"

    restored = LagHistory(stall_polls=3)
    now = T0 + timedelta(minutes=5)
    kept = [Point(T0, 40, committed=1), Point(T0 + timedelta(seconds=2), 30, committed=11)]
    restored.restore({("k", "orders", "g0"): kept}, now, 1000.0)
    (first,) = restored.observe("k", groups, 1002.0)
    assert first.trend.history == (40, 30, None, 10)
    assert sparkline(first.trend.history) == "█▆ ▁"


def test_samples_closer_than_the_interval_are_skipped_but_not_a_change_of_state(tmp_path: Path) -> None:
    store = opened(tmp_path / "h.sqlite3", every=10.0, clock=lambda: T0.timestamp())
    for second in range(0, 30, 2):  # polls every 2 s; down from 12 s to 18 s
        at = T0 + timedelta(seconds=second)
        status = BrokerStatus.UNREACHABLE if 12 <= second <= 18 else BrokerStatus.CONNECTED
        store.record(snapshot(second, at, status=status), at)
    assert store.flush()
    points = store.series("k", "orders", "g0", T0 - timedelta(minutes=1))
    assert [(int((p.at - T0).total_seconds()), p.lag) for p in points] == [
        (0, 0), (10, 10), (12, None), (20, 20)  # up 0, up 10, down at 12, up again at 20 (then 30 is not yet)
    ]  # fmt: skip
    store.close()


BROKERS = [{"name": "r", "kind": "redis", "url": "redis://127.0.0.1:1/0"}]


def test_the_console_records_in_a_readonly_profile_and_not_with_history_off(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", {"ro": {"readonly": True, "brokers": BROKERS},
                                                 "off": {"history": False, "brokers": BROKERS}})  # fmt: skip
    readonly = LiveBackend.open(config, "ro")
    off = LiveBackend.open(config, "off")
    try:
        assert readonly.store is not None and readonly.store.path == default_path("ro")
        assert off.store is None and off.notices == ()
    finally:
        readonly.stop()
        off.stop()


def test_a_corrupt_file_means_one_notice_and_a_console_without_history(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", {"ops": {"brokers": BROKERS}})
    default_path("ops").parent.mkdir(parents=True)
    default_path("ops").write_bytes(b"\x00garbage" * 1000)
    backend = LiveBackend.open(config, "ops")
    try:
        assert backend.store is None
        assert [n for n in backend.notices if n.startswith("history off: ")] == [
            f"history off: {default_path('ops')}: file is not a database"
        ]
    finally:
        backend.stop()


def test_bad_history_settings_are_one_line_at_load(tmp_path: Path) -> None:
    for key, value in (("history_retention", "a day"), ("history_interval", -1)):
        config = write_config(tmp_path / "c.toml", {"ops": {key: value, "brokers": BROKERS}})
        with pytest.raises(ConfigError, match=key):
            LiveBackend.open(config, "ops")


async def test_a_broker_killed_between_polls_leaves_a_gap_in_the_trend_and_the_file(tmp_path: Path) -> None:
    broker = LocalRedis(tmp_path / "redis", name="flaky").start()
    store = opened(tmp_path / "h.sqlite3")
    clock = iter(range(0, 100, 2))
    try:
        client = redis.Redis(port=broker.port)
        client.xadd("events", {"n": "1"})
        client.xgroup_create("events", "workers", id="0")
        poller = BrokerPoller(
            RedisConfig(name="flaky", url=broker.url, timeout=1.0),
            interval=0.1,
            listener=lambda s: store.record(s, datetime.now(UTC)),
            clock=lambda: float(next(clock)),
        )
        await poller.poll_once()
        broker.kill()
        await poller.poll_once()
        (stale,) = [g for g in poller.latest.lag if g.group == "workers"]
        assert stale.trend.history == (1, None) and stale.lag == 1  # the row stays, its sparkline breaks
        broker.start()  # same port, empty (no persistence)
        client = redis.Redis(port=broker.port)
        client.xadd("events", {"n": "1"})
        client.xadd("events", {"n": "2"})
        client.xgroup_create("events", "workers", id="0")
        await poller.poll_once()
        (back,) = [g for g in poller.latest.lag if g.group == "workers"]
        assert back.trend.history == (1, None, 2)
        await poller.close()
        assert store.flush()
        points = store.series("flaky", "events", "workers", datetime.now(UTC) - timedelta(minutes=1))
        assert [p.lag for p in points] == [1, None, 2]
        assert [up is not None for _down, up in store.outages("flaky", T0)] == [True]
    finally:
        store.close()
        broker.stop()
