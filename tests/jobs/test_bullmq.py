"""BullMQ with its real workers: the Node worker (bullmq 6.7 from tests/jobs/node, installed by
scripts/setup.sh into .cache/node) and the Python port's Worker. Jobs fail their first run into BullMQ's
failed set by BullMQ's own rules (attempts 1), mqtui shows the queue, its worker and each failure, retries
them, and BullMQ's own API then says every job completed and the failed set is empty."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import redis

from mqtui.brokers.redis.adapter import RedisAdapter
from mqtui.config import RedisConfig
from mqtui.errors import NotPossible
from tests.jobs.workers import worker
from tests.support import until

bullmq = pytest.importorskip("bullmq", reason="BullMQ's Python port is the jobs extra")

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / ".cache" / "node" / "node_modules"
WORKER_JS = ROOT / "tests" / "jobs" / "node" / "worker.js"
QUEUE = "emails"
RUNS = f"mqtui-test:runs:{QUEUE}"


async def _add_jobs(queue: Any, count: int) -> list[str]:
    jobs = [
        await queue.add("send", {"to": f"user{n}@example.com"}, {"attempts": 1, "removeOnComplete": False})
        for n in range(count)
    ]
    return [job.id for job in jobs]


async def _counts(queue: Any) -> dict[str, int]:
    return dict(await queue.getJobCounts("wait", "active", "failed", "completed", "delayed"))


async def _adapter(url: str) -> RedisAdapter:
    adapter = RedisAdapter(RedisConfig(name="r", url=url, timeout=3.0))
    await adapter.connect()
    return adapter


async def _shows_and_retries(url: str, ids: list[str], queue: Any, *, worker_name: str | None) -> None:
    """What mqtui shows of three failed jobs, then its retry; waits for BullMQ to say they failed."""
    await until(lambda: _failed_is(queue, len(ids)), what="three jobs in the failed set", timeout=20)
    adapter = await _adapter(url)
    try:
        rows = {d.name: d for d in await adapter.destinations()}
        row = rows[f"bull:{QUEUE}"]
        assert row.extra["convention"] == "bullmq" and row.extra["failed"] == "3"
        assert not [n for n, d in rows.items() if n.startswith(f"bull:{QUEUE}:") and not d.internal]  # hidden keys
        if worker_name is not None:
            assert row.consumers == 1
            backlog = [b for b in await adapter.backlog() if b.destination == f"bull:{QUEUE}"]
            assert backlog[0].group == "(bullmq)" and backlog[0].members == (worker_name,)
        dlqs = {q.name: q for q in await adapter.dead_letter_queues()}
        dlq = dlqs[f"bull:{QUEUE}:failed"]
        assert (dlq.count, dlq.origin, dlq.detected_by) == (3, f"bull:{QUEUE}", "bullmq failed set")
        letters = {letter.id: letter for letter in await adapter.dead_letters(dlq.name)}
        assert set(letters) == set(ids)
        letter = letters[ids[0]]
        assert letter.reason == "first run of send fails"
        assert letter.extra["job"] == "send" and letter.attempts == 1
        assert "first run of send fails" in letter.extra["traceback"]
        assert b"user0@example.com" in letter.message.value and letter.last_failure is not None
        plan = await adapter.plan_replay(dlq.name)
        assert {(item.target, item.skip_reason) for item in plan} == {(f"bull:{QUEUE}", None)}
        result = await adapter.replay(dlq.name)
        assert (result.sent, result.failed, result.skipped) == (3, 0, 0)
    finally:
        await adapter.close()


async def _failed_is(queue: Any, count: int) -> bool:
    return (await _counts(queue))["failed"] == count


async def _finished_once(url: str, queue: Any, ids: list[str]) -> None:
    await until(lambda: _done(queue, len(ids)), what="every job completed", timeout=20)
    client = redis.asyncio.Redis.from_url(url, decode_responses=True)
    try:
        runs = await client.hgetall(RUNS)
    finally:
        await client.aclose()
    assert {str(k): int(v) for k, v in runs.items()} == dict.fromkeys(ids, 2)
    for job_id in ids:
        job = await bullmq.Job.fromId(queue, job_id)
        assert await job.isCompleted()


async def _done(queue: Any, count: int) -> bool:
    counts = await _counts(queue)
    return counts["completed"] == count and counts["failed"] == 0 and counts["wait"] == 0


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (scripts/setup.sh needs node + npm)")
async def test_node_worker_failures_are_shown_and_retried_once(redis_url: str, tmp_path: Path) -> None:
    if not (NODE_MODULES / "bullmq").is_dir():
        pytest.skip("bullmq for Node is not installed: run scripts/setup.sh")
    queue = bullmq.Queue(QUEUE, {"connection": redis_url})
    command = ["node", str(WORKER_JS), QUEUE]
    env = {"REDIS_URL": redis_url, "NODE_PATH": str(NODE_MODULES)}
    try:
        ids = await _add_jobs(queue, 3)
        with worker(command, tmp_path, env, tmp_path / "node.log"):
            await _shows_and_retries(redis_url, ids, queue, worker_name="node-test-worker")
            await _finished_once(redis_url, queue, ids)
    finally:
        await queue.close()


async def test_python_port_worker_failures_are_shown_and_retried_once(redis_url: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)
    queue = bullmq.Queue(QUEUE, {"connection": redis_url})

    async def process(job: Any, token: str) -> str:
        if await client.hincrby(RUNS, job.id, 1) == 1:
            raise ValueError(f"first run of {job.name} fails")
        return "sent"

    ids = await _add_jobs(queue, 3)
    runner = bullmq.Worker(QUEUE, process, {"connection": redis_url, "name": "port-worker"})
    try:
        await _shows_and_retries(redis_url, ids, queue, worker_name="port-worker")
        await _finished_once(redis_url, queue, ids)
        adapter = await _adapter(redis_url)
        try:
            detail = dict((await adapter.describe(f"bull:{QUEUE}")).summary)
            with pytest.raises(NotPossible, match="BullMQ queue"):
                await adapter.peek(f"bull:{QUEUE}")
        finally:
            await adapter.close()
        assert (detail["framework"], detail["completed"], detail["failed"], detail["workers"]) == (
            "bullmq",
            "3",
            "0",
            "1",
        )
    finally:
        await runner.close()
        await queue.close()
        await client.aclose()


@pytest.mark.parametrize("use_port", [True, False], ids=["python-port", "script"])
async def test_retry_and_delete_with_and_without_the_port(redis_url: str, use_port: bool) -> None:
    """Without the port, mqtui's own script retries as BullMQ's reprocessJob does; deleting a failed job
    leaves none of its keys (hash, logs)."""
    client = redis.asyncio.Redis.from_url(redis_url)
    queue = bullmq.Queue(QUEUE, {"connection": redis_url})

    async def process(job: Any, token: str) -> str:
        if await client.hincrby(RUNS, job.id, 1) == 1:
            await bullmq.Job.addJobLog(queue, job.id, "trying once")
            raise ValueError("first run fails")
        return "sent"

    ids = await _add_jobs(queue, 2)
    runner = bullmq.Worker(QUEUE, process, {"connection": redis_url})
    adapter = await _adapter(redis_url)
    try:
        await until(lambda: _failed_is(queue, 2), what="two failed jobs", timeout=20)
        await runner.pause()
        adapter.dead.jobs["bullmq"].use_port = use_port  # type: ignore[union-attr]
        assert await client.exists(f"bull:{QUEUE}:{ids[1]}:logs") == 1
        assert await adapter.delete_dead_letters(f"bull:{QUEUE}:failed", [ids[1]]) == 1
        result = await adapter.replay(f"bull:{QUEUE}:failed")
        again = await adapter.replay(f"bull:{QUEUE}:failed", ids=[ids[0]])
        state = await bullmq.Job.fromId(queue, ids[0])
        runner.resume()
        await until(lambda: _completed_is(queue, 1), what="the retried job completed", timeout=20)
        left = [key async for key in client.scan_iter(f"bull:{QUEUE}:{ids[1]}*")]
    finally:
        await adapter.close()
        await runner.close()
        await queue.close()
        await client.aclose()
    assert (result.sent, again.sent, again.failed) == (1, 0, 0)  # a retried job is no longer failed
    assert state.attemptsMade == 1 and state.failedReason is None  # kept, as BullMQ's own retry keeps it
    assert left == []


async def _completed_is(queue: Any, count: int) -> bool:
    counts = await _counts(queue)
    return counts["completed"] == count and counts["failed"] == 0
