"""Counts, rates, ages and durations as short text, and the plain-text tables of the CLI's human output."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from mqtui.safetext import safe_line

MISSING = "-"


def count(value: int | None) -> str:
    """12,345 for counts; "-" where the broker does not say."""
    return MISSING if value is None else f"{value:,}"


def rate(value: float | None) -> str:
    if value is None:
        return MISSING
    if value >= 100:
        return f"{value:,.0f}/s"
    return f"{value:.1f}/s"


def age(moment: datetime | None, now: datetime | None = None) -> str:
    """Compact age: 42s, 3m, 5h, 2d; "-" where unknown."""
    if moment is None:
        return MISSING
    seconds = ((now or datetime.now(UTC)) - moment).total_seconds()
    return duration(max(seconds, 0.0))


def duration(seconds: float | None) -> str:
    if seconds is None:
        return MISSING
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    if seconds < 86400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def elapsed(seconds: float | None) -> str:
    """A time lag in its two largest units, so it reads as it grows: 42s, 1m 30s, 2h 5m, 3d 4h; "-" where
    unknown. Finer than `duration`, which rounds to one unit (an age of 1m 30s is "2m" there)."""
    if seconds is None:
        return MISSING
    whole = int(max(seconds, 0.0))
    if whole < 60:
        return f"{whole}s"
    for unit, name, smaller, small_name in ((86400, "d", 3600, "h"), (3600, "h", 60, "m"), (60, "m", 1, "s")):
        if whole >= unit:
            rest = (whole % unit) // smaller
            return f"{whole // unit}{name}" + (f" {rest}{small_name}" if rest else "")
    return f"{whole}s"  # pragma: no cover (every whole >= 60 meets a unit above)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]], numeric: Sequence[int] = ()) -> str:
    """Columns padded to their widest cell; every cell made safe and kept to one line."""
    cells = [[safe_line(str(cell), 80) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))

    def line(row: Sequence[str]) -> str:
        parts = [cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i]) for i, cell in enumerate(row)]
        return "  ".join(parts).rstrip()

    return "\n".join([line(list(headers)), *(line(row) for row in cells)])
