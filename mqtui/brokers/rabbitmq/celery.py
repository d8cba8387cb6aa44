"""What a Celery task message says about itself, read from its AMQP headers (Celery's protocol 2).

Celery puts the task's name in the header `task`, its id in `id`, and a printable form of its
arguments in `argsrepr` and `kwargsrepr` (the body holds them encoded, possibly pickled, and is never
decoded here). `retries` counts the task's own retries. A task rejected without requeue
(`Reject(requeue=False)`, or an unacked late ack) is dead-lettered by RabbitMQ with no exception kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mqtui.brokers.rabbitmq.amqp import text

_FIELDS = (("task", "task"), ("id", "task_id"), ("argsrepr", "args"), ("kwargsrepr", "kwargs"), ("retries", "retries"))
_LIMIT = 2000


def job_fields(headers: Mapping[str, Any]) -> dict[str, str]:
    """The task, its id, arguments and retries; empty for a message that is not a Celery task."""
    if not isinstance(headers.get("task"), str | bytes) or "id" not in headers:
        return {}
    found = {"framework": "celery"}
    for header, name in _FIELDS:
        value = headers.get(header)
        if value is not None and value != "":
            found[name] = text(value)[:_LIMIT]
    return found
