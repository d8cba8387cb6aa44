"""A search over a range of one destination: plan it, read it in batches, judge each batch with the
compiled expression, hand the matches on and say exactly what was covered.

Memory stays flat in the number of messages scanned: batches are judged and dropped, and matches go to
`on_matches` as they are found (the CLI prints them; the console keeps a bounded list). A search stops
at `limit` matches, when `cancel` is set (a `threading.Event`, so the UI thread can set it), or when the
broker fails mid-way; each of these ends in a `Coverage` that says so. A destination that does not exist
or a broker that cannot be reached fails before anything is read (the adapter's NotFound or
BrokerUnavailable), so no coverage is claimed for it.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from mqtui.brokers.base import BrokerAdapter
from mqtui.errors import MqtuiError, UsageError
from mqtui.model import Message, RangePlan, StartPosition
from mqtui.services.search.coverage import Coverage, SearchProgress, describe_span
from mqtui.services.search.document import message_document
from mqtui.services.search.expression import Expression

Prepare = Callable[[Sequence[Message]], Awaitable[Sequence[Message]]]
"""What a batch goes through before it is judged: the profile's decoder, so `.value` is decoded."""


@dataclass(frozen=True, slots=True)
class SearchRequest:
    destination: str
    expression: Expression
    start: StartPosition = field(default_factory=lambda: StartPosition("beginning"))
    end: StartPosition | None = None
    limit: int | None = None
    """Stop after this many matches (None: every match of the range)."""

    def __post_init__(self) -> None:
        """A range given backwards (the end before the start, as when --from and --to are swapped) is
        refused before anything is read: searched, it would be empty and answer "0 matched", which
        reads as "not there" during an incident."""
        start, end = _sortable(self.start), _sortable(self.end)
        if start is None or end is None or type(start) is not type(end):
            return
        # --to is inclusive for an offset or id, exclusive for a time: a time range needs end > start.
        if end < start or (isinstance(end, datetime) and end == start):  # type: ignore[operator]
            raise UsageError(
                f"the range ends before it starts (from {self.start}, to {self.end}): nothing would be searched"
            )


def _sortable(position: StartPosition | None) -> int | tuple[int, ...] | datetime | None:
    """A position that can be compared with another of its kind: a time, an offset, a stream id's parts."""
    if position is None:
        return None
    if position.kind == "time":
        return position.time
    if isinstance(position.offset, int):
        return position.offset
    if isinstance(position.offset, str) and position.offset.replace("-", "").isdigit():
        return tuple(int(part) for part in position.offset.split("-"))
    return None


async def plan(adapter: BrokerAdapter, request: SearchRequest) -> RangePlan:
    """The range resolved by the broker, before reading: its `hazard` says whether reading changes it."""
    return await adapter.plan_range(request.destination, start=request.start, end=request.end)


async def run_search(
    adapter: BrokerAdapter,
    request: SearchRequest,
    planned: RangePlan,
    *,
    on_matches: Callable[[Sequence[Message]], None],
    on_progress: Callable[[SearchProgress], None] | None = None,
    cancel: threading.Event | None = None,
    prepare: Prepare | None = None,
) -> Coverage:
    """Read `planned` and judge every message; the matches go to `on_matches` batch by batch."""
    expression, limit = request.expression, request.limit
    total = planned.total
    scanned = matched = 0
    stopped: str | None = None
    limit_reached = False
    batches = adapter.read_range(planned)
    try:
        async for batch in batches:
            if cancel is not None and cancel.is_set():
                stopped = "cancelled"
                break
            if prepare is not None:
                batch = await prepare(batch)
            verdicts, failures = expression.judge([message_document(message) for message in batch])
            found = [message for message, verdict in zip(batch, verdicts, strict=True) if verdict]
            if limit is not None and matched + len(found) >= limit:
                found = found[: limit - matched]
                through = _through(batch, found[-1] if found else None)
                expression.count([failure for failure in failures if failure[0] < through])
                scanned += through
                matched += len(found)
                if found:
                    on_matches(found)
                stopped = f"stopped at the limit of {limit:,} {'match' if limit == 1 else 'matches'}"
                limit_reached = True
                break
            expression.count(failures)
            scanned += len(batch)
            matched += len(found)
            if found:
                on_matches(found)
            if on_progress is not None:
                on_progress(SearchProgress(scanned, total, matched))
    except MqtuiError as error:
        stopped = f"stopped by an error: {error}"
    finally:
        await batches.aclose()  # type: ignore[attr-defined]
    if limit_reached and total is not None and scanned >= total:
        stopped = None  # the last match was the range's last message: nothing was left unsearched
    if on_progress is not None:
        on_progress(SearchProgress(scanned, total, matched))
    bounded = any(part.until is not None or part.since is not None for part in planned.parts)
    return Coverage(
        destination=request.destination,
        span=describe_span(request.start, request.end),
        scanned=scanned,
        total=total,
        bounded_by_time=bounded,
        parts=len(planned.parts),
        part_name=planned.part_name,
        matched=matched,
        stopped=stopped,
        missing=tuple(_gap(planned, part.part, part.missing) for part in planned.parts if part.missing),
        errors=expression.describe_errors(),
        limit_reached=limit_reached,
    )


def _through(batch: Sequence[Message], last: Message | None) -> int:
    """How many messages of `batch` were scanned up to and including the match `last`."""
    if last is None:
        return len(batch)
    for index, message in enumerate(batch):
        if message is last:
            return index + 1
    return len(batch)


def _gap(planned: RangePlan, part: int | None, missing: str | None) -> str:
    return f"{planned.part_name} {part}: {missing}" if part is not None and len(planned.parts) > 1 else str(missing)
