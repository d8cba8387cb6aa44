"""Cells and labels for the console: every untrusted string leaves here as a `rich.text.Text`.

Broker names, destinations, groups, keys, payloads and error messages all come from outside; they go
through `mqtui.safetext` (control characters made visible) and into `Text` objects, which never
interpret markup, so `[bold]` or `[@click=app.quit]` in a message is shown as the characters it is.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime

from rich.style import Style
from rich.text import Text

from mqtui.figures import MISSING, age, count, duration, elapsed, rate
from mqtui.safetext import safe_line
from mqtui.services.snapshot import BrokerSnapshot, BrokerStatus, LagState, LagTrend

SPARK = "▁▂▃▄▅▆▇█"

STATUS_BADGE = {
    BrokerStatus.CONNECTING: "○",
    BrokerStatus.CONNECTED: "●",
    BrokerStatus.DEGRADED: "◐",
    BrokerStatus.UNREACHABLE: "✖",
}


def plain(value: object, limit: int | None = 120) -> Text:
    """Untrusted text for a cell or label: safe characters, no markup."""
    return Text(plain_text(value, limit))


def plain_text(value: object, limit: int | None = 120) -> str:
    """Untrusted text made safe to show (`plain` without the `Text`: a row not yet in view)."""
    if value is None:
        return MISSING
    if isinstance(value, str) and len(value) <= SHORT:
        return _safe_short(value, limit)
    if isinstance(value, bytes | str):
        return safe_line(value, limit)
    return safe_line(str(value), limit)


#: Names up to this long are made safe once and remembered (`_safe_short`).
SHORT = 256


@functools.lru_cache(maxsize=1 << 15)
def _safe_short(value: str, limit: int | None) -> str:
    """`safe_line` of a short string, remembered: every poll of 10,000 destinations shows the same names
    again, and making them safe anew took a quarter of the time to draw their rows."""
    return safe_line(value, limit)


def number(value: int | None) -> Text:
    return Text(count(value), justify="right")


def per_second(value: float | None) -> Text:
    return Text(rate(value), justify="right")


def ago(moment: datetime | None, now: datetime) -> Text:
    return Text(age(moment, now), justify="right")


def sparkline(values: Sequence[int | None], width: int = 12) -> str:
    """The last `width` values as block characters scaled to their own range (flat: lowest block); a
    None (a poll with no number: the broker was down) is a blank, so an outage never reads as flat."""
    recent = list(values)[-width:]
    known = [value for value in recent if value is not None]
    if not known:
        return " " * len(recent)
    low, high = min(known), max(known)
    if high == low:
        flat = SPARK[0 if high == 0 else 3]
        return "".join(" " if value is None else flat for value in recent)
    scale = (len(SPARK) - 1) / (high - low)
    return "".join(" " if value is None else SPARK[round((value - low) * scale)] for value in recent)


def lag_variable(state: LagState) -> str:
    return {
        LagState.OK: "lag-ok",
        LagState.DRAINING: "lag-draining",
        LagState.GROWING: "lag-growing",
        LagState.STALLED: "lag-critical",
        LagState.UNKNOWN: "muted",
    }[state]


def status_variable(status: BrokerStatus) -> str:
    return {
        BrokerStatus.CONNECTING: "status-connecting",
        BrokerStatus.CONNECTED: "status-connected",
        BrokerStatus.DEGRADED: "status-degraded",
        BrokerStatus.UNREACHABLE: "status-unreachable",
    }[status]


def colour(variables: dict[str, str], name: str, *, bold: bool = False) -> Style:
    """A Rich style from a theme variable (cells are drawn by Rich, not by the CSS)."""
    value = variables.get(name)
    try:
        return Style(color=value, bold=bold) if value else Style(bold=bold)
    except Exception:  # a theme with a colour Rich cannot read: fall back to plain text
        return Style(bold=bold)


def trend_text(trend: LagTrend, consumers: int | None = None) -> str:
    """ETA, or the state that means it will not drain: growing, stalled, or stalled because the broker
    says nobody is attached ("no consumers": the first thing to check when paged); "keeping up" for a
    lag that holds steady while it is consumed."""
    if trend.state is LagState.STALLED:
        return "no consumers" if consumers == 0 else "STALLED"
    if trend.state is LagState.GROWING:
        return "growing"
    if trend.state is LagState.OK:
        return "caught up"
    if trend.eta is not None:
        return f"~{duration(trend.eta)}"
    if trend.rate is not None and trend.consume_rate:  # consumed, yet neither falling nor growing
        return "keeping up"
    return MISSING


def lag_rate(trend: LagTrend) -> str:
    if trend.rate is None:
        return MISSING
    sign = "+" if trend.rate > 0 else ""
    return f"{sign}{trend.rate:,.1f}/s"


def short_status(snapshot: BrokerSnapshot, now: datetime) -> str:
    """What fits beside a name in the tree: the data's age, or when an unreachable broker is retried."""
    if snapshot.status is BrokerStatus.UNREACHABLE:
        if snapshot.next_retry_at is None:
            return "down"
        wait = (snapshot.next_retry_at - now).total_seconds()
        return f"down, retry {duration(wait)}" if wait >= 0.5 else "down, retrying"
    if snapshot.status is BrokerStatus.CONNECTING:
        return "connecting…"
    return age(snapshot.polled_at, now)


def badge(snapshot: BrokerSnapshot, variables: dict[str, str]) -> Text:
    return Text(STATUS_BADGE[snapshot.status], style=colour(variables, status_variable(snapshot.status), bold=True))


def error_text(exc: BaseException) -> str:
    """One scrubbed line for a notification or a dialog (the broker name is in the adapter's message)."""
    from mqtui.errors import MqtuiError
    from mqtui.secrets import scrub

    text = str(exc) if isinstance(exc, MqtuiError) else f"{type(exc).__name__}: {exc}"
    return safe_line(" ".join(scrub(text).split()), 300) or type(exc).__name__


def stale_brokers(snapshots: Sequence[BrokerSnapshot], part: str | None = None) -> set[str]:
    """Brokers whose rows are left from an earlier poll: the last poll reached nothing, or (given the
    `part` a pane shows) that part's read failed while the rest answered (the poller keeps the last good
    data in the snapshot). Their rows are drawn dimmed, their rates, states and ETAs blank: a number
    from before is not a live one."""
    return {s.name for s in snapshots if (s.stale(part) if part else s.status is BrokerStatus.UNREACHABLE)}


def stale_note(snapshot: BrokerSnapshot, now: datetime) -> str:
    """ "demo-redis: as of 10:42:13 · down 37s": when the rows shown were fetched (the last good poll,
    in the clock's zone as `polled_at` carries it), and how long since."""
    if snapshot.polled_at is None:
        return f"{safe_line(snapshot.name, 30)}: down"
    since = elapsed((now - snapshot.polled_at).total_seconds())
    return f"{safe_line(snapshot.name, 30)}: as of {snapshot.polled_at:%H:%M:%S} · down {since}"


def kept_note(snapshot: BrokerSnapshot, part: str) -> str | None:
    """ "orders-kafka: lag as of 11:59:23 (lag read failed: no answer within 5s)" for a broker that is
    up but whose read of `part` failed, so the rows shown are an earlier poll's; None when they are not."""
    kept = snapshot.kept_part(part)
    if kept is None or snapshot.status is BrokerStatus.UNREACHABLE:
        return None
    when = f" as of {kept.since:%H:%M:%S}" if kept.since else ""
    return f"{safe_line(snapshot.name, 30)}: {part}{when} ({part} read failed: {safe_line(kept.reason, 120)})"


def stale_notes(
    snapshots: Sequence[BrokerSnapshot], shown: set[str], now: datetime, part: str | None = None
) -> list[str]:
    """`stale_note` of each unreachable broker that has rows among `shown` (broker names), and
    `kept_note` of each whose read of `part` failed."""
    notes = []
    for s in snapshots:
        if s.name not in shown:
            continue
        note = stale_note(s, now) if s.status is BrokerStatus.UNREACHABLE else part and kept_note(s, part)
        if note:
            notes.append(note)
    return notes


def flag_text(text: str, alerts: Sequence[object]) -> str:
    """A row's first cell's text with the "! " of an open alert before it (as `panes.base.flagged` marks
    cells made as `Text`)."""
    return f"! {text}" if alerts else text


def dimmed(cells: Sequence[Text], style: Style | str) -> list[Text]:
    """A stale row's cells: the same text and alignment, every colour replaced by `style`."""
    return [Text(cell.plain, style=style, justify=cell.justify) for cell in cells]
