"""Dramatiq's queues on RabbitMQ, named and read the way its `RabbitmqBroker` declares and writes them.

Dramatiq (checked against 2.x, `dramatiq/brokers/rabbitmq.py`) declares for a queue `Q` the queues `Q`,
its delay queue `Q.DQ` and `Q.XQ`; `Q` and `Q.DQ` both dead-letter through the default exchange with the
routing key `Q.XQ`, and a worker rejects a message there when its retries are spent. So `Q.XQ` holds the
dead letters of `Q` (a delayed message is moved to `Q` before it runs, so that is where it belongs
again). A message body is JSON: `queue_name`, `actor_name`, `args`, `kwargs`, `options`, `message_id`.
The body is the one sent: the traceback the Retries middleware adds in memory is never published, so
the reason mqtui can give is RabbitMQ's (`rejected`) with the actor and its arguments beside it.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableSet
from dataclasses import replace
from typing import Any

import orjson

from mqtui.jobcounts import DELAYED, FAILED, FRAMEWORK
from mqtui.model import Destination, DestinationKind

DETECTED_BY = "dramatiq dead-letter queue"
DELAY_SUFFIX, DEAD_SUFFIX = ".DQ", ".XQ"
_LIMIT = 1 << 20


def fold_delay_queue(name: str, origins: MutableSet[str]) -> bool:
    """For Dramatiq's `Q.XQ` fed by `Q` and `Q.DQ`: drop `Q.DQ` from its origins. True when `name` is one."""
    if not name.endswith(DEAD_SUFFIX):
        return False
    base = name[: -len(DEAD_SUFFIX)]
    shown = {origin for origin in origins if origin.endswith(base) or origin.endswith(base + DELAY_SUFFIX)}
    if not shown or shown != set(origins):
        return False
    for origin in list(origins):
        if origin.endswith(DELAY_SUFFIX) and origin[: -len(DELAY_SUFFIX)] in origins:
            origins.discard(origin)
    return True


def job_fields(body: bytes) -> dict[str, str]:
    """The actor, arguments and retries of a Dramatiq message body; empty for any other body."""
    if len(body) > _LIMIT or not body.startswith(b"{"):
        return {}
    try:
        decoded: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}
    if not isinstance(decoded, dict) or not {"actor_name", "queue_name", "message_id"} <= decoded.keys():
        return {}
    raw_options = decoded.get("options")
    options: Mapping[str, Any] = raw_options if isinstance(raw_options, dict) else {}
    found = {
        "framework": "dramatiq",
        "actor": str(decoded["actor_name"]),
        "args": orjson.dumps(decoded.get("args", [])).decode(),
        "kwargs": orjson.dumps(decoded["kwargs"]).decode() if decoded.get("kwargs") else "",
        "retries": str(options["retries"]) if isinstance(options.get("retries"), int) else "",
    }
    return {key: value for key, value in found.items() if value}


def mark_queues(found: list[Destination]) -> list[Destination]:
    """Name Dramatiq as the framework of each queue `Q` declared with its `Q.DQ` and `Q.XQ`, with the
    messages waiting in `Q.DQ` as delayed and those in `Q.XQ` as failed, so the row reads as Dramatiq's
    queue on Redis does (the Destinations pane, `ls`, `ls --json`'s `jobs`)."""
    queues = {(d.extra.get("vhost"), d.name): d for d in found if d.kind is DestinationKind.QUEUE}
    marked = []
    for row in found:
        vhost = row.extra.get("vhost")
        delay, dead = queues.get((vhost, row.name + DELAY_SUFFIX)), queues.get((vhost, row.name + DEAD_SUFFIX))
        if row.kind is DestinationKind.QUEUE and delay is not None and dead is not None:
            extra = {**row.extra, FRAMEWORK: "dramatiq"}
            extra.update({key: str(q.depth) for key, q in ((DELAYED, delay), (FAILED, dead)) if q.depth is not None})
            row = replace(row, extra=extra)
        marked.append(row)
    return marked
