"""Which RabbitMQ queues are dead-letter queues, and which are dangerous to read: pure logic over API rows.

A queue is a DLQ when another queue's dead-letter exchange (argument or policy) routes to it, followed
through the exchange's bindings and type and on through exchange-to-exchange bindings (a DLX bound to a
topic exchange that a parking queue is bound to), when it is named by a dead-letter routing key on the
default exchange, or by the profile's naming rules. A retry queue's dead-letter target is the queue it
retries, never a DLQ. The adapter reads every binding of a vhost once per
poll (`/api/bindings/{vhost}`) and hands them over here, instead of asking exchange by exchange.

Reading a queue means get + requeue, which a quorum queue counts as a delivery: with a delivery limit,
a message read past it is dropped or dead-lettered on, so `read_hazard` says so before anyone reads.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mqtui.brokers.rabbitmq import dramatiq
from mqtui.brokers.rabbitmq.amqp import text
from mqtui.dlqnames import dlq_origin

#: RabbitMQ 4.0 gives every quorum queue a delivery limit of 20 unless an argument or policy sets one.
DEFAULT_DELIVERY_LIMIT_SINCE = (4, 0)
DEFAULT_DELIVERY_LIMIT = 20


@dataclass
class DlqInfo:
    origins: set[str] = field(default_factory=set)
    detected_by: str = "naming rule"


@dataclass(frozen=True, slots=True)
class Route:
    """One binding: messages entering `source` with a matching key go on to `destination`."""

    source: str
    destination: str
    to_exchange: bool
    key: str


def routes_by_source(bindings: Iterable[Mapping[str, Any]]) -> dict[str, list[Route]]:
    """`/api/bindings/{vhost}` rows grouped by source exchange (the default exchange's are left out)."""
    found: dict[str, list[Route]] = {}
    for binding in bindings:
        source = text(binding.get("source"))
        kind = binding.get("destination_type")
        if not source or kind not in ("queue", "exchange"):
            continue
        route = Route(source, text(binding.get("destination")), kind == "exchange", text(binding.get("routing_key")))
        found.setdefault(source, []).append(route)
    return found


def reached_queues(
    exchange: str, routing_key: str | None, types: Mapping[str, str], routes: Mapping[str, Sequence[Route]]
) -> dict[str, str]:
    """Queues a message entering `exchange` with `routing_key` can reach, each with the exchange it left by.

    Exchange-to-exchange bindings are followed with the same routing key, each exchange once (bindings
    may form a cycle). An exchange missing from `types` does not exist: messages sent to it are dropped.
    """
    found: dict[str, str] = {}
    seen: set[str] = set()
    pending = [exchange]
    while pending:
        current = pending.pop()
        if current in seen or current not in types:
            continue
        seen.add(current)
        for route in routes.get(current, ()):
            if not _routes(types[current], route.key, routing_key):
                continue
            if route.to_exchange:
                pending.append(route.destination)
            else:
                found.setdefault(route.destination, current)
    return found


def dead_letter_map(
    rows: Sequence[Mapping[str, Any]],
    exchange_types: Mapping[str, Mapping[str, str]],
    routes: Mapping[str, Mapping[str, Sequence[Route]]],
    *,
    display: Callable[[str, str], str],
    rules: Sequence[str],
) -> dict[tuple[str, str], DlqInfo]:
    """(vhost, queue) of every DLQ with the queues it receives from; the two mappings are per vhost."""
    found: dict[tuple[str, str], DlqInfo] = {}
    for vhost, name, dlx, key in dead_letter_sources(rows):
        if dlx == "":
            if key and key != name:
                info = found.setdefault((vhost, key), DlqInfo(detected_by="dead-letter routing key"))
                info.origins.add(display(vhost, name))
            continue
        reached = reached_queues(dlx, key, exchange_types.get(vhost, {}), routes.get(vhost, {}))
        for target, via in reached.items():
            if target == name:
                continue
            entry = found.setdefault((vhost, target), DlqInfo())
            entry.detected_by = f"dead-letter exchange {dlx}" + (f" via {via}" if via != dlx else "")
            entry.origins.add(display(vhost, name))
    for (_, name), info in found.items():
        if dramatiq.fold_delay_queue(name, info.origins):
            info.detected_by = dramatiq.DETECTED_BY
    for row in rows:
        vhost, name = text(row.get("vhost")), text(row.get("name"))
        if (vhost, name) in found:
            continue
        origin = dlq_origin(name, rules)
        if origin is not None:
            found[(vhost, name)] = DlqInfo({display(vhost, origin)}, "naming rule")
    return found


#: A queue named so parks messages for another try: what it dead-letters goes back to be retried, so its
#: dead-letter target is the queue it retries, not a DLQ (`retries`).
RETRY_NAME = re.compile(r"(?i)retr(?:y|ies)|delay|wait")


def dead_letter_sources(rows: Iterable[Mapping[str, Any]]) -> list[tuple[str, str, str, str | None]]:
    """(vhost, queue, dead-letter exchange, dead-letter routing key or None) of each queue that has a DLX,
    except retry queues (`RETRY_NAME`)."""
    found = []
    for row in rows:
        if RETRY_NAME.search(text(row.get("name"))):
            continue
        arguments = row.get("arguments") or {}
        policy = row.get("effective_policy_definition") or {}
        dlx = arguments.get("x-dead-letter-exchange", policy.get("dead-letter-exchange"))
        key = arguments.get("x-dead-letter-routing-key", policy.get("dead-letter-routing-key"))
        if isinstance(dlx, str):
            found.append((text(row.get("vhost")), text(row.get("name")), dlx, key if isinstance(key, str) else None))
    return found


def parse_version(value: object) -> tuple[int, ...]:
    """A version such as 3.13.7 or 4.1.0-rc.1 as (3, 13, 7) or (4, 1, 0); () when unknown."""
    parts = []
    for part in text(value).split("-")[0].split("."):
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts)


def read_hazard(row: Mapping[str, Any], version: tuple[int, ...]) -> str | None:
    """Why reading this queue (get + requeue) can lose or move its messages, or None when it cannot.

    Only quorum queues count deliveries. The limit is the argument or the policy's (the lower of the
    two when both are set, as RabbitMQ applies it), else RabbitMQ 4's default; -1 there means none.
    A message read past the limit is dead-lettered when the queue has a DLX itself, else dropped.
    """
    if text(row.get("type")) != "quorum":
        return None
    arguments = row.get("arguments") or {}
    policy = row.get("effective_policy_definition") or {}
    limits = [
        v
        for v in (arguments.get("x-delivery-limit"), policy.get("delivery-limit"))
        if isinstance(v, int) and not isinstance(v, bool)
    ]
    if limits:
        limit = min(limits)
        source = "delivery limit"
    elif version >= DEFAULT_DELIVERY_LIMIT_SINCE:
        limit, source = DEFAULT_DELIVERY_LIMIT, "RabbitMQ 4's default delivery limit"
    else:
        return None
    if limit < 0:
        return None
    dlx = arguments.get("x-dead-letter-exchange", policy.get("dead-letter-exchange"))
    fate = "dead-lettered on through its own dead-letter exchange" if isinstance(dlx, str) else "dropped"
    reads = f"each read counts as a delivery, and a message read more than {limit} times is {fate}"
    return f"quorum queue with {source} {limit}: {reads}"


def _routes(exchange_type: str, binding_key: str, routing_key: str | None) -> bool:
    """Whether a dead letter with `routing_key` (None: its original key, unknown here) can take a binding."""
    if routing_key is None or exchange_type in ("fanout", "headers"):
        return True
    if exchange_type == "direct":
        return binding_key == routing_key
    if exchange_type == "topic":
        return _topic_match(binding_key.split("."), routing_key.split("."))
    return True  # plugin exchange types: assume it may


def _topic_match(pattern: list[str], words: list[str]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_topic_match(rest, words[i:]) for i in range(len(words) + 1))
    if not words:
        return False
    return (head == "*" or head == words[0]) and _topic_match(rest, words[1:])
