"""BullMQ failures through the CLI: `ls`, `lag`, `dlq ls`, `dlq show` as JSON, and `dlq replay`, refused in a
readonly profile; the failures are made by the Python port's real Worker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import redis

from tests.helpers import run_mqtui, write_config
from tests.support import until

bullmq = pytest.importorskip("bullmq", reason="BullMQ's Python port is the jobs extra")


async def _fail_two(url: str) -> list[str]:
    queue = bullmq.Queue("reports", {"connection": url})

    async def process(job: Any, token: str) -> None:
        raise RuntimeError(f"renderer crashed on {job.data['id']}")

    runner = bullmq.Worker("reports", process, {"connection": url, "name": "renderer"})
    try:
        jobs = [await queue.add("render", {"id": n}, {"attempts": 1}) for n in range(2)]

        async def failed() -> bool:
            return (await queue.getJobCounts("failed"))["failed"] == 2

        await until(failed, what="two failed reports", timeout=20)
        await queue.add("render", {"id": 9}, {"delay": 3_600_000})  # due in an hour: delayed, not failed
    finally:
        await runner.close()
        await queue.close()
    return [job.id for job in jobs]


async def test_cli_shows_and_requeues_bullmq_failures(redis_url: str, tmp_path: Path, raw: redis.Redis) -> None:
    ids = await _fail_two(redis_url)
    broker = {"name": "cache", "kind": "redis", "url": redis_url, "timeout": 3.0}
    config = write_config(
        tmp_path / "c.toml", {"p": {"brokers": [broker]}, "ro": {"readonly": True, "brokers": [broker]}}
    )

    def mqtui(*args: str, profile: str = "p"):  # type: ignore[no-untyped-def]
        return run_mqtui("--config", str(config), "-p", profile, *args)

    listed = {d["name"]: d for d in mqtui("ls", "--json").json_lines()}
    assert (
        listed["bull:reports"]["extra"]["failed"] == "2" and listed["bull:reports"]["extra"]["convention"] == "bullmq"
    )
    assert not [name for name in listed if name.startswith("bull:reports:")]  # its own keys (events stream too)
    jobs = listed["bull:reports"]["jobs"]  # the counts bull-board shows, null where BullMQ keeps none
    assert {k: jobs[k] for k in ("framework", "waiting", "active", "delayed", "retrying", "failed")} == {
        "framework": "bullmq", "waiting": 0, "active": 0, "delayed": 1, "retrying": None, "failed": 2
    }  # fmt: skip
    assert isinstance(jobs["workers"], int)
    [row] = [line for line in mqtui("ls").out.splitlines() if line.split()[1:2] == ["bull:reports"]]
    assert row.rstrip().endswith("bullmq delayed 1 · failed 2")  # the framework and its counts, beside depth
    everything = {d["name"] for d in mqtui("ls", "--all", "--json").json_lines()}
    assert "bull:reports:events" in everything
    lag = {(r["destination"], r["group"]) for r in mqtui("lag", "--json").json_lines()}
    assert ("bull:reports", "(bullmq)") in lag
    dlqs = mqtui("dlq", "ls", "--json").json_lines()
    assert [(q["name"], q["count"], q["detected_by"]) for q in dlqs] == [
        ("bull:reports:failed", 2, "bullmq failed set")
    ]
    shown = {d["id"]: d for d in mqtui("dlq", "show", "cache", "bull:reports:failed", "--json").json_lines()}
    assert set(shown) == set(ids)
    letter = shown[ids[0]]
    assert letter["reason"] == "renderer crashed on 0" and letter["extra"]["job"] == "render"
    assert "RuntimeError" in letter["extra"]["traceback"] and letter["attempts"] == 1
    refused = mqtui("dlq", "replay", "cache", "bull:reports:failed", "--yes", profile="ro")
    assert refused.code != 0 and "readonly" in refused.err and raw.zcard("bull:reports:failed") == 2
    done = mqtui("dlq", "replay", "cache", "bull:reports:failed", "--yes", "--json")
    assert done.code == 0 and done.json_lines()[0]["sent"] == 2
    assert raw.zcard("bull:reports:failed") == 0 and raw.llen("bull:reports:wait") == 2
