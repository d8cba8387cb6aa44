"""A Destinations row's texts, and the widest text of each column over thousands of rows without making them.

The table needs every row's width to size its columns, but draws only the rows in view. Making the
texts of 10,000 rows after each poll (where every depth moves) took most of the time a key waited when
it landed just after one. So the rows' cells are made when they come into view (`LazyCells`), and
`natural_widths` works the columns out from the records: a name's width is remembered by name, and a
number column's widest text is that of its largest or smallest number. Both follow
`DestinationLook.cells`, the one place a row's texts are made; tests/console/test_destination_cells.py
holds them to each other on hostile names, missing figures, stale brokers, rate floors, alerts and job
queues.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from operator import attrgetter
from typing import TypeVar, cast

from mqtui.figures import MISSING, count, rate
from mqtui.jobcounts import FRAMEWORK, FRAMEWORKS, job_counts
from mqtui.model import Destination
from mqtui.services.alerts import AlertBoard
from mqtui.services.snapshot import PART_DESTINATIONS, BrokerSnapshot
from mqtui.ui.cells import colour, flag_text, plain_text, stale_brokers
from mqtui.ui.widgets.rowcells import RIGHT, Cells
from mqtui.ui.widgets.tablediff import text_widths

#: How each column's cells are aligned: the numbers to the right.
JUSTIFY = (None, None, None, RIGHT, RIGHT, RIGHT, RIGHT, RIGHT, RIGHT, None)
#: The longest a broker's and a destination's name are shown (cut with "…"; enter shows them whole).
BROKER_LIMIT, NAME_LIMIT = 20, 32
FLAG = len(flag_text("", (None,)))


def rate_text(value: float | None, *, at_least: bool) -> str:
    """A rate cell; "≥" marks a lower bound (derived from a depth change, not counted by the broker)."""
    return ("≥" if at_least and value is not None else "") + rate(value)


class DestinationLook:
    """What every row of one build shares: the styles, the stale brokers, the rate floors, the alerts."""

    def __init__(self, snapshots: Sequence[BrokerSnapshot], variables: dict[str, str], alerts: AlertBoard) -> None:
        self.alerts = alerts
        self.mark = colour(variables, "lag-critical", bold=True)
        self.dlq_styles = (None,) * (len(JUSTIFY) - 1) + (self.mark,)
        self.muted = colour(variables, "muted")
        self.floors = {(s.name, name, way) for s in snapshots for name, way in s.rate_floors}
        self.stale = stale_brokers(snapshots, PART_DESTINATIONS)

    def cells(self, d: Destination) -> Cells:
        """The row's cells: a stale broker's rows muted and without rates, a rate its broker does not
        count marked as a lower bound, the alerts open on the row flagged."""
        floors = self.floors
        old = d.broker in self.stale
        alerts = self.alerts.on_row(d.broker, d.name)
        jobs = job_counts(d)
        dead = d.is_dlq
        texts = (
            flag_text(plain_text(d.broker, BROKER_LIMIT), alerts), plain_text(d.name, NAME_LIMIT),
            jobs.framework if jobs else d.kind.value, count(d.depth), count(d.in_flight), count(d.consumers),
            count(d.partitions),
            rate_text(None if old else d.rate_in, at_least=bool(floors) and (d.broker, d.name, "in") in floors),
            rate_text(None if old else d.rate_out, at_least=bool(floors) and (d.broker, d.name, "out") in floors),
            "DLQ" if dead else jobs.summary() if jobs else "",
        )  # fmt: skip
        styles = (self.muted,) * len(texts) if old else self.dlq_styles if dead else None
        return Cells(texts, JUSTIFY, styles, self.mark if alerts else None)

    def natural_widths(self, rows: Sequence[Destination]) -> tuple[int, ...]:
        """The widest text of each column over `rows`, as `cells` would make them, without making them:
        asked of 10,000 rows after each poll, so each column is a pass the interpreter makes in C
        (`map` over getters) wherever a row's text follows from one field."""
        if not rows:
            return (0,) * len(JUSTIFY)
        flagged = self._flagged_brokers(rows)
        brokers = max(
            _width(plain_text(b, BROKER_LIMIT)) + (FLAG if b in flagged else 0) for b in set(map(_BROKER, rows))
        )
        names = set(map(_NAME, rows))
        for name in names.difference(_NAME_WIDTHS):
            _name_width(name)
        widest_name = max(map(_NAME_WIDTHS.__getitem__, names))
        extras = [d for d in rows if d.extra]  # few: job queues
        plain_rows = [d for d in rows if not d.extra] if extras else rows
        kind_texts = {kind.value for kind in set(map(_KIND, plain_rows))} | {_kind_text(d) for d in extras}
        kinds = max(map(_width, kind_texts), default=0)
        numbers = [_count_width(list(map(getter, rows))) for getter in _COUNTS]
        live = [d for d in rows if d.broker not in self.stale] if self.stale else rows
        rates = [self._rate_width(rows, live, way) for way in ("in", "out")]
        last_texts = {_last_text(d) for d in (*filter(_IS_DLQ, rows), *extras)}
        last = max(map(_width, last_texts), default=0)
        return (brokers, widest_name, kinds, *numbers, *rates, last)

    def _flagged_brokers(self, rows: Sequence[Destination]) -> set[str]:
        board = self.alerts.open
        if not board:
            return set()
        shown = {(d.broker, d.name) for d in rows}
        return {a.broker for a in board if (a.broker, a.destination) in shown}

    def _rate_width(self, rows: Sequence[Destination], live: Sequence[Destination], way: str) -> int:
        known = _known(list(map(_RATE_IN if way == "in" else _RATE_OUT, live)))
        widths = [len(MISSING)] if len(known) < len(rows) else []
        widths += [_width(rate(v)) for v in _extremes(known)]
        for broker, name, floor_way in self.floors:
            if floor_way != way or broker in self.stale:
                continue
            for d in live:  # few: a floor is a rate the broker does not count
                value = d.rate_in if way == "in" else d.rate_out
                if d.broker == broker and d.name == name and value is not None:
                    widths.append(_width(rate_text(value, at_least=True)))
        return max(widths)


_COUNTS: tuple[Callable[[Destination], int | None], ...] = tuple(
    attrgetter(field) for field in ("depth", "in_flight", "consumers", "partitions")
)
_BROKER, _NAME, _KIND, _IS_DLQ = attrgetter("broker"), attrgetter("name"), attrgetter("kind"), attrgetter("is_dlq")
_RATE_IN, _RATE_OUT = attrgetter("rate_in"), attrgetter("rate_out")
_Figure = TypeVar("_Figure", int, float)


def _known(values: list[_Figure | None]) -> list[_Figure]:
    """`values` without the missing ones, without a pass over them when none is missing."""
    return [v for v in values if v is not None] if None in values else cast(list[_Figure], values)


def _extremes(values: Sequence[float]) -> Iterable[float]:
    """The values whose texts are the widest: the largest and smallest below 100 (one decimal, which
    may round up to "100.0") and from 100 on (thousands separated)."""
    if not values:
        return []
    lowest, highest = min(values), max(values)
    if highest < 100 or lowest >= 100:  # all on one side: no pass over the values
        return [lowest, highest]
    below = [v for v in values if v < 100]
    above = [v for v in values if v >= 100]
    return [*((min(below), max(below)) if below else ()), *((min(above), max(above)) if above else ())]


def _count_width(values: list[int | None]) -> int:
    known = _known(values)
    widths = [len(MISSING)] if len(known) < len(values) else []
    if known:
        widths += [len(count(max(known))), len(count(min(known)))]
    return max(widths)


def _kind_text(d: Destination) -> str:
    framework = d.extra.get(FRAMEWORK, "")
    return framework if framework in FRAMEWORKS and not d.is_dlq else d.kind.value


def _last_text(d: Destination) -> str:
    jobs = job_counts(d)
    return "DLQ" if d.is_dlq else jobs.summary() if jobs else ""


def _width(text: str) -> int:
    return text_widths((text,))[0]


_NAME_WIDTHS: dict[str, int] = {}
#: Names whose widths are remembered; beyond this the remembering starts afresh.
NAMES_KEPT = 1 << 16


def _name_width(name: str) -> int:
    """The width a destination's name is shown at, remembered by name: the same names come every poll."""
    width = _NAME_WIDTHS.get(name)
    if width is None:
        if len(_NAME_WIDTHS) >= NAMES_KEPT:
            _NAME_WIDTHS.clear()
        width = _NAME_WIDTHS[name] = _width(plain_text(name, NAME_LIMIT))
    return width
