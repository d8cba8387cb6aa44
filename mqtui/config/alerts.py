"""Alert rules: what a profile's `[[profiles.X.alerts]]` tables may say, checked when the config loads.

Each table holds exactly one condition, so a rule has one label, one threshold and one reason to open;
two conditions in one table would leave it unclear whether both or either must hold. Globs (fnmatch,
case-sensitive) on broker, destination and group choose the rows a rule watches.

Two rules are on unless a profile sets `default_alerts = false`: the seed guide's health rule (no
consumption for 5 minutes while messages wait) and `broker_down`. A rule of the profile's own of the same
condition that watches every row (no globs) replaces the default, so `idle_for = "15m"` loosens it rather
than adding a second, stricter rule beside it.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase

import msgspec

from mqtui.config.urls import invalid

CONDITIONS = ("lag_over", "time_lag_over", "growing_for", "idle_for", "dead_letters_increase", "broker_down")
"""Every condition a rule may hold, one per rule."""

_DURATION = re.compile(r"(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+(?:\.\d+)?)s)?")
_DURATION_HINT = 'must be a duration above zero such as "90s", "5m", "1h30m" or "1d"'


def parse_duration(text: str) -> float:
    """Seconds in "90s", "5m", "1h30m", "1d" or "0.5s"; ValueError (without the key) for anything else."""
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or match is None:
        raise ValueError(_DURATION_HINT)
    whole = int(match["d"] or 0) * 86400 + int(match["h"] or 0) * 3600 + int(match["m"] or 0) * 60
    seconds = whole + float(match["s"] or 0)
    if seconds <= 0:
        raise ValueError(_DURATION_HINT)
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest text `parse_duration` reads back: 330 -> "5m30s", 3600 -> "1h", 90000 -> "1d1h"."""
    whole = int(seconds)
    if whole != seconds:
        return f"{seconds:g}s"
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = ((days, "d"), (hours, "h"), (minutes, "m"), (secs, "s"))
    return "".join(f"{n}{unit}" for n, unit in parts if n) or "0s"


class AlertRule(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """One condition on the rows its globs choose; `label` is what every alert of it is called."""

    name: str | None = None
    broker: str = "*"
    destination: str = "*"
    group: str = "*"
    lag_over: int | None = None
    """Messages waiting (summed over partitions) above this many."""
    time_lag_over: str | None = None
    """The oldest message not yet consumed is older than this duration."""
    growing_for: str | None = None
    """The lag rose at every poll for this long."""
    idle_for: str | None = None
    """Messages waited and nothing was consumed for this long."""
    dead_letters_increase: bool = False
    """A dead-letter queue holds more than at the previous poll."""
    broker_down: bool = False
    """The broker cannot be reached."""

    def __post_init__(self) -> None:
        if self.name is not None and not self.name.strip():
            raise invalid("name", "must not be empty")
        held = [c for c in CONDITIONS if _held(getattr(self, c))]
        if len(held) != 1:
            found = f" (found {', '.join(held)})" if held else ""
            raise ValueError(f"an alert rule needs exactly one condition of {', '.join(CONDITIONS)}{found}")
        if self.lag_over is not None and self.lag_over < 0:
            raise invalid("lag_over", "must be a whole number of at least 0")
        for key in ("time_lag_over", "growing_for", "idle_for"):
            text = getattr(self, key)
            if text is not None:
                try:
                    parse_duration(text)
                except ValueError as exc:
                    raise invalid(key, str(exc)) from None
        if self.broker_down and (self.destination != "*" or self.group != "*"):
            raise invalid("broker_down", "watches brokers: only `broker` may choose which")
        if self.dead_letters_increase and self.group != "*":
            raise invalid("dead_letters_increase", "watches dead-letter queues, which have no group")

    @property
    def condition(self) -> str:
        """The one condition key this rule holds, e.g. "idle_for"."""
        return next(c for c in CONDITIONS if _held(getattr(self, c)))

    @property
    def time_lag_over_s(self) -> float | None:
        return None if self.time_lag_over is None else parse_duration(self.time_lag_over)

    @property
    def growing_for_s(self) -> float | None:
        return None if self.growing_for is None else parse_duration(self.growing_for)

    @property
    def idle_for_s(self) -> float | None:
        return None if self.idle_for is None else parse_duration(self.idle_for)

    @property
    def duration_s(self) -> float | None:
        """The duration a duration rule (growing_for, idle_for) must hold for before it opens."""
        return self.growing_for_s if self.growing_for is not None else self.idle_for_s

    @property
    def label(self) -> str:
        """The rule's name, else its condition in words ("time lag over 10m")."""
        if self.name:
            return self.name
        condition = self.condition
        if condition == "lag_over":
            return f"lag over {self.lag_over:,}"
        if condition in ("dead_letters_increase", "broker_down"):
            return condition.replace("_", " ").replace("increase", "increased")
        duration = format_duration(parse_duration(getattr(self, condition)))
        return f"{condition.replace('_', ' ')} {duration}"

    @property
    def scoped(self) -> bool:
        """Whether the globs leave out some rows."""
        return (self.broker, self.destination, self.group) != ("*", "*", "*")

    def matches(self, broker: str, destination: str = "", group: str = "") -> bool:
        """Whether the row (broker, destination, group) is one this rule watches."""
        return (
            fnmatchcase(broker, self.broker)
            and fnmatchcase(destination, self.destination)
            and fnmatchcase(group, self.group)
        )


def _held(value: object) -> bool:
    """Whether a condition key is set: `lag_over = 0` is (0 == False, so no `in (None, False)`)."""
    return value is not None and value is not False


DEFAULT_RULES = (AlertRule(idle_for="5m"), AlertRule(broker_down=True))
"""On unless `default_alerts = false`: the 5-minute health rule and unreachable brokers."""


def effective_rules(rules: list[AlertRule], defaults: bool) -> tuple[AlertRule, ...]:
    """The defaults (unless turned off, or replaced by an unscoped rule of the same condition), then the
    profile's own rules in their order."""
    replaced = {rule.condition for rule in rules if not rule.scoped}
    kept = [rule for rule in DEFAULT_RULES if defaults and rule.condition not in replaced]
    return (*kept, *rules)
