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

from mqtui.figures import MISSING, count, rate
from mqtui.jobcounts import FRAMEWORK, FRAMEWORKS, job_counts
from mqtui.model import Destination
from mqtui.services.alerts import Alert, AlertBoard
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

    def signature(self, d: Destination) -> tuple[Destination, bool, bool, bool, tuple[Alert, ...]]:
        """What a row's cells are made from besides the look: the record, whether its broker is stale,
        whether each rate is a lower bound, the alerts open on it."""
        floors = self.floors
        floor_in = bool(floors) and (d.broker, d.name, "in") in floors
        floor_out = bool(floors) and (d.broker, d.name, "out") in floors
        return d, d.broker in self.stale, floor_in, floor_out, self.alerts.on_row(d.broker, d.name)

    def cells(self, d: Destination, old: bool, floor_in: bool, floor_out: bool, alerts: tuple[Alert, ...]) -> Cells:
        """The row's cells; `old`: the broker is down, and no rate is current."""
        jobs = job_counts(d)
        dead = d.is_dlq
        texts = (
            flag_text(plain_text(d.broker, BROKER_LIMIT), alerts), plain_text(d.name, NAME_LIMIT),
            jobs.framework if jobs else d.kind.value, count(d.depth), count(d.in_flight), count(d.consumers),
            count(d.partitions), rate_text(None if old else d.rate_in, at_least=floor_in),
            rate_text(None if old else d.rate_out, at_least=floor_out),
            "DLQ" if dead else jobs.summary() if jobs else "",
        )  # fmt: skip
        styles = (self.muted,) * len(texts) if old else self.dlq_styles if dead else None
        return Cells(texts, JUSTIFY, styles, self.mark if alerts else None)

    def natural_widths(self, rows: Sequence[Destination]) -> tuple[int, ...]:
        """The widest text of each column over `rows`, as `cells` would make them, without making them."""
        if not rows:
            return (0,) * len(JUSTIFY)
        flagged = self._flagged_brokers(rows)
        brokers = max(
            _width(plain_text(b, BROKER_LIMIT)) + (FLAG if b in flagged else 0) for b in {d.broker for d in rows}
        )
        names = max(map(_name_width, {d.name for d in rows}))
        kinds = max(map(_width, {_kind_text(d) for d in rows}))
        numbers = [_count_width([getter(d) for d in rows]) for getter in _COUNTS]
        live = [d for d in rows if d.broker not in self.stale]
        rates = [self._rate_width(rows, live, way) for way in ("in", "out")]
        last = max((_width(_last_text(d)) for d in rows if d.is_dlq or d.extra.get(FRAMEWORK)), default=0)
        return (brokers, names, kinds, *numbers, *rates, last)

    def _flagged_brokers(self, rows: Sequence[Destination]) -> set[str]:
        board = self.alerts.open
        if not board:
            return set()
        shown = {(d.broker, d.name) for d in rows}
        return {a.broker for a in board if (a.broker, a.destination) in shown}

    def _rate_width(self, rows: Sequence[Destination], live: Sequence[Destination], way: str) -> int:
        values = [d.rate_in if way == "in" else d.rate_out for d in live]
        known = [v for v in values if v is not None]
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


def _extremes(values: Sequence[float]) -> Iterable[float]:
    """The values whose texts are the widest: the largest and smallest below 100 (one decimal, which
    may round up to "100.0") and from 100 on (thousands separated)."""
    below = [v for v in values if v < 100]
    above = [v for v in values if v >= 100]
    return [*((min(below), max(below)) if below else ()), *((min(above), max(above)) if above else ())]


def _count_width(values: list[int | None]) -> int:
    known = [v for v in values if v is not None]
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
