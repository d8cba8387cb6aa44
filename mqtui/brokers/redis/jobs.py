"""The keys RQ and Celery (kombu's Redis transport) write, read the way those libraries read them.

RQ (checked against rq 1.x/2.x): a queue is the list `rq:queue:<name>` of job ids (RPUSH, popped from
the left, or moved to `rq:queue:<name>:intermediate`), every queue key is a member of the set
`rq:queues`, a job is the hash `rq:job:<id>`, running jobs sit in the sorted set `rq:wip:<name>` and
failed ones in `rq:failed:<name>` (scored by expiry). The exception is the zlib-compressed `exc_info`
field of the job hash (rq < 1.12) or the newest entry of the stream `rq:results:<id>` (base64 of zlib).
`rq:registry:failed:<name>` is read too, for tools that follow the older naming. A worker registers its
key `rq:worker:<name>` (a hash that expires when it stops sending heartbeats) in `rq:workers:<queue>`
for each queue it listens on; a member whose hash is gone is a dead worker rq has not cleaned yet.

Celery: a queue is a plain list (LPUSH, BRPOP) named after the queue (`celery` by default); priorities
live in sibling lists `<queue>\\x06\\x16<n>`; queues are found through the binding sets
`_kombu.binding.<exchange>` whose members are `routing_key\\x06\\x16pattern\\x06\\x16queue`; messages
delivered but not acknowledged are fields of the hash `unacked` (value: JSON [message, exchange,
routing_key]) indexed by the sorted set `unacked_index`. mqtui only reads Celery's keys.

Nothing here unpickles anything: a job's `data` is never decoded, its `description` is what we show.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import orjson

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from mqtui.brokers.redis.snapshot import Snapshot

RQ_QUEUE_PREFIX = "rq:queue:"
RQ_QUEUES_SET = "rq:queues"
RQ_JOB_PREFIX = "rq:job:"
RQ_FAILED_PREFIXES = ("rq:failed:", "rq:registry:failed:")
RQ_INTERMEDIATE_SUFFIX = ":intermediate"
RQ_WORKERS_PREFIX, RQ_WORKER_PREFIX = "rq:workers:", "rq:worker:"
#: Why a rate-limited job (rq 3) is not requeued by mqtui's one-step script, which would skip its limit.
RQ_RATE_LIMITED = "a rate-limited job: requeue it with rq (FailedJobRegistry.requeue), which reapplies the limit"

KOMBU_BINDING_PREFIX = "_kombu.binding."
KOMBU_SEP = "\x06\x16"
CELERY_PRIORITY_STEPS = (3, 6, 9)
CELERY_UNACKED = "unacked"
#: Reading every unacked message to split them per queue is bounded by this many messages.
CELERY_UNACKED_SPLIT_LIMIT = 500

_MAX_TRACEBACK = 1 << 20


def rq_queue_name(key: str) -> str | None:
    """`rq:queue:default` -> `default` (None for other keys and for intermediate lists)."""
    if not key.startswith(RQ_QUEUE_PREFIX) or key.endswith(RQ_INTERMEDIATE_SUFFIX):
        return None
    return key[len(RQ_QUEUE_PREFIX) :] or None


def rq_failed_queue(key: str) -> str | None:
    """`rq:failed:default` -> `default`: the queue whose failed-job registry this is."""
    for prefix in RQ_FAILED_PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            return key[len(prefix) :]
    return None


def rq_queue_key(name: str) -> str:
    return name if name.startswith(RQ_QUEUE_PREFIX) else f"{RQ_QUEUE_PREFIX}{name}"


def rq_keys(name: str) -> dict[str, str]:
    """Every key RQ keeps for one queue."""
    return {
        "queue": f"{RQ_QUEUE_PREFIX}{name}",
        "intermediate": f"{RQ_QUEUE_PREFIX}{name}{RQ_INTERMEDIATE_SUFFIX}",
        "wip": f"rq:wip:{name}",
        "failed": f"rq:failed:{name}",
        "legacy_failed": f"rq:registry:failed:{name}",
    }


async def fold_rq_workers(client: Redis, snap: Snapshot, names: Iterable[str]) -> None:
    """Each RQ queue's live workers as its consumers and their names as members, in two pipelines."""
    queues = sorted(names)
    if not queues:
        return
    pipe = client.pipeline(transaction=False)
    for name in queues:
        pipe.smembers(f"{RQ_WORKERS_PREFIX}{name}")
    registered = [sorted(a) if isinstance(a, set | list) else [] for a in await pipe.execute(raise_on_error=False)]
    keys = sorted({key for found in registered for key in found})
    alive: set[bytes] = set()
    if keys:
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.exists(key)
        alive = {key for key, exists in zip(keys, await pipe.execute(raise_on_error=False), strict=True) if exists == 1}
    for name, found in zip(queues, registered, strict=True):
        queue = snap.lists.get(f"{RQ_QUEUE_PREFIX}{name}")
        if queue is not None:
            live = [key.decode("utf-8", "replace").removeprefix(RQ_WORKER_PREFIX) for key in found if key in alive]
            queue.consumers, queue.members = len(live), tuple(live)


def rq_exc_text(raw: bytes | None) -> str | None:
    """The traceback RQ stored in a job hash: zlib-compressed text, or plain text from old versions."""
    if not raw:
        return None
    try:
        data = zlib.decompressobj().decompress(raw, _MAX_TRACEBACK)
    except zlib.error:
        data = raw[:_MAX_TRACEBACK]
    return data.decode("utf-8", errors="replace") or None


def rq_result_exc_text(raw: bytes | None) -> str | None:
    """`exc_string` of an entry of `rq:results:<id>`: base64 of zlib-compressed text."""
    if not raw:
        return None
    try:
        return rq_exc_text(base64.b64decode(raw, validate=True))
    except (binascii.Error, ValueError):
        return rq_exc_text(raw)


def last_line(traceback: str | None) -> str | None:
    """The line of a traceback that says what happened (`ZeroDivisionError: division by zero`)."""
    if not traceback:
        return None
    lines = [line.strip() for line in traceback.strip().splitlines() if line.strip()]
    return lines[-1][:500] if lines else None


def rq_time(raw: bytes | None) -> datetime | None:
    """RQ's timestamps: `2024-05-01T12:00:00.123456Z` (utcformat)."""
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.decode("ascii").replace("Z", "+00:00"))
    except (UnicodeDecodeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def rq_now() -> str:
    """A timestamp in RQ's own format, for `enqueued_at` when we requeue."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def celery_binding_queues(members: list[bytes]) -> list[str]:
    """Queue names from the members of one `_kombu.binding.<exchange>` set.

    Pidbox (remote control) and celeryev (monitoring events) queues are fanout over pub/sub, not lists.
    """
    names = []
    for member in members:
        parts = member.decode("utf-8", errors="backslashreplace").split(KOMBU_SEP)
        queue = parts[-1] if parts else ""
        if queue and not queue.endswith(".pidbox") and not queue.startswith("celeryev."):
            names.append(queue)
    return names


def celery_priority_base(key: str) -> str | None:
    """`celery\\x06\\x163` -> `celery`: a priority sub-list folded into its queue."""
    base, sep, step = key.rpartition(KOMBU_SEP)
    return base if sep and base and step.isdigit() else None


def celery_priority_keys(queue: str) -> list[str]:
    return [f"{queue}{KOMBU_SEP}{step}" for step in CELERY_PRIORITY_STEPS]


def celery_unacked_by_queue(values: list[bytes], queues: list[str]) -> dict[str, int]:
    """Count unacked messages per queue from their routing keys (Celery routes queue = routing key)."""
    counts = dict.fromkeys(queues, 0)
    for value in values:
        try:
            decoded = orjson.loads(value)
        except orjson.JSONDecodeError:
            continue
        if isinstance(decoded, list) and len(decoded) >= 3 and isinstance(decoded[2], str) and decoded[2] in counts:
            counts[decoded[2]] += 1
    return counts
