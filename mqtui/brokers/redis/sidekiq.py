"""Sidekiq's keys, read the way Sidekiq reads them (its Ruby source, sidekiq 6.4 from Debian; 7.x alike).

Queue names are the members of the set `queues`; a queue is the list `queue:<name>` of JSON jobs
(LPUSH, taken from the right). Failed jobs wait in the sorted set `retry` (scored by the next try, epoch
seconds) and, out of retries, in `dead` (scored by when they died); members are the job JSON with
`class`, `args`, `queue`, `jid`, `error_class`, `error_message`, `failed_at`, `retried_at`,
`retry_count` and, where `backtrace` is on, `error_backtrace` (base64 of zlib of a JSON list of lines).
Running processes are the members of `processes`, each a hash (`info` JSON naming its `queues`,
`busy`) with its running jobs in `<identity>:workers` (6.x) or `<identity>:work` (7.x).

mqtui shows `sidekiq:<queue>` rows (the `queue:<name>` lists hidden behind them) and the two failure
stores `sidekiq:retry` and `sidekiq:dead`. "Retry now" is Sidekiq Web's (`SortedEntry#retry`): the job
leaves the set, its `retry_count` goes down by one, and it is pushed to its queue with a new
`enqueued_at` (`Client#atomic_push`), here in one script. Deleting removes the set member, all Sidekiq
keeps of a failed job.
"""

from __future__ import annotations

import base64
import binascii
import time
import zlib
from collections.abc import Collection
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from mqtui.brokers.redis.client import as_bytes, text
from mqtui.brokers.redis.letters import DlqRef
from mqtui.brokers.redis.requeue import Planned
from mqtui.brokers.redis.snapshot import FailureSet, ListQueue, Snapshot
from mqtui.model import DeadLetter, Detail, DetailSection, Message, ProgressCallback, ReplayItem, ReplayResult
from mqtui.safetext import safe_line

if TYPE_CHECKING:
    from redis.asyncio import Redis

FRAMEWORK = "sidekiq"
QUEUES = "queues"
PROCESSES = "processes"
QUEUE_PREFIX = "queue:"
#: The failure stores, by the name mqtui shows -> (key, detected_by).
SETS = {"sidekiq:retry": ("retry", "sidekiq retry set"), "sidekiq:dead": ("dead", "sidekiq dead set")}
_MAX_BACKTRACE = 1 << 20
#: The sorted sets a queue's row counts its jobs in (extra key -> set), every job naming its `queue`.
ROW_SETS = {"scheduled": "schedule", "retrying": "retry", "dead": "dead"}
#: Splitting a set's jobs per queue reads them all: done for sets of at most this many jobs; a bigger set
#: shows its total on every row, marked "(all queues)".
SPLIT_LIMIT = 500

#: KEYS: failure set, queue list, `queues`. ARGV: member, the job to push, queue name. 1 moved, 0 gone
#: from the set, -3 the queue key is not a list.
_RETRY = """
local t = redis.call('TYPE', KEYS[2])['ok']
if t ~= 'none' and t ~= 'list' then return -3 end
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('SADD', KEYS[3], ARGV[3])
redis.call('LPUSH', KEYS[2], ARGV[2])
return 1
"""


def interesting(name: str, kind: str) -> bool:
    """The sets and sorted sets the key scanner keeps for Sidekiq (its queue lists it keeps anyway)."""
    return (kind == "set" and name in (QUEUES, PROCESSES)) or (kind == "zset" and name == "dead")


def row_name(queue: str) -> str:
    return f"sidekiq:{queue}"


def set_key(name: str) -> str | None:
    """`sidekiq:dead` -> `dead`: the sorted set behind a failure store's name."""
    found = SETS.get(name)
    return found[0] if found else None


def seconds_time(value: Any) -> datetime | None:
    """Sidekiq's times: epoch seconds as floats (milliseconds as integers in 7.x `created_at`)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, tz=UTC)


def backtrace(raw: Any) -> str | None:
    """`error_backtrace`: base64 of zlib of a JSON list of lines (a plain list in old versions); Ruby
    lists the raising line first, so a shortened backtrace keeps its beginning."""
    if isinstance(raw, list):
        return "\n".join(str(line) for line in raw)
    if not isinstance(raw, str) or not raw:
        return None
    try:
        lines = orjson.loads(zlib.decompressobj().decompress(base64.b64decode(raw), _MAX_BACKTRACE))
    except (binascii.Error, ValueError, zlib.error):
        return None
    return "\n".join(str(line) for line in lines) if isinstance(lines, list) else None


def _job(raw: bytes) -> dict[str, Any]:
    try:
        job = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return job if isinstance(job, dict) else {}


async def fold(client: Redis, snap: Snapshot, members: dict[str, list[bytes]]) -> None:
    """Sidekiq's queues as rows with their running jobs and processes, its retry and dead sets as failure
    stores: one pipeline, plus one for the running jobs of the processes."""
    if QUEUES not in members:
        return
    queues = sorted(text(q) for q in members[QUEUES])
    processes = [text(p) for p in members.get(PROCESSES, [])]
    for name in queues:
        hidden = snap.lists.get(f"{QUEUE_PREFIX}{name}")
        if hidden is not None:
            hidden.internal = True
    pipe = client.pipeline(transaction=False)
    for name in queues:
        pipe.llen(f"{QUEUE_PREFIX}{name}")
    for key, _ in SETS.values():
        pipe.zcard(key)
        pipe.zrange(key, 0, 0, withscores=True)
    pipe.zcard("schedule")
    for identity in processes:
        pipe.hget(identity, "info")
        pipe.hvals(f"{identity}:workers")
        pipe.hvals(f"{identity}:work")
    answers = await pipe.execute(raise_on_error=False)
    lengths = [0 if isinstance(n, Exception) else int(n) for n in answers[: len(queues)]]
    sets = answers[len(queues) : len(queues) + 2 * len(SETS)]
    serving: dict[str, list[str]] = {}
    running: dict[str, int] = {}
    scheduled = answers[len(queues) + 2 * len(SETS)]
    rest = answers[len(queues) + 2 * len(SETS) + 1 :]
    for index, identity in enumerate(processes):
        info, *work = rest[3 * index : 3 * index + 3]
        details = _job(info) if isinstance(info, bytes) else {}
        for queue in details.get("queues") or []:
            serving.setdefault(str(queue), []).append(identity)
        for values in work:
            for value in [] if isinstance(values, Exception) else as_bytes(values):
                queue = _job(value).get("queue")
                if isinstance(queue, str):
                    running[queue] = running.get(queue, 0) + 1
    for name, depth in zip(queues, lengths, strict=True):
        workers = tuple(sorted(serving.get(name, [])))
        row = ListQueue(name=row_name(name), depth=depth, in_flight=running.get(name, 0), convention=FRAMEWORK,
                        consumers=len(workers), members=workers)  # fmt: skip
        snap.lists[row.name] = row
    totals = {"schedule": scheduled, "retry": sets[0], "dead": sets[2]}
    await _count_per_queue(
        client, snap, queues, {k: 0 if isinstance(v, Exception) else int(v) for k, v in totals.items()}
    )
    for (name, (_, detected_by)), index in zip(SETS.items(), range(0, 2 * len(SETS), 2), strict=True):
        count, first = sets[index], sets[index + 1]
        if isinstance(count, Exception) or not int(count):
            continue
        oldest = None
        if first and not isinstance(first, Exception):
            member, score = first[0]
            oldest = (
                seconds_time(float(score)) if name == "sidekiq:dead" else seconds_time(_job(member).get("failed_at"))
            )
        snap.failure_sets.append(FailureSet(name, None, int(count), detected_by, oldest=oldest))


async def _count_per_queue(client: Redis, snap: Snapshot, queues: list[str], totals: dict[str, int]) -> None:
    """Each row's scheduled, retrying and dead jobs: split by the jobs' `queue` in one pipeline for the
    sets of at most SPLIT_LIMIT jobs, the set's total "(all queues)" for bigger ones."""
    small = [key for key, total in totals.items() if 0 < total <= SPLIT_LIMIT]
    pipe = client.pipeline(transaction=False)
    for key in small:
        pipe.zrange(key, 0, -1)
    answers = await pipe.execute(raise_on_error=False) if small else []
    split: dict[str, dict[str, int]] = {}
    for key, found in zip(small, answers, strict=True):
        per_queue = split[key] = {}
        for member in [] if isinstance(found, Exception) else as_bytes(found):
            queue = _job(member).get("queue")
            if isinstance(queue, str):
                per_queue[queue] = per_queue.get(queue, 0) + 1
    for name in queues:
        row = snap.lists[row_name(name)]
        for label, key in ROW_SETS.items():
            if key in split or not totals[key]:
                row.extra[label] = str(split.get(key, {}).get(name, 0))
            else:
                row.extra[label] = f"{totals[key]} (all queues)"


class SidekiqSets:
    """Reads, retries ("retry now") and deletes the jobs of Sidekiq's retry and dead sets on one client."""

    def __init__(self, client: Redis, broker: str) -> None:
        self.client = client
        self.broker = broker
        self._retry = client.register_script(_RETRY)

    async def members(self, ref: DlqRef, limit: int | None) -> list[tuple[bytes, dict[str, Any]]]:
        """Members with their jobs, in the set's order (dead: oldest death first; retry: next due first)."""
        stop = -1 if limit is None else limit - 1
        return [(m, _job(m)) for m in as_bytes(await self.client.zrange(ref.key, 0, stop))]

    async def read(self, ref: DlqRef, limit: int) -> list[DeadLetter]:
        return [self._letter(ref, member, job) for member, job in await self.members(ref, limit)]

    def _letter(self, ref: DlqRef, member: bytes, job: dict[str, Any]) -> DeadLetter:
        jid = str(job.get("jid") or "")
        queue = str(job.get("queue") or "")
        job_class = str(job.get("wrapped") or job.get("class") or "")
        error = ": ".join(str(job[k]) for k in ("error_class", "error_message") if job.get(k))
        retries = job.get("retry_count")
        failed_at = seconds_time(job.get("failed_at"))
        message = Message(
            broker=self.broker,
            destination=ref.name,
            partition=None,
            position=jid,
            timestamp=seconds_time(job.get("enqueued_at")) or seconds_time(job.get("created_at")),
            key=jid.encode(),
            value=orjson.dumps(job.get("args", [])) if job else member,
            headers=tuple((k, str(job[k]).encode()) for k in ("class", "queue") if job.get(k)),
        )
        return DeadLetter(
            id=jid or text(member)[:64],
            message=message,
            origin=row_name(queue) if queue else None,
            reason=error[:500] or None,
            attempts=retries + 1 if isinstance(retries, int) and not isinstance(retries, bool) else None,
            first_failure=failed_at,
            last_failure=seconds_time(job.get("retried_at")) or failed_at,
            extra={"job": job_class, "traceback": (backtrace(job.get("error_backtrace")) or "")[:2000],
                   "framework": FRAMEWORK},
        )  # fmt: skip

    async def plan(self, ref: DlqRef, to: str | None, wanted: set[str] | None, limit: int | None) -> list[Planned]:
        """Each job goes back to its own queue (`--to sidekiq:<queue>` sends them all to another)."""
        plans = []
        for member, job in await self.members(ref, None):
            jid = str(job.get("jid") or "")
            if wanted is not None and jid not in wanted:
                continue
            target = to or (row_name(str(job["queue"])) if job.get("queue") else "")
            reason = None if target.startswith("sidekiq:") and target not in SETS else "not a Sidekiq queue"
            plans.append(Planned(ReplayItem(jid, target, reason if target else "the job names no queue"),
                                 value=member))  # fmt: skip
            if limit is not None and len(plans) >= limit:
                break
        return plans

    async def move(self, ref: DlqRef, plans: list[Planned], progress: ProgressCallback | None) -> ReplayResult:
        todo = [p for p in plans if p.item.skip_reason is None]
        errors = [f"{p.item.id}: {p.item.skip_reason}" for p in plans if p.item.skip_reason]
        sent = failed = gone = 0
        for done, planned in enumerate(todo, 1):
            assert planned.value is not None
            queue = planned.item.target.removeprefix("sidekiq:")
            job = _job(planned.value)
            if isinstance(job.get("retry_count"), int):
                job["retry_count"] -= 1
            job["queue"] = queue
            job["enqueued_at"] = time.time()
            keys = [ref.key, f"{QUEUE_PREFIX}{queue}".encode(), QUEUES.encode()]
            code = int(await self._retry(keys=keys, args=[planned.value, orjson.dumps(job), queue]))
            if code == 1:
                sent += 1
            elif code == 0:
                gone += 1
            else:
                failed += 1
                errors.append(f"{planned.item.id}: queue:{queue} is not a list")
            if progress is not None:
                progress(done, len(todo))
        return ReplayResult(sent=sent, failed=failed, skipped=len(plans) - len(todo) + gone, errors=tuple(errors[:20]))

    async def delete(self, ref: DlqRef, ids: Collection[str]) -> int:
        wanted = set(ids)
        doomed = [member for member, job in await self.members(ref, None) if str(job.get("jid") or "") in wanted]
        return int(await self.client.zrem(ref.key, *doomed)) if doomed else 0


def queue_list(name: str) -> str | None:
    """`sidekiq:default` -> `queue:default`, the list behind a queue's row (None for other names)."""
    if not name.startswith("sidekiq:") or name in SETS or len(name) <= len("sidekiq:"):
        return None
    return f"{QUEUE_PREFIX}{name.removeprefix('sidekiq:')}"


async def describe(client: Redis, broker: str, name: str) -> Detail | None:
    """The details of a `sidekiq:<queue>` row, read as a poll reads it; None when Sidekiq has no such queue."""
    if queue_list(name) is None:
        return None
    pipe = client.pipeline(transaction=False)
    pipe.smembers(QUEUES)
    pipe.smembers(PROCESSES)
    queues, processes = await pipe.execute()
    snap = Snapshot()
    await fold(client, snap, {QUEUES: sorted(as_bytes(queues)), PROCESSES: sorted(as_bytes(processes))})
    row = snap.lists.get(name)
    if row is None:
        return None
    counts = {store.name: store.count for store in snap.failure_sets}
    summary = (("framework", FRAMEWORK), ("enqueued", str(row.depth)), ("running", str(row.in_flight)),
               ("processes", str(row.consumers)),
               *((store, str(counts.get(store, 0))) for store in SETS))  # fmt: skip
    listening = DetailSection("PROCESSES", ("IDENTITY",), tuple((safe_line(p),) for p in row.members))
    return Detail(broker, name, summary, (listening,) if row.members else ())
