"""BullMQ's keys, read the way BullMQ reads them (its Lua scripts in bullmq 6.7 for Node and 3.4 for Python).

A queue `emails` under the default prefix `bull` is a family of keys `bull:emails:<part>`: the lists
`wait` (LPUSH, taken from the right), `paused` and `active`; the sorted sets `prioritized`, `delayed`,
`waiting-children`, `completed` and `failed` (scored by finishedOn, ms); the hash `meta` (`paused`
when the queue is paused), the stream `events` and a few counters. A job is the hash
`bull:emails:<id>` (`name`, `data` JSON, `opts`, `timestamp`, `processedOn`, `finishedOn`,
`failedReason`, `stacktrace` a JSON list, `atm` attempts made) with its log list `bull:emails:<id>:logs`.
Workers name their connections `bull:<queue>` (the Python port) or `bull:<base64 of queue>` (Node),
with `:w:<worker name>` after a named worker, which is how BullMQ's own `getWorkers` finds them.

mqtui shows one row `bull:emails` per queue (waiting = wait + paused + prioritized, active in flight,
the other counts beside) and hides the keys it is made of; `bull:emails:failed` is a dead-letter queue.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from mqtui.brokers.redis.snapshot import FailureSet, ListQueue, Snapshot
from mqtui.model import Detail, DetailSection
from mqtui.safetext import safe_line

if TYPE_CHECKING:
    from redis.asyncio import Redis

PREFIX = "bull"
FRAMEWORK = "bullmq"
DETECTED_BY = "bullmq failed set"
_PARTS = (
    "wait|active|paused|prioritized|delayed|failed|completed|waiting-children|events|marker|stalled|meta|id|pc"
    "|limiter|stalled-check|repeat|de"
)
_STATE_KEY = re.compile(rf"^{PREFIX}:(?P<queue>.+):(?P<part>{_PARTS})$")
_LOGS_KEY = re.compile(rf"^{PREFIX}:(?P<queue>.+):[^:]+:logs$")
#: The sorted sets the scanner keeps (a queue holding only failed or delayed jobs has no list key).
_ZSET_PARTS = ("failed", "completed", "delayed", "prioritized", "waiting-children")
#: What one queue's counts are read from, in this order: (command, part).
_COUNTS = (
    ("llen", "wait"),
    ("llen", "paused"),
    ("llen", "active"),
    ("zcard", "prioritized"),
    ("zcard", "delayed"),
    ("zcard", "failed"),
    ("zcard", "completed"),
    ("zcard", "waiting-children"),
)


@dataclass(frozen=True, slots=True)
class QueueKeys:
    """The keys of one BullMQ queue; `row` is the name mqtui shows for it."""

    queue: str

    @property
    def row(self) -> str:
        return f"{PREFIX}:{self.queue}"

    def part(self, part: str) -> str:
        return f"{PREFIX}:{self.queue}:{part}"

    def job(self, job_id: str) -> str:
        return f"{PREFIX}:{self.queue}:{job_id}"


def state_key(name: str) -> tuple[str, str] | None:
    """`bull:emails:failed` -> (`emails`, `failed`); None for keys that are not a queue's own."""
    found = _STATE_KEY.match(name)
    return (found["queue"], found["part"]) if found else None


def own_key(name: str) -> bool:
    """A key BullMQ keeps for a queue (state lists and sets, events, job logs): hidden behind the row."""
    return state_key(name) is not None or _LOGS_KEY.match(name) is not None


def interesting(name: str, kind: str) -> bool:
    """Sorted sets the key scanner keeps for BullMQ (lists and streams it keeps anyway)."""
    found = state_key(name) if kind == "zset" else None
    return found is not None and found[1] in _ZSET_PARTS


def failed_queue(name: str) -> QueueKeys | None:
    """`bull:emails:failed` -> the queue `emails` whose failed set it is."""
    found = state_key(name)
    return QueueKeys(found[0]) if found and found[1] == "failed" else None


def worker_names(clients: list[dict[str, str]], queue: str) -> tuple[str, ...]:
    """The workers of `queue` among CLIENT LIST's connections, matched as BullMQ's `getWorkers` does; a
    named worker's connections (the Python port names its blocking one too) count once."""
    bases = (f"{PREFIX}:{queue}", f"{PREFIX}:{base64.b64encode(queue.encode()).decode()}")
    found = []
    for client in clients:
        name = client.get("name") or ""
        for base in bases:
            if name == base or name.startswith(f"{base}:w:"):
                found.append(name[len(base) + 3 :] or f"{client.get('addr', '?')}")
                break
    return tuple(sorted(set(found)))


def ms_time(raw: bytes | str | float | None) -> datetime | None:
    """BullMQ's times: epoch milliseconds."""
    try:
        value = float(raw) if raw is not None else 0.0
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(value / 1000, tz=UTC) if value > 0 else None


async def client_list(client: Redis) -> list[dict[str, str]]:
    """CLIENT LIST, or nothing where the server refuses it (some managed Redis do)."""
    from redis.exceptions import ResponseError

    try:
        return list(await client.client_list())
    except ResponseError:
        return []


async def fold(client: Redis, snap: Snapshot, known: dict[str, str]) -> None:
    """Every BullMQ queue of the keys found as one row, its keys hidden, its failed set as a failure store.

    One pipeline for every queue's counts and oldest failure, and one CLIENT LIST for the workers."""
    queues = sorted({found[0] for name in known if (found := state_key(name))})
    if not queues:
        return
    for item in list(snap.lists.values()) + list(snap.streams.values()):
        if own_key(item.name):
            item.internal, item.is_dlq = True, False
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        keys = QueueKeys(queue)
        for command, part in _COUNTS:
            getattr(pipe, command)(keys.part(part))
        pipe.hget(keys.part("meta"), "paused")
        pipe.zrange(keys.part("failed"), 0, 0, withscores=True)
    answers = await pipe.execute(raise_on_error=False)
    clients = await client_list(client)
    stride = len(_COUNTS) + 2
    for index, queue in enumerate(queues):
        keys = QueueKeys(queue)
        chunk = answers[index * stride : (index + 1) * stride]
        counts = {part: 0 if isinstance(n, Exception) else int(n) for (_, part), n in zip(_COUNTS, chunk, strict=False)}
        paused, oldest = chunk[-2], chunk[-1]
        workers = worker_names(clients, queue)
        row = ListQueue(
            name=keys.row,
            depth=counts["wait"] + counts["paused"] + counts["prioritized"],
            in_flight=counts["active"],
            convention=FRAMEWORK,
            consumers=len(workers),
            members=workers,
        )
        row.extra.update({part: str(counts[part]) for part in ("delayed", "failed", "completed", "prioritized")})
        if counts["waiting-children"]:
            row.extra["waiting_children"] = str(counts["waiting-children"])
        if paused and not isinstance(paused, Exception):
            row.extra["paused"] = "yes"
        snap.lists[keys.row] = row
        if counts["failed"]:
            first = oldest[0][1] if oldest and not isinstance(oldest, Exception) else None
            snap.failure_sets.append(
                FailureSet(keys.part("failed"), keys.row, counts["failed"], DETECTED_BY, oldest=ms_time(first))
            )


def row_queue(name: str) -> QueueKeys | None:
    """`bull:emails` -> the queue `emails` (None for any other name, the queue's own keys included)."""
    if not name.startswith(f"{PREFIX}:") or state_key(name) is not None or len(name) <= len(PREFIX) + 1:
        return None
    return QueueKeys(name[len(PREFIX) + 1 :])


async def describe(client: Redis, broker: str, name: str) -> Detail | None:
    """The details of a `bull:<queue>` row, read as a poll reads it; None when no such queue exists."""
    keys = row_queue(name)
    if keys is None or not await client.exists(*(keys.part(p) for p in ("meta", "id", "events", "wait", "failed"))):
        return None
    snap = Snapshot()
    await fold(client, snap, {keys.part("meta"): "hash"})
    row = snap.lists[keys.row]
    summary = (("framework", FRAMEWORK), ("waiting", str(row.depth)), ("active", str(row.in_flight)),
               *((safe_line(k), safe_line(v)) for k, v in row.extra.items()), ("workers", str(row.consumers)))  # fmt: skip
    workers = DetailSection("WORKERS", ("NAME",), tuple((safe_line(w),) for w in row.members))
    return Detail(broker, name, summary, (workers,) if row.members else ())
