"""Dead-letter naming rules: "{name}.DLQ" says that `orders.DLQ` holds the dead letters of `orders`.

Every broker recognises DLQs by the profile's rules (or its own defaults) through this one matcher, so
a rule means the same thing for a Kafka topic, a RabbitMQ queue, a Redis key and a NATS stream.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

DEFAULT_RULES: dict[str, tuple[str, ...]] = {
    "kafka": ("{name}.DLQ", "{name}-dlq", "{name}.DLT"),
    "rabbitmq": ("{name}.dlq", "{name}.DLQ", "{name}-dlq", "{name}.dead", "dlq.{name}"),
    "redis": ("{name}:dlq", "{name}:dead"),
    "nats": ("{name}_DLQ", "DLQ.{name}"),
}


@lru_cache(maxsize=256)
def _compile(rule: str) -> re.Pattern[str]:
    before, _, after = rule.partition("{name}")
    return re.compile(f"^{re.escape(before)}(?P<name>.+?){re.escape(after)}$")


def rules_for(kind: str, configured: Sequence[str] | None) -> tuple[str, ...]:
    return tuple(configured) if configured else DEFAULT_RULES[kind]


def dlq_origin(name: str, rules: Iterable[str]) -> str | None:
    """The origin a DLQ name points at under the first rule that matches, else None."""
    for rule in rules:
        match = _compile(rule).match(name)
        if match:
            return match.group("name")
    return None


def dlq_names_for(origin: str, rules: Iterable[str]) -> list[str]:
    """Every DLQ name the rules would give `origin` (to find the DLQ of a destination)."""
    return [rule.replace("{name}", origin) for rule in rules]
