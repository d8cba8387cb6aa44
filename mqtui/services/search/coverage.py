"""What a search covered, said exactly: never a silent partial result.

A search users cannot trust is worse than none (AKHQ's "search does not return all the messages"), so
every search ends with a `Coverage`: how many messages it scanned of how many the range held, over which
range and parts, how many matched, and each thing it did not cover with the reason: the limit was
reached, it was cancelled, the broker failed, retention deleted part of the range, or the expression
could not be evaluated on some messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mqtui.model import StartPosition


@dataclass(frozen=True, slots=True)
class SearchProgress:
    """Posted after each batch: for a progress bar (`total` None: not known before reading)."""

    scanned: int
    total: int | None
    matched: int


@dataclass(frozen=True, slots=True)
class Coverage:
    destination: str
    span: str
    """The range asked, in words: "2026-12-06 10:00:00..10:15:00", "offsets 100..200", "everything"."""
    scanned: int
    total: int | None
    """Messages the plan counted in the range (an upper bound when `bounded_by_time`), None: unknown."""
    bounded_by_time: bool
    parts: int
    part_name: str
    matched: int
    stopped: str | None = None
    """Why the search ended before the end of the range ("cancelled", "the limit of 10 matches was
    reached", "stopped by an error: ..."), None when it read the whole range."""
    missing: tuple[str, ...] = ()
    """What of the range the broker no longer holds ("partition 3: offsets 0..499 (deleted by retention)")."""
    errors: str | None = None
    """"N messages could not be evaluated (...)", or None."""
    limit_reached: bool = False
    """It stopped because it had found as many matches as asked: an answer, not a failure."""

    @property
    def complete(self) -> bool:
        """Whether every message of the range the broker holds was scanned."""
        return self.stopped is None

    def lines(self) -> list[str]:
        """The coverage in one line, then one line each for what the broker no longer holds and for
        messages the expression could not be evaluated on."""
        if self.complete:
            of = f"{self.scanned:,} of {self.scanned:,}"
        elif self.total is None:
            of = f"{self.scanned:,} of an unknown number of"
        else:
            of = f"{self.scanned:,} of {'at most ' if self.bounded_by_time else ''}{max(self.total, self.scanned):,}"
        noun = "message" if self.scanned == 1 and self.complete else "messages"
        across = f" across {self.parts} {self.part_name}s" if self.parts > 1 else ""
        first = f"scanned {of} {noun} in {self.destination} {self.span}{across}, {self.matched:,} matched"
        if not self.complete:
            rest = ""
            if self.total is not None and self.total > self.scanned:
                rest = f" ({self.total - self.scanned:,} {'or fewer ' if self.bounded_by_time else ''}not searched)"
            first += f"; {self.stopped}{rest}"
        lines = [first]
        lines += [f"not in the broker any more: {gap}" for gap in self.missing]
        if self.errors:
            lines.append(self.errors)
        return lines

    @property
    def line(self) -> str:
        return "; ".join(self.lines())


def describe_span(start: StartPosition, end: StartPosition | None) -> str:
    """`--from`/`--to` in words for the coverage line."""
    if start.kind == "beginning" and (end is None or end.kind == "end"):
        return "(everything it held)"
    if start.kind == "time" and end is not None and end.kind == "time" and start.time and end.time:
        left = _when(start.time)
        right = _when(end.time)
        if right[:10] == left[:10]:
            right = right[11:]
        return f"{left}..{right}"
    return f"from {_bound(start, 'the beginning')} to {_bound(end, 'the end')}"


def _bound(bound: StartPosition | None, default: str) -> str:
    if bound is None or bound.kind in ("beginning", "end"):
        return default if bound is None else f"the {bound.kind}"
    if bound.kind == "time" and bound.time is not None:
        return _when(bound.time)
    return f"position {bound.offset}"


def _when(moment: datetime) -> str:
    from datetime import UTC

    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
