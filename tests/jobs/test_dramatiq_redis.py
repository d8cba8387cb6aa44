"""Dramatiq on Redis with its real worker: an actor with max_retries=0 dead-letters into `.XQ`, mqtui
shows the queue, the dead set and each failure (actor, arguments, traceback), `mqtui dlq replay` puts
them back, and the worker runs each exactly once more."""

from __future__ import annotations

import re
import subprocess
from contextlib import AbstractContextManager
from pathlib import Path

import orjson
import pytest
import redis

from mqtui.jobcounts import job_counts
from mqtui.model import Destination
from tests.helpers import run_mqtui, write_config
from tests.jobs.workers import BIN, DONE, SEEN, worker, write_module
from tests.redis.conftest import adapter_for
from tests.support import until, wait_for

dramatiq = pytest.importorskip("dramatiq")

TASKS = f'''
import os
import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.results import Results
from dramatiq.results.backends import RedisBackend

URL = os.environ["JOBS_REDIS_URL"]
broker = RedisBroker(url=URL)
broker.add_middleware(Results(backend=RedisBackend(url=URL)))
dramatiq.set_broker(broker)
store = redis.Redis.from_url(URL)


@dramatiq.actor(max_retries=0, queue_name="mail", store_results=True)
def send_mail(n, to="ops@example.com"):
    if store.sadd("{SEEN}", n):
        raise RuntimeError(f"smtp down for mail {{n}}")
    store.rpush("{DONE}", n)


@dramatiq.actor(max_retries=1, min_backoff=10, max_backoff=10, queue_name="mail")
def flaky_twice():
    raise ConnectionError(f"attempt {{store.incr('test:attempts')}} refused")


@dramatiq.actor(max_retries=0, queue_name="mail")
def wait_for_release():
    store.blpop("test:release", 15)
'''

XQ = "dramatiq:mail.XQ"


def _enqueue(url: str, count: int, actor: str = "send_mail", delay: int | None = None) -> None:
    """Messages as `send_mail.send(n)` (or `.send_with_options(delay=...)`) makes them, through dramatiq's
    own broker."""
    from dramatiq import Message
    from dramatiq.brokers.redis import RedisBroker

    broker = RedisBroker(url=url)
    try:
        for n in range(count):
            message = Message(queue_name="mail", actor_name=actor, args=(n,) if actor == "send_mail" else (),
                              kwargs={}, options={})  # fmt: skip
            broker.enqueue(message, delay=delay)
    finally:
        broker.close()


def mail_worker(tmp_path: Path, redis_url: str) -> AbstractContextManager[subprocess.Popen[bytes]]:
    """The real Dramatiq worker, one process and thread, on the `mail` queue of TASKS."""
    folder = write_module(tmp_path, "mailtasks", TASKS)
    command = [str(BIN / "dramatiq"), "mailtasks", "--processes", "1", "--threads", "1", "--queues", "mail"]
    return worker(command, folder, {"JOBS_REDIS_URL": redis_url}, tmp_path / "worker.log")


async def test_dead_letters_shown_and_requeued_to_the_real_worker(
    redis_url: str, raw: redis.Redis, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path / "c.toml", {"p": {"brokers": [{"name": "cache", "kind": "redis", "url": redis_url}]}}
    )
    with mail_worker(tmp_path, redis_url):
        _enqueue(redis_url, 3)
        wait_for(lambda: raw.zcard(XQ) == 3, what="three dead messages in dramatiq:mail.XQ", timeout=20)

        async with adapter_for(redis_url) as adapter:
            queues = {q.name: q for q in await adapter.dead_letter_queues()}
            assert (queues[XQ].count, queues[XQ].origin, queues[XQ].detected_by) == (
                3, "dramatiq:mail", "dramatiq dead-letter set")  # fmt: skip
            letters = await adapter.dead_letters(XQ)
            destinations = {d.name: d for d in await adapter.destinations()}
            everything = {d.name: d for d in await adapter.destinations(include_internal=True)}
            described = dict((await adapter.describe("dramatiq:mail")).summary)  # its list is gone: empty
        assert not raw.exists("dramatiq:mail")
        assert (described["framework"], described["waiting"], described["dead"]) == ("dramatiq", "0", "3")
        # the Results middleware's lists (md5 hex names, one per message) are no queue: shown with --all only
        results = {name for name in everything if re.fullmatch("[0-9a-f]{32}", name)}
        assert len(results) == 3 and all(everything[name].internal for name in results)
        assert not results & set(destinations)
        assert sorted(orjson.loads(letter.extra["args"])[0] for letter in letters) == [0, 1, 2]
        first = letters[0]
        assert first.extra["actor"] == "send_mail" and first.last_failure is not None
        assert first.reason is not None and first.reason.startswith("RuntimeError: smtp down for mail")
        mail = destinations["dramatiq:mail"]
        assert (mail.extra["convention"], mail.extra["dramatiq_dead"]) == ("dramatiq", "3")
        assert int(mail.extra["dramatiq_heartbeats"]) >= 1  # the worker (and this test's sender)

        listed = run_mqtui("--config", str(config), "-p", "p", "dlq", "ls", "--json")
        assert listed.code == 0, listed.err
        assert {(d["name"], d["count"]) for d in listed.json_lines()} == {(XQ, 3)}
        shown = run_mqtui("--config", str(config), "-p", "p", "dlq", "show", "cache", XQ, "--json")
        assert shown.code == 0 and "smtp down for mail" in shown.out, shown.err
        raw.delete(*results)  # what the Results middleware's result_ttl does after 10 minutes
        async with adapter_for(redis_url) as adapter:
            expired = {letter.reason for letter in await adapter.dead_letters(XQ)}
        assert len(expired) == 1 and "result_ttl, 10 minutes by default" in expired.pop()

        replayed = run_mqtui("--config", str(config), "-p", "p", "dlq", "replay", "cache", XQ, "--yes", "--json")
        assert replayed.code == 0, replayed.err
        wait_for(lambda: raw.llen(DONE) == 3, what="the worker ran the three requeued messages", timeout=20)

    assert sorted(int(n) for n in raw.lrange(DONE, 0, -1)) == [0, 1, 2]
    assert raw.zcard(XQ) == 0 and raw.hlen(f"{XQ}.msgs") == 0
    assert raw.llen("dramatiq:mail") == 0 and raw.hlen("dramatiq:mail.msgs") == 0


async def test_delete_removes_the_id_and_its_body_and_to_requeues_elsewhere(
    redis_url: str, raw: redis.Redis, tmp_path: Path
) -> None:
    with mail_worker(tmp_path, redis_url):
        _enqueue(redis_url, 2)
        wait_for(lambda: raw.zcard(XQ) == 2, what="two dead messages", timeout=20)
    readonly = write_config(
        tmp_path / "ro.toml",
        {"ro": {"readonly": True, "brokers": [{"name": "cache", "kind": "redis", "url": redis_url}]}},
    )
    refused = run_mqtui("--config", str(readonly), "-p", "ro", "dlq", "replay", "cache", XQ, "--yes")
    assert refused.code != 0 and "readonly" in refused.err and raw.zcard(XQ) == 2
    async with adapter_for(redis_url) as adapter:
        victim = (await adapter.dead_letters(XQ))[0].id
        assert await adapter.delete_dead_letters(XQ, [victim]) == 1
        assert await adapter.delete_dead_letters(XQ, [victim]) == 0
        assert raw.zcard(XQ) == 1 and raw.hlen(f"{XQ}.msgs") == 1 and not raw.hexists(f"{XQ}.msgs", victim)
        [kept] = [i.decode() for i in raw.zrange(XQ, 0, -1)]
        [elsewhere] = await adapter.plan_replay(XQ, to="billing")
        moved = await adapter.replay(XQ, to="dramatiq:billing")
    assert elsewhere.skip_reason == "'billing' is not a Dramatiq queue (namespace:queue)"
    assert (moved.sent, raw.zcard(XQ), raw.hlen(f"{XQ}.msgs")) == (1, 0, 0)
    assert raw.lrange("dramatiq:billing", 0, -1) == [kept.encode()] and raw.hexists("dramatiq:billing.msgs", kept)


async def test_in_progress_and_delayed_counts_while_the_worker_holds_them(
    redis_url: str, raw: redis.Redis, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path / "c.toml", {"p": {"brokers": [{"name": "cache", "kind": "redis", "url": redis_url}]}}
    )
    with mail_worker(tmp_path, redis_url):
        _enqueue(redis_url, 1, actor="wait_for_release")
        _enqueue(redis_url, 1, delay=60_000)  # the worker fetches it from mail.DQ and holds it until then

        async def counted() -> Destination | None:
            async with adapter_for(redis_url) as adapter:
                row = {d.name: d for d in await adapter.destinations()}.get("dramatiq:mail")
            return row if row is not None and row.in_flight == 1 and row.extra["dramatiq_delayed"] == "1" else None

        row = await until(counted, what="one running and one delayed message counted", timeout=20)
        lag = run_mqtui("--config", str(config), "-p", "p", "lag", "--json")
        raw.rpush("test:release", "go")
    counts = job_counts(row)  # what the Destinations pane and ls show
    assert counts is not None and (counts.framework, counts.summary()) == ("dramatiq", "delayed 1 · failed 0")
    assert (row.depth, row.extra["convention"]) == (0, "dramatiq") and "dramatiq:mail.DQ" not in {
        d.name for d in await _destinations(redis_url)}  # fmt: skip
    assert lag.code == 0, lag.err
    assert {(r["destination"], r["group"], r["lag"]) for r in lag.json_lines()} == {("dramatiq:mail", "(dramatiq)", 0)}


async def _destinations(url: str) -> list[Destination]:
    async with adapter_for(url) as adapter:
        return await adapter.destinations()


async def test_a_retried_message_shows_the_traceback_of_its_earlier_attempt(
    redis_url: str, raw: redis.Redis, tmp_path: Path
) -> None:
    """Without the Results middleware's exception, the dead body still holds what the Retries middleware
    wrote when it re-enqueued the message: its retries and the traceback of the attempt before the last."""
    with mail_worker(tmp_path, redis_url):
        _enqueue(redis_url, 1, actor="flaky_twice")
        wait_for(lambda: raw.zcard(XQ) == 1, what="the message dead after its retry", timeout=20)
    async with adapter_for(redis_url) as adapter:
        [letter] = await adapter.dead_letters(XQ)
    assert (letter.extra["actor"], letter.attempts, int(raw.get("test:attempts") or 0)) == ("flaky_twice", 2, 2)
    assert letter.reason == "ConnectionError: attempt 1 refused" and "Traceback" in letter.extra["traceback"]
