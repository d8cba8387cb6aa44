"""Alerts: a profile's rules judged against each broker snapshot, opening and closing as conditions change.

`AlertBook.observe(snapshot, now)` is fed every snapshot with the wall clock passed in, so tests step a
fixed clock through a 5-minute rule instead of waiting for it. It returns what changed (alerts opened,
alerts closed) and keeps an immutable `AlertBoard` of what is open and what closed recently, which the
console draws and `mqtui watch` prints.

What each condition means here:

- `lag_over`, `time_lag_over`: judged on every poll, open while above the threshold.
- `idle_for`: messages wait and nothing was consumed (the committed position did not move; where no
  position is reported, the consume rate is 0) since the row was last seen consuming or empty. The first
  sight of a row starts the clock at its `last_activity` where the broker reports one (NATS, Redis
  streams, RabbitMQ), else at that poll, so one poll alone can open it only where the broker says how
  long it was idle.
- `growing_for`: the trend (`LagHistory`) said growing (or stalled with the lag still rising) at every
  poll for the duration.
- `dead_letters_increase`: a DLQ holds more than at the previous poll. It stays open until no new letter
  arrived for `dead_letter_hold` seconds (15 minutes by default) or the queue is back at or below the
  count it had before the rise (someone dealt with the letters), so one burst is one alert, not one per
  poll.
- `broker_down`: the broker's snapshot says unreachable.

A broker that is down, or a part of its poll that failed (the snapshot keeps the rows of its last good
poll), is stale: its rows open and close nothing until fresh data comes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from mqtui.config.alerts import AlertRule
from mqtui.figures import elapsed
from mqtui.model import DeadLetterQueue
from mqtui.services.snapshot import PART_DLQS, PART_LAG, BrokerSnapshot, BrokerStatus, GroupLag, LagState

DEAD_LETTER_HOLD = 900.0
RECENTLY_CLOSED = 50
"""Closed alerts the board keeps for the alert list (the oldest drop off)."""

AlertKey = tuple[int, str, str, str]
"""(rule index, broker, destination, group): one rule on one row."""


@dataclass(frozen=True, slots=True)
class Alert:
    """One rule breached on one row: `destination` is the group's destination or the DLQ's name; `group`
    is "" for DLQ and broker alerts, `destination` "" for broker alerts."""

    rule: str
    """The rule's label ("lag over 10,000", or its name)."""
    condition: str
    broker: str
    destination: str
    group: str
    since: datetime
    value: str
    """What breached, as text ("12,400", "time lag 14m 3s", "+3 (12 → 15)", the broker's error line)."""
    closed_at: datetime | None = None
    rule_index: int = 0

    @property
    def key(self) -> AlertKey:
        return (self.rule_index, self.broker, self.destination, self.group)

    @property
    def open(self) -> bool:
        return self.closed_at is None

    @property
    def event(self) -> str:
        """ "opened" or "closed": what this alert's latest change was."""
        return "opened" if self.open else "closed"

    def record(self) -> dict[str, object]:
        """The alert as one JSON object (`watch --json`, incident snapshots): times in ISO 8601."""
        return {
            "event": self.event,
            "rule": self.rule,
            "condition": self.condition,
            "broker": self.broker,
            "destination": self.destination,
            "group": self.group,
            "since": self.since.isoformat(),
            "value": self.value,
            "closed_at": None if self.closed_at is None else self.closed_at.isoformat(),
        }

    @property
    def row(self) -> str:
        """Where it is, in one line: "orders-kafka / orders / billing"."""
        return " / ".join(part for part in (self.broker, self.destination, self.group) if part)


@dataclass(frozen=True, slots=True)
class AlertBoard:
    """What is open and what closed recently (newest first), handed to the UI and the CLI whole."""

    open: tuple[Alert, ...] = ()
    closed: tuple[Alert, ...] = ()

    def on_row(self, broker: str, destination: str, group: str | None = None) -> tuple[Alert, ...]:
        """Open alerts on a row: a group's (`group` given) or any on a destination or DLQ (`group` None)."""
        if not self.open:  # asked of every row of every table on every poll
            return ()
        return tuple(
            a
            for a in self.open
            if a.broker == broker and a.destination == destination and (group is None or a.group == group)
        )

    def broker_down(self, broker: str) -> bool:
        return any(a.broker == broker and a.condition == "broker_down" for a in self.open)


@dataclass(slots=True)
class _RowState:
    """What duration rules remember about one row between polls."""

    committed: int | None
    active_at: datetime
    """Last time the row was seen consuming, or empty (the idle clock starts here)."""
    growing_since: datetime | None


@dataclass(slots=True)
class _LetterState:
    count: int
    baseline: int | None = None
    """The count before the rise that opened the alert."""
    rose_at: datetime | None = None


class AlertBook:
    """The open alerts of one profile, fed one snapshot at a time (from one thread: the backend loop's)."""

    def __init__(self, rules: Iterable[AlertRule], *, dead_letter_hold: float = DEAD_LETTER_HOLD) -> None:
        self.rules = tuple(rules)
        self.dead_letter_hold = dead_letter_hold
        self._open: dict[AlertKey, Alert] = {}
        self._closed: deque[Alert] = deque(maxlen=RECENTLY_CLOSED)
        self._rows: dict[tuple[str, str, str], _RowState] = {}
        self._letters: dict[tuple[str, str], _LetterState] = {}
        self._judged: dict[str, tuple[object, object]] = {}
        """Per broker, the lag and DLQ tuples last judged: the same object again is old data kept."""
        self._board = AlertBoard()

    @property
    def board(self) -> AlertBoard:
        """What is open and recently closed, as of the last change: built once per change and replaced
        whole, so another thread (the console's, writing an incident snapshot) reads it safely."""
        return self._board

    def observe(self, snapshot: BrokerSnapshot, now: datetime) -> list[Alert]:
        """Judge one broker's snapshot; returns the alerts opened and closed by it (in that order)."""
        if snapshot.status is BrokerStatus.CONNECTING:
            return []
        changes = self._judge_broker(snapshot, now)
        if snapshot.status is BrokerStatus.UNREACHABLE:
            return changes  # stale rows: nothing opens or closes on them
        last_lag, last_dlqs = self._judged.get(snapshot.name, (None, None))
        self._judged[snapshot.name] = (snapshot.lag, snapshot.dlqs)
        if snapshot.lag is not last_lag and snapshot.kept_part(PART_LAG) is None:
            changes += self._judge_groups(snapshot.name, snapshot.lag, now)
        if snapshot.dlqs is not last_dlqs and snapshot.kept_part(PART_DLQS) is None:
            changes += self._judge_letters(snapshot.name, snapshot.dlqs, now)
        return changes

    def _changed(self) -> None:
        self._board = AlertBoard(
            open=tuple(sorted(self._open.values(), key=lambda a: a.since)),
            closed=tuple(reversed(self._closed)),
        )

    # -- the conditions ------------------------------------------------------------------------------
    def _judge_broker(self, snapshot: BrokerSnapshot, now: datetime) -> list[Alert]:
        down = snapshot.status is BrokerStatus.UNREACHABLE
        found = {}
        for index, rule in enumerate(self.rules):
            if rule.broker_down and down and rule.matches(snapshot.name):
                found[(index, snapshot.name, "", "")] = snapshot.error or "unreachable"
        return self._settle(snapshot.name, {"broker_down"}, found, now)

    def _judge_groups(self, broker: str, groups: tuple[GroupLag, ...], now: datetime) -> list[Alert]:
        found: dict[AlertKey, str] = {}
        seen = set()
        for group in groups:
            seen.add(group.key)
            state = self._row_state(group, now)
            for index, rule in enumerate(self.rules):
                if rule.matches(group.broker, group.destination, group.group):
                    value = self._breach(rule, group, state, now)
                    if value is not None:
                        found[(index, *group.key)] = value
        for key in [k for k in self._rows if k[0] == broker and k not in seen]:
            del self._rows[key]
        return self._settle(broker, {"lag_over", "time_lag_over", "idle_for", "growing_for"}, found, now)

    def _row_state(self, group: GroupLag, now: datetime) -> _RowState:
        """The row's idle clock and growth streak, moved on by this poll."""
        state = self._rows.get(group.key)
        if state is None:
            first = group.last_activity if group.last_activity is not None and group.last_activity < now else now
            state = self._rows[group.key] = _RowState(group.committed, first, None)
        elif _consumed(group, state.committed):
            state.active_at = now
        if not group.lag:
            state.active_at = now
        state.committed = group.committed
        growing = group.trend.rate is not None and group.trend.rate > 0
        growing = growing and group.trend.state in (LagState.GROWING, LagState.STALLED)
        state.growing_since = (state.growing_since or now) if growing else None
        return state

    @staticmethod
    def _breach(rule: AlertRule, group: GroupLag, state: _RowState, now: datetime) -> str | None:
        """The value that breaches `rule` on this row, or None when it holds (or cannot be told)."""
        if rule.lag_over is not None:
            return f"{group.lag:,}" if group.lag is not None and group.lag > rule.lag_over else None
        if rule.time_lag_over is not None:
            seconds = group.time_lag(now)
            over = seconds is not None and seconds > (rule.time_lag_over_s or 0)
            return f"time lag {elapsed(seconds)}" if over else None
        if rule.idle_for is not None:
            idle = (now - state.active_at).total_seconds()
            if group.lag and idle >= (rule.idle_for_s or 0):
                return f"{group.lag:,} waiting, nothing consumed for {elapsed(idle)}"
            return None
        if rule.growing_for is not None and state.growing_since is not None:
            growing = (now - state.growing_since).total_seconds()
            if growing >= (rule.growing_for_s or 0):
                return f"lag {group.lag:,} growing for {elapsed(growing)}"
        return None

    def _judge_letters(self, broker: str, dlqs: tuple[DeadLetterQueue, ...], now: datetime) -> list[Alert]:
        found: dict[AlertKey, str] = {}
        seen = set()
        for dlq in dlqs:
            if dlq.count is None:
                continue
            seen.add((broker, dlq.name))
            state = self._letters.get((broker, dlq.name))
            if state is None:
                self._letters[(broker, dlq.name)] = _LetterState(dlq.count)
                continue
            if dlq.count > state.count:
                state.baseline = state.count if state.baseline is None else state.baseline
                state.rose_at = now
            held = state.rose_at is not None and now - state.rose_at < timedelta(seconds=self.dead_letter_hold)
            if state.baseline is not None and (not held or dlq.count <= state.baseline):
                state.baseline = state.rose_at = None
            state.count = dlq.count
            if state.baseline is None:
                continue
            for index, rule in enumerate(self.rules):
                if rule.dead_letters_increase and rule.matches(broker, dlq.name):
                    found[(index, broker, dlq.name, "")] = (
                        f"+{dlq.count - state.baseline:,} ({state.baseline:,} → {dlq.count:,})"
                    )
        for key in [k for k in self._letters if k[0] == broker and k not in seen]:
            del self._letters[key]
        return self._settle(broker, {"dead_letters_increase"}, found, now)

    # -- opening and closing -------------------------------------------------------------------------
    def _settle(self, broker: str, conditions: set[str], found: dict[AlertKey, str], now: datetime) -> list[Alert]:
        """Open what is newly breached, close what of these conditions on `broker` no longer is."""
        changes = []
        for key, alert in list(self._open.items()):
            if alert.broker == broker and alert.condition in conditions and key not in found:
                closed = replace(alert, closed_at=now)
                del self._open[key]
                self._closed.append(closed)
                changes.append(closed)
        for key, value in found.items():
            if key not in self._open:
                rule = self.rules[key[0]]
                alert = Alert(rule.label, rule.condition, key[1], key[2], key[3], now, value, rule_index=key[0])
                self._open[key] = alert
                changes.append(alert)
        if changes:
            self._changed()
        return changes


def _consumed(group: GroupLag, committed_before: int | None) -> bool:
    """Whether the row consumed anything since the last poll: its committed position moved, or where no
    position is reported, its consume rate (or its destination's out rate) is above zero. Where neither
    says, only a row without consumers counts as idle: an alert nobody can explain is worse than none."""
    if group.committed is not None and committed_before is not None:
        return group.committed != committed_before
    rate = group.trend.consume_rate if group.trend.consume_rate is not None else group.rate_out
    if rate is None:  # cannot be told: idle only where nobody is there to consume
        return group.consumers != 0
    return rate > 0
