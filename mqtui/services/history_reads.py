"""Reading the lag history file back: a group's points, a broker's outages, the recent window.

Plain functions of an open connection, so `HistoryStore` (`store.py`) decides where connections come
from and what a failure means, and the records here (`Point`, `Outage`) are all a reader sees of the
file's layout. A run start (`runs`) inside a series becomes a gap point: nothing was watched between
the last point before it and that start.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mqtui.services.snapshot import GroupKey

_COLUMNS = "at, lag, time_lag, rate_in, rate_out, committed, appended, consumers"


@dataclass(frozen=True, slots=True)
class Point:
    """One sample of one group, as the store read it back; every number None is a gap (broker down,
    or mqtui not running)."""

    at: datetime
    lag: int | None = None
    time_lag: float | None = None
    """Seconds the oldest unconsumed message had waited at `at`."""
    rate_in: float | None = None
    """Messages/s arriving at the group's destination."""
    rate_out: float | None = None
    """Messages/s the group consumed (else the destination's out rate)."""
    committed: int | None = None
    appended: int | None = None
    consumers: int | None = None

    @property
    def gap(self) -> bool:
        return self.lag is None and self.time_lag is None and self.rate_in is None and self.rate_out is None


Outage = tuple[datetime, datetime | None]
"""(down since, up again at; None while still down)."""


def read_series(connection: sqlite3.Connection, keys: Iterable[GroupKey], start: float) -> dict[GroupKey, list[Point]]:
    """Each group's points from `start` (epoch seconds) on, oldest first, with the run gaps; groups
    with no points are left out."""
    runs = [r[0] for r in connection.execute("SELECT started FROM runs WHERE started >= ?", (start,))]
    found: dict[GroupKey, list[Point]] = {}
    for key in keys:
        rows = connection.execute(
            f"SELECT {', '.join('p.' + c for c in _COLUMNS.split(', '))} FROM points p "
            "JOIN series s ON s.id = p.series "
            "WHERE s.broker = ? AND s.destination = ? AND s.grp = ? AND p.at >= ? ORDER BY p.at",
            (*key, start),
        ).fetchall()
        if rows:
            found[key] = _with_run_gaps([_point(row) for row in rows], runs)
    return found


def read_outages(connection: sqlite3.Connection, broker: str, start: float) -> list[Outage]:
    """(first failed sample, first answer after it or None while still down) of `broker` from `start` on."""
    rows = connection.execute("SELECT at, up FROM polls WHERE broker = ? AND at >= ? ORDER BY at", (broker, start))
    found: list[Outage] = []
    down: datetime | None = None
    for at, up in rows:
        moment = datetime.fromtimestamp(at, UTC)
        if not up and down is None:
            down = moment
        elif up and down is not None:
            found.append((down, moment))
            down = None
    if down is not None:
        found.append((down, None))
    return found


def read_recent(
    connection: sqlite3.Connection, brokers: Sequence[str], start: float, limit: int
) -> dict[GroupKey, list[Point]]:
    """Each group of `brokers`: its last `limit` points from `start` on, oldest first (no run gaps:
    `LagHistory.restore` puts its own after them)."""
    marks = ",".join("?" * len(brokers))
    keys = connection.execute(
        f"SELECT id, broker, destination, grp FROM series WHERE broker IN ({marks})", list(brokers)
    ).fetchall()
    found: dict[GroupKey, list[Point]] = {}
    for series_id, broker, destination, group in keys:
        rows = connection.execute(
            f"SELECT {_COLUMNS} FROM points WHERE series = ? AND at >= ? ORDER BY at DESC LIMIT ?",
            (series_id, start, limit),
        ).fetchall()
        if rows:
            found[(broker, destination, group)] = [_point(row) for row in reversed(rows)]
    return found


def _point(row: Sequence[Any]) -> Point:
    at, *numbers = row
    return Point(datetime.fromtimestamp(at, UTC), *numbers)


def _with_run_gaps(points: list[Point], runs: Sequence[float]) -> list[Point]:
    """A gap point at each run start that falls after the first point: the chart breaks there."""
    if not points or not runs:
        return points
    first = points[0].at.timestamp()
    gaps = [Point(datetime.fromtimestamp(started, UTC)) for started in runs if started > first]
    return sorted([*points, *gaps], key=lambda p: (p.at, not p.gap))  # a run starts before its first poll
