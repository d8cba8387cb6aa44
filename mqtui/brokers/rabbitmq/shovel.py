"""Moving every message of a queue to another queue inside the broker, with a dynamic shovel.

Requeue pulls each dead letter through mqtui (about a thousand a second, journalled so a crash loses
nothing). A shovel (the rabbitmq_shovel plugin) moves them inside the broker instead: several times
faster, and it carries on if mqtui dies. With `ack-mode: on-confirm` it acks a message at the source
only after the destination confirmed it, so an interrupted move loses nothing either.

What the speed costs, and why the move is its own command rather than a fast path of requeue: every
message goes to the one destination queue (requeue routes each to the queue its x-death names); headers
stay as they were (x-death too), the shovel adding its own `x-shovelled` record (which shovel, from
where to where) and `x-shovelled-timestamp` (when) instead of mqtui's requeue headers; and it moves as many messages as were
ready when it started (`src-delete-after: queue-length`), so letters dead-lettered meanwhile stay for
the next move. Its URIs name no host (`amqp:///vhost`): the shovel runs on the broker's own node as
the user who created it, and no credentials are written into the definition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

SHOVEL_PREFIX = "mqtui-move-"


def shovel_name(queue: str, started: float) -> str:
    """A name unique per move, that says who made it and for which queue in the management UI."""
    return f"{SHOVEL_PREFIX}{queue}-{int(started * 1000)}"


def local_uri(vhost: str) -> str:
    return "amqp:///" + quote(vhost, safe="")


def definition(vhost: str, source: str, target: str) -> dict[str, Any]:
    """The shovel's parameter value: one queue to another in the same vhost, deleted when done."""
    uri = local_uri(vhost)
    return {
        "src-protocol": "amqp091",
        "src-uri": uri,
        "src-queue": source,
        "src-delete-after": "queue-length",
        "dest-protocol": "amqp091",
        "dest-uri": uri,
        "dest-queue": target,
        "ack-mode": "on-confirm",
        "dest-add-forward-headers": True,
        "dest-add-timestamp-header": True,
    }


@dataclass(frozen=True, slots=True)
class ShovelStatus:
    state: str
    """starting, running or terminated as the plugin reports it; "" before it reports anything."""
    reason: str = ""


def parse_status(answer: Any) -> ShovelStatus:
    """/api/shovels/vhost/V/NAME answers a list of one (RabbitMQ 3.x) or the object itself (newer)."""
    rows: Sequence[Any] = answer if isinstance(answer, list) else [answer]
    for row in rows:
        if isinstance(row, Mapping):
            reason = row.get("reason")
            return ShovelStatus(str(row.get("state") or ""), "" if reason is None else " ".join(str(reason).split()))
    return ShovelStatus("")
