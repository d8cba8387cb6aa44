"""Sidekiq (6.4 from Debian's ruby-sidekiq, installed by scripts/setup.sh) with its real server process.

Three jobs fail their first run by Sidekiq's own rules: two without retries die into the dead set, one
waits in the retry set. mqtui shows the queue with its process, both sets and each failure (class,
arguments, exception, backtrace), retries them ("retry now"), and Sidekiq's own API then says every job
ran once more and succeeded: both sets empty, the queue drained, each job run twice."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mqtui.brokers.redis.adapter import RedisAdapter
from mqtui.config import RedisConfig
from mqtui.jobcounts import job_counts
from tests.jobs.workers import worker
from tests.support import until

HERE = Path(__file__).resolve().parent / "sidekiq"

pytestmark = pytest.mark.skipif(
    shutil.which("sidekiq") is None or shutil.which("ruby") is None,
    reason="sidekiq is not installed (scripts/setup.sh installs Debian's ruby-sidekiq)",
)


def _sidekiq(url: str, *args: str) -> Any:
    """Sidekiq's own API, through state.rb: the state as JSON, or the jids it enqueued."""
    done = subprocess.run(
        ["ruby", "-r", "./job.rb", "state.rb", *args],
        cwd=HERE,
        env={**os.environ, "REDIS_URL": url},
        capture_output=True,
        check=True,
        timeout=20,
    )
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


async def _adapter(url: str) -> RedisAdapter:
    adapter = RedisAdapter(RedisConfig(name="r", url=url, timeout=3.0))
    await adapter.connect()
    return adapter


async def _shown(adapter: RedisAdapter) -> bool:
    dlqs = {q.name: q.count for q in await adapter.dead_letter_queues()}
    return dlqs.get("sidekiq:dead") == 2 and dlqs.get("sidekiq:retry") == 1


async def test_dead_and_retrying_jobs_are_shown_and_retried_once(redis_url: str, tmp_path: Path) -> None:
    jids = _sidekiq(redis_url, "enqueue")
    command = ["sidekiq", "-r", "./job.rb", "-q", "default", "-c", "1"]
    env = {"REDIS_URL": redis_url}
    adapter = await _adapter(redis_url)
    try:
        with worker(command, HERE, env, tmp_path / "sidekiq.log"):
            await until(lambda: _shown(adapter), what="two dead jobs and one retrying", timeout=20)
            rows = {d.name: d for d in await adapter.destinations()}
            row = rows["sidekiq:default"]
            assert row.extra["convention"] == "sidekiq" and "queue:default" not in rows
            assert (row.extra["dead"], row.extra["retrying"], row.extra["scheduled"]) == ("2", "1", "0")
            counts = job_counts(row)  # what the Destinations pane, ls and ls --json show
            assert counts is not None and counts.framework == "sidekiq"
            assert counts.summary() == "delayed 0 · retrying 1 · failed 2"
            await until(lambda: _serving(adapter), what="the Sidekiq process serving default", timeout=20)
            dlqs = {q.name: q for q in await adapter.dead_letter_queues()}
            assert dlqs["sidekiq:dead"].detected_by == "sidekiq dead set"
            assert dlqs["sidekiq:dead"].oldest is not None
            dead = {letter.id: letter for letter in await adapter.dead_letters("sidekiq:dead")}
            assert set(dead) == set(jids[:2])
            letter = dead[jids[0]]
            assert letter.reason == "ArgumentError: first run for a@example.com fails"
            assert letter.extra["job"] == "DyingJob" and letter.origin == "sidekiq:default"
            assert letter.message.value == b'["a@example.com"]' and letter.attempts == 1
            assert "job.rb" in letter.extra["traceback"] and letter.first_failure is not None
            (retrying,) = await adapter.dead_letters("sidekiq:retry")
            assert (retrying.id, retrying.extra["job"]) == (jids[2], "RetriedJob")
            for name in ("sidekiq:dead", "sidekiq:retry"):
                plan = await adapter.plan_replay(name)
                assert {(item.target, item.skip_reason) for item in plan} == {("sidekiq:default", None)}
            assert (await adapter.replay("sidekiq:dead")).sent == 2
            assert (await adapter.replay("sidekiq:retry")).sent == 1
            state = await until(lambda: _finished(redis_url), what="every job run twice", timeout=20)
    finally:
        await adapter.close()
    assert state is not None and state["runs"] == dict.fromkeys(jids, "2")
    assert (state["dead"], state["retry"], state["enqueued"]) == (0, 0, 0)


async def _serving(adapter: RedisAdapter) -> bool:
    rows = [b for b in await adapter.backlog() if b.destination == "sidekiq:default"]
    return bool(rows) and rows[0].group == "(sidekiq)" and rows[0].consumers == 1 and len(rows[0].members) == 1


def _finished(url: str) -> dict[str, Any] | None:
    state: dict[str, Any] = _sidekiq(url)
    done = state["dead"] == 0 and state["retry"] == 0 and state["enqueued"] == 0 and state["busy"] == 0
    return state if done and len(state["runs"]) == 3 and set(state["runs"].values()) == {"2"} else None


async def test_deleting_a_dead_job_removes_it(redis_url: str, tmp_path: Path) -> None:
    jids = _sidekiq(redis_url, "enqueue")
    adapter = await _adapter(redis_url)
    try:
        with worker(["sidekiq", "-r", "./job.rb", "-q", "default", "-c", "1"], HERE, {"REDIS_URL": redis_url},
                    tmp_path / "sidekiq.log"):  # fmt: skip
            await until(lambda: _shown(adapter), what="two dead jobs and one retrying", timeout=20)
        assert await adapter.delete_dead_letters("sidekiq:dead", [jids[0]]) == 1
        assert [letter.id for letter in await adapter.dead_letters("sidekiq:dead")] == [jids[1]]
        waiting = _sidekiq(redis_url, "enqueue")  # no server now: they wait in the queue
        peeked = await adapter.peek("sidekiq:default")
        detail = await adapter.describe("sidekiq:default")
    finally:
        await adapter.close()
    assert _sidekiq(redis_url)["dead"] == 1
    assert [json.loads(m.value)["jid"] for m in peeked] == waiting  # the row reads its queue:default list
    summary = dict(detail.summary)
    assert (summary["framework"], summary["enqueued"], summary["sidekiq:dead"]) == ("sidekiq", "3", "1")
