"""BullMQ's failed jobs as dead letters: read from the job hashes, retried and removed as BullMQ does.

Retry is `Job.retry("failed")` of BullMQ's Python port (`mqtui[jobs]`), imported when a retry runs: its
`reprocessJob` script, the one Node's `job.retry()` runs too, takes the job out of the failed set,
clears `finishedOn`, `processedOn` and `failedReason`, puts it back in `wait` (or `prioritized`) with
the marker that wakes the workers, and adds a `waiting` event, all in one script. Like BullMQ's own
retry (and bull-board's button) it keeps `attemptsMade`. Without the port, `_REPROCESS` does the same
steps in one script (no parent/child flows). Deleting is `Job.remove` (BullMQ's `removeJob` script: the
job hash, its logs and its dependency keys), else `_REMOVE` for a job that has no children.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

import orjson

from mqtui.brokers.redis import bullmq
from mqtui.brokers.redis.client import as_bytes, text
from mqtui.brokers.redis.letters import DlqRef
from mqtui.brokers.redis.requeue import Planned
from mqtui.model import DeadLetter, Message, ProgressCallback, ReplayItem, ReplayResult

if TYPE_CHECKING:
    from redis.asyncio import Redis

#: KEYS: job hash, failed, wait, meta, marker, prioritized, priority counter, events. ARGV: job id, push
#: command (LPUSH, RPUSH for lifo). Returns 1, -1 (job hash gone), -3 (not in the failed set).
_REPROCESS = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('ZREM', KEYS[2], ARGV[1]) == 0 then return -3 end
redis.call('HDEL', KEYS[1], 'finishedOn', 'processedOn', 'failedReason')
local paused = redis.call('HGET', KEYS[4], 'paused')
local priority = tonumber(redis.call('HGET', KEYS[1], 'priority')) or 0
if priority == 0 then
  redis.call(ARGV[2], KEYS[3], ARGV[1])
else
  local counter = redis.call('INCR', KEYS[7])
  redis.call('ZADD', KEYS[6], priority * 0x100000000 + counter % 0x100000000, ARGV[1])
end
if not paused then redis.call('ZADD', KEYS[5], 0, '0') end
local max_events = redis.call('HGET', KEYS[4], 'opts.maxLenEvents') or 10000
redis.call('XADD', KEYS[8], 'MAXLEN', '~', max_events, '*', 'event', 'waiting', 'jobId', ARGV[1], 'prev', 'failed')
return 1
"""

#: KEYS: failed set, job hash. ARGV: job id. Removes a failed job and every key BullMQ keeps beside it.
_REMOVE = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
local job = KEYS[2]
redis.call('DEL', job, job .. ':logs', job .. ':dependencies', job .. ':processed', job .. ':failed',
           job .. ':unsuccessful', job .. ':lock')
return 1
"""

_OUTCOMES = {-1: "the job hash no longer exists", -3: "no longer in the failed set", -99: "BullMQ refused the retry"}
_FIELDS = ("name", "data", "opts", "timestamp", "processedOn", "finishedOn", "failedReason", "stacktrace", "atm")


def port_available() -> bool:
    """BullMQ's Python port is installed (`mqtui[jobs]`); found without importing it."""
    return importlib.util.find_spec("bullmq") is not None


class BullFailed:
    """Reads, retries and removes the jobs of BullMQ failed sets on one client."""

    def __init__(self, client: Redis, broker: str, *, use_port: bool | None = None) -> None:
        self.client = client
        self.broker = broker
        self.use_port = port_available() if use_port is None else use_port
        self._reprocess = client.register_script(_REPROCESS)
        self._remove = client.register_script(_REMOVE)

    @staticmethod
    def keys(ref: DlqRef) -> bullmq.QueueKeys:
        found = bullmq.failed_queue(ref.name)
        assert found is not None  # resolve made a "bullmq" ref only from such a name
        return found

    async def ids(self, ref: DlqRef, limit: int | None) -> list[str]:
        """Job ids, oldest failure first (the set is scored by finishedOn)."""
        stop = -1 if limit is None else limit - 1
        return [text(job) for job in as_bytes(await self.client.zrange(ref.key, 0, stop))]

    async def read(self, ref: DlqRef, limit: int) -> list[DeadLetter]:
        keys = self.keys(ref)
        job_ids = await self.ids(ref, limit)
        pipe = self.client.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.hmget(keys.job(job_id), _FIELDS)
        answers = await pipe.execute(raise_on_error=False) if job_ids else []
        return [self._letter(ref, keys, job_id, answer) for job_id, answer in zip(job_ids, answers, strict=True)]

    def _letter(self, ref: DlqRef, keys: bullmq.QueueKeys, job_id: str, answer: Any) -> DeadLetter:
        values = [None] * len(_FIELDS) if isinstance(answer, Exception) else answer
        data: dict[str, bytes | None] = dict(zip(_FIELDS, values, strict=True))
        name = text(data["name"]) if data["name"] else ""
        traces = _stacktrace(data["stacktrace"])
        attempts = int(data["atm"]) if data["atm"] and text(data["atm"]).isdigit() else None
        message = Message(
            broker=self.broker,
            destination=ref.name,
            partition=None,
            position=job_id,
            timestamp=bullmq.ms_time(data["timestamp"]),
            key=job_id.encode(),
            value=data["data"] or b"",
            headers=tuple((k, v) for k, v in (("name", data["name"]), ("opts", data["opts"])) if v),
        )
        return DeadLetter(
            id=job_id,
            message=message,
            origin=keys.row,
            reason=text(data["failedReason"])[:500] if data["failedReason"] else None,
            attempts=attempts,
            last_failure=bullmq.ms_time(data["finishedOn"]),
            extra={"job": name, "traceback": traces[-1][-2000:] if traces else "", "framework": bullmq.FRAMEWORK},
            gone=data["name"] is None and data["data"] is None,
        )

    async def plan(self, ref: DlqRef, to: str | None, wanted: set[str] | None, limit: int | None) -> list[Planned]:
        """Every failed job goes back to its own queue: BullMQ retries a job where it is, never elsewhere."""
        keys = self.keys(ref)
        reason = None if to in (None, keys.row) else f"BullMQ retries a job in its own queue ({keys.row}) only"
        found = [j for j in await self.ids(ref, None) if wanted is None or j in wanted]
        return [Planned(ReplayItem(j, keys.row, reason), origin=keys.row) for j in found[:limit]]

    async def move(self, ref: DlqRef, plans: list[Planned], progress: ProgressCallback | None) -> ReplayResult:
        todo = [p for p in plans if p.item.skip_reason is None]
        errors = [f"{p.item.id}: {p.item.skip_reason}" for p in plans if p.item.skip_reason]
        sent = failed = gone = 0
        keys = self.keys(ref)
        retry = self._port_retry(keys) if self.use_port else None
        try:
            for done, planned in enumerate(todo, 1):
                code = await (retry(planned.item.id) if retry else self._script_retry(keys, planned.item.id))
                if code == 1:
                    sent += 1
                elif code == -3:
                    gone += 1
                else:
                    failed += 1
                    errors.append(f"{planned.item.id}: {_OUTCOMES.get(code, str(code))}")
                if progress is not None:
                    progress(done, len(todo))
        finally:
            if retry is not None:
                await retry.close()
        skipped = len(plans) - len(todo) + gone
        return ReplayResult(sent=sent, failed=failed, skipped=skipped, errors=tuple(errors[:20]))

    async def _script_retry(self, keys: bullmq.QueueKeys, job_id: str) -> int:
        lifo = await self._lifo(keys, job_id)
        script_keys = [keys.job(job_id)] + [keys.part(p) for p in ("failed", "wait", "meta", "marker", "prioritized")]
        script_keys += [keys.part("pc"), keys.part("events")]
        return int(await self._reprocess(keys=script_keys, args=[job_id, "RPUSH" if lifo else "LPUSH"]))

    async def _lifo(self, keys: bullmq.QueueKeys, job_id: str) -> bool:
        raw = await self.client.hget(keys.job(job_id), "opts")
        try:
            opts = orjson.loads(raw) if raw else {}
        except orjson.JSONDecodeError:
            return False
        return isinstance(opts, dict) and bool(opts.get("lifo"))

    def _port_retry(self, keys: bullmq.QueueKeys) -> _PortRetry:
        return _PortRetry(self.client, keys, self._lifo)

    async def delete(self, ref: DlqRef, ids: Collection[str]) -> int:
        keys = self.keys(ref)
        removed = 0
        for job_id in set(ids):
            if self.use_port and await self.client.zscore(ref.key, job_id) is not None:
                removed += await _port_remove(self.client, keys, job_id)
            else:
                removed += int(await self._remove(keys=[ref.key, keys.job(job_id)], args=[job_id]))
        return removed


class _PortRetry:
    """`Job.retry("failed")` of BullMQ's Python port on our connection (the port leaves it open)."""

    def __init__(self, client: Redis, keys: bullmq.QueueKeys, lifo: Any) -> None:
        from bullmq import Queue  # type: ignore[import-untyped]  # the port ships no types

        self.queue = Queue(keys.queue, {"connection": client, "prefix": bullmq.PREFIX})
        self.keys = keys
        self.lifo = lifo

    async def __call__(self, job_id: str) -> int:
        from bullmq import Job

        job = Job(self.queue, "", None, {"lifo": await self.lifo(self.keys, job_id)}, job_id=job_id)
        try:
            await job.retry("failed")
        except Exception as exc:  # the port raises a bare Exception naming the script's error code
            return _port_code(exc)
        return 1

    async def close(self) -> None:
        await self.queue.close()


async def _port_remove(client: Redis, keys: bullmq.QueueKeys, job_id: str) -> int:
    from bullmq import Queue

    queue = Queue(keys.queue, {"connection": client, "prefix": bullmq.PREFIX})
    try:
        return 1 if await queue.remove(job_id) else 0
    finally:
        await queue.close()


def _port_code(exc: Exception) -> int:
    """The script's code behind the port's error (`Scripts.finishedErrors` words them)."""
    message = str(exc)
    if message.startswith("Missing key for job"):
        return -1
    if "is not in the" in message:
        return -3
    return -99


def _stacktrace(raw: bytes | None) -> list[str]:
    """`stacktrace`: a JSON list of the stack of each failed attempt, newest last."""
    if not raw:
        return []
    try:
        traces = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return [text(raw)]
    return [str(t) for t in traces if t] if isinstance(traces, list) else []
