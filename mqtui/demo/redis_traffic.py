"""Demo traffic for Redis: a list queue with a processing list and a DLQ, a stream with three consumer
groups, a pub/sub channel, and RQ- and Celery-shaped keys.

* list `jobs` fed ~5 JSON messages a second ({"id","type","payload","timestamp"}); a worker moves each
  to `jobs:processing` (BLMOVE), works a little slower than they arrive, and fails one in eight into
  `jobs:dlq` (with an `error` field, keeping its id); the queue is capped at 500, the DLQ at 200;
* stream `events` (MAXLEN ~5000) at ~10 entries a second, read by the groups `shipper` (keeps up),
  `analytics` (3 a second: its lag grows) and `billing`, which never acknowledges one entry in twenty; a
  retrier re-claims those (XAUTOCLAIM), so their delivery count passes max_deliveries and they show as
  the dead letters `events@billing` (at most 40 are left pending);
* channel `notifications` with one subscriber, a message every half second;
* `rq:queue:default` with a waiting job and two failed jobs in `rq:failed:default`, and a Celery queue
  `celery` holding three tasks, all written the way those libraries write them;
* the sorted set `jobs:retry`: failed jobs scheduled for another try 5 to 90 s later (scored in epoch
  ms), taken by a retrier only once they are 10 s overdue, so the Retries table shows some due now;
* BullMQ's queue `emails` with a worker and failed jobs to retry (`bullmq_traffic`);
* Dramatiq's queue `receipts` with a worker and dead-lettered messages to requeue (`dramatiq_traffic`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
import zlib
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import ResponseError
from redis.typing import EncodableT, FieldT

from mqtui.demo import bullmq_traffic, dramatiq_traffic

KINDS = ("email.send", "invoice.render", "thumbnail.make")
EVENT_KINDS = ("order.created", "order.paid", "order.shipped")
JOBS_CAP, DLQ_CAP, EVENTS_CAP, BILLING_STUCK_CAP = 500, 200, 5000, 40
#: How often and after how long the billing retrier re-claims what its worker left unacknowledged.
RETRY_INTERVAL, RETRY_MIN_IDLE_MS = 2.0, 1500


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


async def _stopped(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep, or return True at once when the demo is stopping."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    return stop.is_set()


async def _setup(client: aioredis.Redis) -> None:
    for group in ("shipper", "analytics", "billing"):
        try:
            await client.xgroup_create("events", group, "$", mkstream=True)
        except ResponseError as exc:  # BUSYGROUP: made by an earlier run
            if "BUSYGROUP" not in str(exc):
                raise
    if not await client.exists("rq:failed:default"):
        await _rq_jobs(client)
    if not await client.exists("_kombu.binding.celery"):
        sep = "\x06\x16"
        await client.sadd("_kombu.binding.celery", f"celery{sep}{sep}celery")
        for n in range(3):
            body = {"headers": {"id": str(uuid.uuid4()), "task": "reports.build"}, "body": "W1tdLCB7fV0=",
                    "properties": {"delivery_info": {"exchange": "", "routing_key": "celery"}, "priority": 0},
                    "content-type": "application/json", "content-encoding": "utf-8", "n": n}  # fmt: skip
            await client.lpush("celery", orjson.dumps(body))


async def _rq_jobs(client: aioredis.Redis) -> None:
    """Keys as rq writes them: job hashes, the queue list and set, the failed-job registry."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    jobs = {
        "demo-waiting": ("queued", None),
        "demo-failed-1": ("failed", "ZeroDivisionError: division by zero"),
        "demo-failed-2": ("failed", "requests.exceptions.ConnectTimeout: upstream did not answer"),
    }
    pipe = client.pipeline(transaction=True)
    for job_id, (status, error) in jobs.items():
        fields: dict[FieldT, EncodableT] = {
            "created_at": stamp, "enqueued_at": stamp, "origin": "default", "status": status, "timeout": 180,
            "description": f"reports.build(report_id={job_id!r})", "data": zlib.compress(b"demo: not a pickle"),
        }  # fmt: skip
        if error is not None:
            trace = f'Traceback (most recent call last):\n  File "reports.py", line 12, in build\n{error}\n'
            fields.update(started_at=stamp, ended_at=stamp, exc_info=zlib.compress(trace.encode()))
            pipe.zadd("rq:failed:default", {job_id: time.time() + 365 * 86400})
        else:
            pipe.rpush("rq:queue:default", job_id)
        pipe.hset(f"rq:job:{job_id}", mapping=fields)
    pipe.sadd("rq:queues", "rq:queue:default")
    await pipe.execute()


async def _produce_jobs(client: aioredis.Redis, stop: asyncio.Event) -> None:
    for n in itertools.count(1):
        if await client.llen("jobs") < JOBS_CAP:
            message = {"id": str(uuid.uuid4()), "type": KINDS[n % len(KINDS)], "payload": {"n": n}, "timestamp": _now()}
            await client.lpush("jobs", orjson.dumps(message))
        if await _stopped(stop, 0.2):
            return


async def _work_jobs(client: aioredis.Redis, stop: asyncio.Event) -> None:
    for n in itertools.count(1):
        if stop.is_set():
            return
        raw = await client.blmove("jobs", "jobs:processing", 1, "RIGHT", "LEFT")
        if raw is None:
            continue
        if await _stopped(stop, 0.22):
            await client.lmove("jobs:processing", "jobs", "LEFT", "RIGHT")  # give it back, as a clean shutdown does
            return
        pipe = client.pipeline(transaction=True)
        if n % 8 == 0:
            failed = {**orjson.loads(raw), "error": "SMTP 451: mailbox temporarily unavailable", "attempts": 3}
            pipe.lpush("jobs:dlq", orjson.dumps(failed))
            pipe.ltrim("jobs:dlq", 0, DLQ_CAP - 1)
        pipe.lrem("jobs:processing", 1, raw.decode() if isinstance(raw, bytes) else raw)
        await pipe.execute()


async def _produce_events(client: aioredis.Redis, stop: asyncio.Event) -> None:
    for n in itertools.count(1):
        kind = EVENT_KINDS[n % len(EVENT_KINDS)]
        body = orjson.dumps({"order": n, "kind": kind, "amount": round(n * 1.37 % 500, 2)})
        await client.xadd("events", {"data": body, "type": kind, "source": "demo"}, maxlen=EVENTS_CAP, approximate=True)
        if await _stopped(stop, 0.1):
            return


async def _consume(
    client: aioredis.Redis, stop: asyncio.Event, group: str, *, count: int, pause: float, keep: Callable[[int], bool]
) -> None:
    """Read as `group`, acknowledging every entry except those `keep` says to leave pending."""
    while not stop.is_set():
        # [[stream, [(id, fields), ...]]]: this client speaks RESP2; redis-py types the RESP3 shapes in too
        answer: Any = await client.xreadgroup(group, f"{group}-1", {"events": ">"}, count=count, block=1000)
        for _, entries in answer or ():
            done = [entry_id for entry_id, _ in entries if not keep(int(entry_id.split(b"-")[0]))]
            if done:
                await client.xack("events", group, *done)
        if pause and await _stopped(stop, pause):
            return


async def _billing(client: aioredis.Redis, stop: asyncio.Event) -> None:
    async def stuck() -> int:
        return int((await client.xpending("events", "billing"))["pending"])

    limit = [0]

    def keep(millis: int) -> bool:
        return millis % 20 == 0 and limit[0] < BILLING_STUCK_CAP

    async def refresh() -> None:
        while not stop.is_set():
            limit[0] = await stuck()
            if await _stopped(stop, 1.0):
                return

    watcher = asyncio.create_task(refresh())
    try:
        await _consume(client, stop, "billing", count=20, pause=0.0, keep=keep)
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)


async def _retry_billing(client: aioredis.Redis, stop: asyncio.Event) -> None:
    """Re-deliver what billing left pending; it fails again, so the delivery count keeps climbing."""
    while not await _stopped(stop, RETRY_INTERVAL):
        await client.xautoclaim("events", "billing", "billing-1", RETRY_MIN_IDLE_MS, "0-0", count=50)


async def _schedule_retries(client: aioredis.Redis, stop: asyncio.Event) -> None:
    """Park a failed job in `jobs:retry` every 2 s, due 5-90 s later; a slow retrier takes the due ones
    only when they are 10 s overdue (at most ~50 wait: each one is taken within 100 s)."""
    for n in itertools.count(1):
        now_ms = int(time.time() * 1000)
        await client.zadd("jobs:retry", {f"job-{uuid.uuid4().hex[:8]}": now_ms + 5_000 + (n * 7_919) % 85_000})
        await client.zremrangebyscore("jobs:retry", "-inf", now_ms - 10_000)
        if await _stopped(stop, 2.0):
            return


async def _notify(client: aioredis.Redis, stop: asyncio.Event) -> None:
    for n in itertools.count(1):
        await client.publish("notifications", orjson.dumps({"n": n, "text": f"build {n} finished", "at": _now()}))
        if await _stopped(stop, 0.5):
            return


async def _listen(pubsub: aioredis.client.PubSub, stop: asyncio.Event) -> None:
    await pubsub.subscribe("notifications")
    while not stop.is_set():
        await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)


async def run(broker: dict[str, Any], stop: asyncio.Event) -> None:
    """Drive the demo's Redis until `stop` is set; raises if the broker fails (the supervisor restarts it)."""
    client = aioredis.Redis.from_url(broker["url"], protocol=2, socket_timeout=5, socket_connect_timeout=5)
    pubsub = client.pubsub()
    tasks: list[asyncio.Task[None]] = []
    try:
        await _setup(client)
        workers: list[Coroutine[Any, Any, None]] = [
            _produce_jobs(client, stop),
            _work_jobs(client, stop),
            _produce_events(client, stop),
            _consume(client, stop, "shipper", count=50, pause=0.0, keep=lambda _: False),
            _consume(client, stop, "analytics", count=3, pause=1.0, keep=lambda _: False),
            _billing(client, stop),
            _retry_billing(client, stop),
            _schedule_retries(client, stop),
            _notify(client, stop),
            _listen(pubsub, stop),
            bullmq_traffic.run(broker["url"], stop),
            dramatiq_traffic.run(broker["url"], stop),
        ]
        tasks = [asyncio.create_task(worker) for worker in workers]
        stopping = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([stopping, *tasks], return_when=asyncio.FIRST_EXCEPTION)
        stopping.cancel()
        for task in done:
            if task is not stopping and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=3)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await pubsub.aclose()
        with contextlib.suppress(Exception):
            await client.aclose()
