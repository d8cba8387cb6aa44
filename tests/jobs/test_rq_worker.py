"""RQ with its real worker (`rq worker --burst`): jobs that fail the first time land in RQ's failed-job
registry, mqtui shows the queue and each failure (function call, exception, traceback), `mqtui dlq
replay` requeues them, and a second burst runs each exactly once more: RQ's own API finds every job
finished and the registry empty. Deleting a failed job removes its hash as well."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from mqtui.brokers.redis import jobs
from mqtui.jobcounts import job_counts
from mqtui.model import Destination
from tests.helpers import run_mqtui, write_config
from tests.jobs.workers import BIN, DONE, SEEN, worker, write_module
from tests.redis.conftest import adapter_for
from tests.support import until, wait_for

rq = pytest.importorskip("rq")

TASKS = f'''
import os
import redis

store = redis.Redis.from_url(os.environ["JOBS_REDIS_URL"])


def resize(n, width=640):
    if store.sadd("{SEEN}", n):
        raise ValueError(f"image {{n}} is corrupt")
    store.rpush("{DONE}", n)


def hold():
    store.blpop("test:release", 15)
'''

FAILED = "rq:failed:images"


def _burst(folder: Path, url: str, tmp_path: Path, done: Callable[[], bool], what: str) -> None:
    """`rq worker --burst` over the queue until `done` says the jobs got where they should; then the worker
    is killed, since a burst worker sometimes hangs about 60 s on its way out (rq#1613)."""
    command = [str(BIN / "rq"), "worker", "--burst", "--url", url, "images"]
    with worker(command, folder, {"JOBS_REDIS_URL": url}, tmp_path / "rq.log", stop_signal=signal.SIGKILL):
        wait_for(done, what=what, timeout=20)


def _enqueue(folder: Path, raw: redis.Redis, count: int) -> list[str]:
    import sys

    from rq import Queue

    sys.path.insert(0, str(folder))
    try:
        queue = Queue("images", connection=raw)
        return [queue.enqueue("rqtasks.resize", n, width=320).id for n in range(count)]
    finally:
        sys.path.remove(str(folder))


async def test_failed_jobs_shown_and_requeued_to_the_real_worker(
    redis_url: str, raw: redis.Redis, tmp_path: Path
) -> None:
    from rq import Queue
    from rq.job import Job
    from rq.registry import FailedJobRegistry

    folder = write_module(tmp_path, "rqtasks", TASKS)
    ids = _enqueue(folder, raw, 3)
    registry = FailedJobRegistry(queue=Queue("images", connection=raw))
    _burst(folder, redis_url, tmp_path, lambda: registry.count == 3, "three jobs in the failed registry")
    assert sorted(registry.get_job_ids()) == sorted(ids)

    async with adapter_for(redis_url) as adapter:
        queues = {q.name: q for q in await adapter.dead_letter_queues()}
        letters = await adapter.dead_letters(FAILED)
        destinations = {d.name: d for d in await adapter.destinations()}
    assert (queues[FAILED].count, queues[FAILED].origin) == (3, "rq:queue:images")
    assert queues[FAILED].detected_by == "rq failed registry"
    assert destinations["rq:queue:images"].extra["rq_failed"] == "3"
    counts = job_counts(destinations["rq:queue:images"])  # what the Destinations pane and ls show
    assert counts is not None and (counts.framework, counts.summary()) == ("rq", "failed 3")
    first = letters[0]
    assert "rqtasks.resize(" in first.message.value.decode() and "width=320" in first.message.value.decode()
    assert first.reason is not None and first.reason.startswith("ValueError: image")
    assert "Traceback" in first.extra["traceback"] and first.last_failure is not None

    config = write_config(
        tmp_path / "c.toml", {"p": {"brokers": [{"name": "cache", "kind": "redis", "url": redis_url}]}}
    )
    replayed = run_mqtui("--config", str(config), "-p", "p", "dlq", "replay", "cache", FAILED, "--yes", "--json")
    assert replayed.code == 0, replayed.err
    assert raw.llen("rq:queue:images") == 3
    finished = lambda: {Job.fetch(i, connection=raw).get_status() for i in ids} == {"finished"}  # noqa: E731
    _burst(folder, redis_url, tmp_path, finished, "the three requeued jobs finished")

    assert sorted(int(n) for n in raw.lrange(DONE, 0, -1)) == [0, 1, 2]
    assert registry.count == 0
    assert {Job.fetch(i, connection=raw).get_status() for i in ids} == {"finished"}


async def test_delete_removes_the_failed_job_and_its_hash(redis_url: str, raw: redis.Redis, tmp_path: Path) -> None:
    folder = write_module(tmp_path, "rqtasks", TASKS)
    victim, kept = _enqueue(folder, raw, 2)
    _burst(folder, redis_url, tmp_path, lambda: raw.zcard(FAILED) == 2, "two failed jobs")
    async with adapter_for(redis_url) as adapter:
        assert await adapter.delete_dead_letters(FAILED, [victim]) == 1
    assert [i.decode() for i in raw.zrange(FAILED, 0, -1)] == [kept]
    assert not raw.exists(f"rq:job:{victim}") and raw.exists(f"rq:job:{kept}")


async def test_a_rate_limited_failed_job_is_left_to_rq(redis_url: str, raw: redis.Redis, tmp_path: Path) -> None:
    """rq 3 counts a rate-limited job against its limit when it is queued: only rq's own requeue does that."""
    from rq import Queue
    from rq.rate_limit import RateLimit

    folder = write_module(tmp_path, "rqtasks", TASKS)
    limited = Queue("images", connection=raw).enqueue("rqtasks.resize", 7, rate_limit=RateLimit("thumbs", 2)).id
    _burst(folder, redis_url, tmp_path, lambda: raw.zcard(FAILED) == 1, "the rate-limited job failed")
    async with adapter_for(redis_url) as adapter:
        [item] = await adapter.plan_replay(FAILED)
        result = await adapter.replay(FAILED)
    assert (item.id, item.skip_reason) == (limited, jobs.RQ_RATE_LIMITED)
    assert (result.sent, result.skipped) == (0, 1) and raw.zcard(FAILED) == 1


async def test_a_running_job_and_its_worker_are_shown(redis_url: str, raw: redis.Redis, tmp_path: Path) -> None:
    from rq import Queue

    folder = write_module(tmp_path, "rqtasks", TASKS)
    Queue("images", connection=raw).enqueue("rqtasks.hold")
    command = [str(BIN / "rq"), "worker", "--burst", "--url", redis_url, "--name", "thumbs-1", "images"]

    async def running() -> Destination | None:
        async with adapter_for(redis_url) as adapter:
            row = {d.name: d for d in await adapter.destinations()}.get("rq:queue:images")
        return row if row is not None and row.in_flight == 1 and row.consumers == 1 else None

    with worker(command, folder, {"JOBS_REDIS_URL": redis_url}, tmp_path / "rq.log", stop_signal=signal.SIGKILL):
        row = await until(running, what="the job running and its worker shown", timeout=20)
        async with adapter_for(redis_url) as adapter:
            [lag] = [r for r in await adapter.backlog() if r.destination == "rq:queue:images"]
        raw.rpush("test:release", "go")
    assert (row.depth, lag.group, lag.consumers, lag.members) == (0, "(rq)", 1, ("thumbs-1",))
