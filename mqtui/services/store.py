"""Lag history that outlives the console: one SQLite file per profile, written off every hot path.

The in-memory `LagHistory` forgets everything when mqtui stops, so "what did it look like an hour ago,
before I restarted?" had no answer. `HistoryStore` keeps, per poll, each group's lag, time lag and
in/out rates, and each broker's up/down status; a poll of a broker that is down records rows with no
numbers, so a chart or a sparkline drawn from them breaks instead of drawing a flat line through the
outage. Each time a store opens it notes the start of a run, and `series` puts a gap there too: the
time mqtui was not running is not drawn as if it had been watched.

Writing never holds up a poll or a frame: `record` only queues the (immutable) snapshot, and one
writer thread turns whatever has queued into rows and commits it as one transaction (WAL mode, so
the console's chart can read meanwhile). Old rows go in bounded batches, each its own transaction.
The file is the user's and may be corrupt, locked by something else, or on a read-only disk: any
failure turns history off with one line (`failure`), never a failed start or a traceback. The
queries that read it back, and the records they answer with, are in `history_reads.py`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from mqtui.services.history_reads import Outage, Point, read_outages, read_recent, read_series
from mqtui.services.snapshot import PART_LAG, BrokerSnapshot, BrokerStatus, GroupKey, GroupLag

log = logging.getLogger("mqtui.store")
T = TypeVar("T")
__all__ = ["HistoryStore", "Outage", "Point", "default_path"]

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY, broker TEXT NOT NULL, destination TEXT NOT NULL, grp TEXT NOT NULL,
    UNIQUE (broker, destination, grp)
);
CREATE TABLE IF NOT EXISTS points (
    series INTEGER NOT NULL, at REAL NOT NULL, lag INTEGER, time_lag REAL, rate_in REAL, rate_out REAL,
    committed INTEGER, appended INTEGER, consumers INTEGER
);
CREATE INDEX IF NOT EXISTS points_series_at ON points (series, at);
CREATE TABLE IF NOT EXISTS polls (broker TEXT NOT NULL, at REAL NOT NULL, up INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS runs (started REAL NOT NULL);
"""
#: Rows deleted per retention transaction: a day of history goes without holding the file for long.
PRUNE_BATCH = 5_000
#: Seconds between retention passes.
PRUNE_EVERY = 60.0
#: How long to wait for a lock someone else holds before calling the file locked.
BUSY_TIMEOUT_MS = 1_000


_Item = tuple[BrokerSnapshot, datetime] | threading.Event | None
"""What the writer thread takes: a snapshot to record, a flush to answer once written, or the end."""
PointRow = tuple[int, float, int | None, float | None, float | None, float | None, int | None, int | None, int | None]


def default_path(profile: str) -> Path:
    """`history/<profile>.sqlite3` in the user data directory (`MQTUI_DATA_DIR` overrides it: tests)."""
    override = os.environ.get("MQTUI_DATA_DIR")
    if override:
        base = Path(override)
    else:
        from platformdirs import user_data_path

        base = user_data_path("mqtui")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in profile).lstrip(".") or "profile"
    return base / "history" / f"{safe}.sqlite3"


def connect(path: Path) -> sqlite3.Connection:
    """A connection that waits a second for someone else's lock, then fails (rather than hanging)."""
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return connection


class HistoryStore:
    """The SQLite file of one profile: `record` from the backend, `series`/`recent` for whoever reads.

    Opening creates the file and its tables at once (the caller learns of a corrupt or unwritable file
    before the console starts: `failure`); everything after that happens on the writer thread, and a
    later failure there turns history off the same way and calls `on_failure` once with the line.
    """

    def __init__(
        self,
        path: Path,
        *,
        retention: float = 86_400.0,
        every: float = 0.0,
        on_failure: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.retention = retention
        self.every = every
        """Seconds between samples of one broker kept (0: every poll); a change between up and down is
        always kept, so an outage starts and ends where it did."""
        self._kept: dict[str, tuple[float, bool]] = {}
        self.on_failure = on_failure
        self.clock = clock
        self.failure: str | None = None
        """Why history is off (one line naming the file), or None while it records."""
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._series: dict[GroupKey, int] = {}
        self._thread: threading.Thread | None = None
        self._pruned_at = 0.0
        self.batches = 0
        """Transactions the writer committed (the bench and the tests count them)."""
        try:
            self._connection = self._open()
        except (sqlite3.Error, OSError) as exc:
            self.failure = self._failure_line(exc)
            return
        self._thread = threading.Thread(target=self._write_loop, name="mqtui-history", daemon=True)
        self._thread.start()

    @property
    def recording(self) -> bool:
        return self.failure is None

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = connect(self.path)
        try:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise sqlite3.DatabaseError(f"written by a newer mqtui (schema {version})")
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.executescript(SCHEMA)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            connection.execute("INSERT INTO runs (started) VALUES (?)", (self.clock(),))
        except BaseException:
            connection.close()
            raise
        return connection

    def _failure_line(self, exc: BaseException) -> str:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return f"history off: {self.path}: {reason}"

    def _fail(self, exc: BaseException) -> None:
        """History off for the rest of the session; the line goes out once."""
        if self.failure is not None:
            return
        self.failure = self._failure_line(exc)
        log.warning("%s", self.failure)
        if self.on_failure is not None:
            with contextlib.suppress(Exception):
                self.on_failure(self.failure)

    # -- writing -----------------------------------------------------------------------------------
    def record(self, snapshot: BrokerSnapshot, now: datetime) -> None:
        """Queue one delivered snapshot (from one thread, the backend's; O(1)): the writer thread makes
        rows of it. One a broker connecting (no poll yet) is skipped, and so is one within `every` of the
        last kept sample of its broker in the same state (up or down)."""
        if self.failure is not None or self._thread is None or snapshot.status is BrokerStatus.CONNECTING:
            return
        at, down = now.timestamp(), snapshot.status is BrokerStatus.UNREACHABLE
        kept = self._kept.get(snapshot.name)
        if kept is not None and kept[1] == down and at - kept[0] < self.every:
            return
        self._kept[snapshot.name] = (at, down)
        self._queue.put((snapshot, now))

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is committed (tests, and `close`); False on a timeout."""
        if self._thread is None or not self._thread.is_alive():
            return True
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Commit what is queued and close the file (blocking: the backend's stop calls it)."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._queue.put(None)
        thread.join(timeout)

    def _write_loop(self) -> None:
        """Until `close`: each turn takes everything queued, writes it as one transaction and answers
        the flushes among it. A failure turns history off but the loop goes on answering flushes."""
        connection = self._connection
        try:
            stop = False
            while not stop:
                items = [self._queue.get()]
                with contextlib.suppress(queue.Empty):  # everything queued meanwhile joins this transaction
                    while True:
                        items.append(self._queue.get_nowait())
                stop = None in items
                batch = [item for item in items if isinstance(item, tuple)]
                if self.failure is None:
                    try:
                        self._write(connection, batch)
                        self._prune_if_due(connection)
                    except Exception as exc:  # anything from the file: history off, never a crash
                        self._fail(exc)
                for item in items:
                    if isinstance(item, threading.Event):
                        item.set()
        finally:
            connection.close()

    def _write(self, connection: sqlite3.Connection, batch: Sequence[tuple[BrokerSnapshot, datetime]]) -> None:
        if not batch:
            return
        connection.execute("BEGIN IMMEDIATE")
        try:
            points: list[PointRow] = []
            polls: list[tuple[str, float, int]] = []
            for snapshot, now in batch:
                at, up, snapshot_points = self._rows(connection, snapshot, now)
                points.extend(snapshot_points)
                polls.append((snapshot.name, at, up))
            connection.executemany("INSERT INTO points VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", points)
            connection.executemany("INSERT INTO polls VALUES (?, ?, ?)", polls)
            connection.execute("COMMIT")
            self.batches += 1
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                connection.execute("ROLLBACK")
            self._series.clear()  # ids made in the rolled-back transaction are gone with it
            raise

    def _rows(
        self, connection: sqlite3.Connection, snapshot: BrokerSnapshot, now: datetime
    ) -> tuple[float, int, list[PointRow]]:
        """(when, up, point rows) for one snapshot: a broker that is down gets a gap row for each group
        it had, at the time of the failed poll; one that answered its numbers at the time of the poll."""
        if snapshot.stale(PART_LAG):  # down, or its lag read failed: the lag shown is from before
            at, up = now.timestamp(), int(snapshot.status is not BrokerStatus.UNREACHABLE)
            return at, up, [(self._series_id(connection, g.key), at, *_NO_NUMBERS) for g in snapshot.lag]
        when = snapshot.polled_at or now
        at = when.timestamp()
        rates_in = {d.name: d.rate_in for d in snapshot.destinations if d.rate_in is not None}
        rates_out = {d.name: d.rate_out for d in snapshot.destinations if d.rate_out is not None}
        points: list[PointRow] = [
            (self._series_id(connection, group.key), at, *_numbers(group, when, rates_in, rates_out))
            for group in snapshot.lag
        ]
        return at, 1, points

    def _series_id(self, connection: sqlite3.Connection, key: GroupKey) -> int:
        known = self._series.get(key)
        if known is not None:
            return known
        connection.execute("INSERT OR IGNORE INTO series (broker, destination, grp) VALUES (?, ?, ?)", key)
        row = connection.execute(
            "SELECT id FROM series WHERE broker = ? AND destination = ? AND grp = ?", key
        ).fetchone()
        self._series[key] = int(row[0])
        return self._series[key]

    def _prune_if_due(self, connection: sqlite3.Connection) -> None:
        now = self.clock()
        if now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        self.prune(connection, now - self.retention)

    def prune(self, connection: sqlite3.Connection, before: float) -> int:
        """Delete rows older than `before`, PRUNE_BATCH at a time, each batch its own transaction.

        Rows go in by time, so the oldest have the lowest rowids: each batch reads from the start of the
        table and stops after PRUNE_BATCH, no index on the time needed."""
        deleted = 0
        for table, column in (("points", "at"), ("polls", "at"), ("runs", "started")):
            while True:
                cursor = connection.execute(
                    f"DELETE FROM {table} WHERE rowid IN "  # table and column are ours, never input
                    f"(SELECT rowid FROM {table} WHERE {column} < ? ORDER BY rowid LIMIT ?)",
                    (before, PRUNE_BATCH),
                )
                deleted += cursor.rowcount
                if cursor.rowcount < PRUNE_BATCH:
                    break
        return deleted

    # -- reading (any thread; WAL lets it run beside the writer) ---------------------------------------
    @contextlib.contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        connection = connect(self.path)
        try:
            yield connection
        finally:
            connection.close()

    def series(self, broker: str, destination: str, group: str, since: datetime) -> list[Point]:
        """One group's points from `since` on, oldest first, with a gap point where each later run of
        mqtui started (nothing was watched between the last point before it and that start).

        Blocking: call it from a thread. An unreadable file answers [] (and turns history off)."""
        key = (broker, destination, group)
        return self.series_of([key], since).get(key, [])

    def series_of(self, keys: Iterable[GroupKey], since: datetime) -> dict[GroupKey, list[Point]]:
        """`series` of many groups on one connection (an incident snapshot reads every group shown);
        groups with no points are left out. Blocking: call it from a thread."""
        return self._read(lambda connection: read_series(connection, keys, since.timestamp()), {})

    def outages(self, broker: str, since: datetime) -> list[Outage]:
        """When `broker` was down from `since` on: (first failed sample, first answer after it or None
        while it is still down), from the up/down kept with every sample. Blocking: call it from a thread."""
        return self._read(lambda connection: read_outages(connection, broker, since.timestamp()), [])

    def recent(self, brokers: Iterable[str], since: datetime, limit: int) -> dict[GroupKey, list[Point]]:
        """Each group's last `limit` points from `since` on, oldest first, for the brokers named: what
        the Lag pane's history starts from after a restart. Blocking: call it from a thread."""
        names = list(brokers)
        return self._read(lambda connection: read_recent(connection, names, since.timestamp(), limit), {})

    def _read(self, query: Callable[[sqlite3.Connection], T], nothing: T) -> T:
        """`query` on a connection of its own (WAL lets it run beside the writer); `nothing` when
        history is off, or when the file cannot be read (which turns it off)."""
        if self.failure is not None:
            return nothing
        try:
            with self._reader() as connection:
                return query(connection)
        except sqlite3.Error as exc:
            self._fail(exc)
            return nothing

    def counts(self) -> tuple[int, int]:
        """(point rows, poll rows) in the file: for tests and the bench."""
        with self._reader() as connection:
            points = connection.execute("SELECT count(*) FROM points").fetchone()[0]
            polls = connection.execute("SELECT count(*) FROM polls").fetchone()[0]
        return int(points), int(polls)


_NO_NUMBERS: tuple[None, None, None, None, None, None, None] = (None, None, None, None, None, None, None)


def _numbers(
    group: GroupLag, now: datetime, rates_in: dict[str, float], rates_out: dict[str, float]
) -> tuple[int | None, float | None, float | None, float | None, int | None, int | None, int | None]:
    out = group.trend.consume_rate
    if out is None:
        out = group.rate_out if group.rate_out is not None else rates_out.get(group.destination)
    return (
        group.lag,
        group.time_lag(now),
        rates_in.get(group.destination),
        out,
        group.committed,
        group.appended,
        group.consumers,
    )
