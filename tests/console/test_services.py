"""The console's services against a real Redis: polling, recovery, tails, actions, readonly."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
import redis

from mqtui import jsonl
from mqtui.config import RedisConfig
from mqtui.demo.localbrokers import LocalRedis
from mqtui.errors import ReadonlyError
from mqtui.model import Capability, Message, StartPosition
from mqtui.services.backend import LiveBackend
from mqtui.services.poller import BrokerPoller, backoff_delay
from mqtui.services.snapshot import BrokerSnapshot, BrokerStatus
from mqtui.services.tailer import MessageFilter, TailState, export_jsonl
from tests.console.conftest import profile_file
from tests.support import until


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_poller_snapshot_has_exact_depths_backlog_and_dlqs(redis_db: tuple[str, redis.Redis]) -> None:
    url, client = redis_db
    client.rpush("orders", *[f"o{i}" for i in range(5)])
    client.rpush("orders:dlq", b"bad-1", b"bad-2")
    seen: list[BrokerSnapshot] = []
    poller = BrokerPoller(RedisConfig(name="r", url=url, timeout=2.0), interval=0.1, listener=seen.append)
    delay = await poller.poll_once()
    snapshot = poller.latest
    assert delay == 0.1
    assert snapshot.status is BrokerStatus.CONNECTED and snapshot.error is None
    depths = {d.name: d.depth for d in snapshot.destinations}
    assert depths["orders"] == 5 and depths["orders:dlq"] == 2
    assert {(g.destination, g.lag) for g in snapshot.lag} >= {("orders", 5)}
    assert [(q.name, q.origin, q.count) for q in snapshot.dlqs] == [("orders:dlq", "orders", 2)]
    assert snapshot.capabilities and snapshot.replay_verb == "requeue"
    assert seen[-1] is snapshot
    await poller.close()


async def test_unreachable_broker_backs_off_and_names_itself() -> None:
    port = free_port()
    poller = BrokerPoller(
        RedisConfig(name="gone", url=f"redis://127.0.0.1:{port}/0", timeout=1.0), interval=0.5, listener=lambda s: None
    )
    first = await poller.poll_once()
    second = await poller.poll_once()
    snapshot = poller.latest
    assert snapshot.status is BrokerStatus.UNREACHABLE
    assert snapshot.error is not None and snapshot.error.startswith("gone")
    assert "\n" not in snapshot.error
    assert snapshot.failures == 2 and snapshot.next_retry_at is not None
    assert (first, second) == (1.0, 2.0) == (backoff_delay(1, 0.5), backoff_delay(2, 0.5))
    assert backoff_delay(10, 2.0) == 30.0


async def test_broker_killed_mid_session_is_unreachable_then_recovers(tmp_path: Path) -> None:
    broker = LocalRedis(tmp_path / "redis", name="flaky").start()
    try:
        redis.Redis(port=broker.port).rpush("jobs", b"a", b"b", b"c")
        poller = BrokerPoller(
            RedisConfig(name="flaky", url=broker.url, timeout=1.0), interval=0.1, listener=lambda s: None
        )
        await poller.poll_once()
        assert poller.latest.status is BrokerStatus.CONNECTED
        broker.kill()
        await poller.poll_once()
        down = poller.latest
        assert down.status is BrokerStatus.UNREACHABLE
        assert {d.name: d.depth for d in down.destinations}["jobs"] == 3  # last known data stays visible
        broker.start()  # same port, empty (no persistence)
        redis.Redis(port=broker.port).rpush("jobs", b"x")
        await poller.poll_once()
        back = poller.latest
        assert back.status is BrokerStatus.CONNECTED and back.failures == 0 and back.error is None
        assert {d.name: d.depth for d in back.destinations}["jobs"] == 1
        await poller.close()
    finally:
        broker.stop()


def test_live_backend_polls_in_its_own_thread_and_refreshes(tmp_path: Path, redis_db: tuple[str, redis.Redis]) -> None:
    url, client = redis_db
    client.rpush("q1", *range(7))
    config = profile_file(tmp_path, [{"name": "r", "kind": "redis", "url": url, "timeout": 2.0}], poll_interval=30.0)
    backend = LiveBackend.open(config, "ops")
    received: list[BrokerSnapshot] = []
    backend.start(received.append)
    try:
        asyncio.run(until(lambda: backend.snapshots()["r"].status is BrokerStatus.CONNECTED, what="first poll"))
        assert {d.name: d.depth for d in backend.snapshots()["r"].destinations}["q1"] == 7
        client.rpush("q1", 7, 8)
        polls = backend.poll_count("r")
        backend.refresh()  # the interval is 30 s: only a refresh can show the new depth now
        asyncio.run(until(lambda: backend.poll_count("r") > polls, what="refreshed poll"))
        assert {d.name: d.depth for d in backend.snapshots()["r"].destinations}["q1"] == 9
        assert received and all(s.name == "r" for s in received)
    finally:
        backend.stop()


def test_tail_stream_delivers_batches_and_exports_jsonl(tmp_path: Path, redis_db: tuple[str, redis.Redis]) -> None:
    url, client = redis_db
    for i in range(250):
        client.xadd("events", {"data": f'{{"n": {i}}}'.encode(), "key": f"k{i % 5}".encode()})
    config = profile_file(tmp_path, [{"name": "r", "kind": "redis", "url": url, "timeout": 2.0}])
    backend = LiveBackend.open(config, "ops")
    backend.start(lambda s: None)
    try:
        stream = backend.tail("r", "events", StartPosition("beginning"))
        taken: list[Message] = []

        def all_taken() -> bool:
            taken.extend(stream.take())
            return len(taken) >= 250

        asyncio.run(until(all_taken, what="250 messages"))
        assert len(taken) == 250 and stream.received == 250 and stream.dropped == 0
        assert [m.value for m in taken[:2]] == [b'{"n": 0}', b'{"n": 1}']
        assert stream.state is TailState.RUNNING
        matching = [m for m in taken if MessageFilter.parse("key:K3 13").matches(m)]
        assert [m.value for m in matching] == [b'{"n": %d}' % n for n in (13, 113, 133, 138, 213)]
        path = tmp_path / "export.jsonl"
        assert export_jsonl(taken, path) == 250
        lines = path.read_bytes().splitlines()
        records = [jsonl.message_record(m) for m in taken]
        assert [jsonl.dumps(r).rstrip(b"\n") for r in records] == lines
        assert jsonl.message_from_record(records[3]).value == taken[3].value
        stream.stop()
        asyncio.run(until(lambda: stream.state is TailState.STOPPED, what="tail stopped"))
    finally:
        backend.stop()


def test_tail_buffer_is_bounded_and_counts_what_it_drops(tmp_path: Path, redis_db: tuple[str, redis.Redis]) -> None:
    url, client = redis_db
    for i in range(300):
        client.xadd("burst", {"data": str(i).encode()})
    config = profile_file(tmp_path, [{"name": "r", "kind": "redis", "url": url}])
    backend = LiveBackend.open(config, "ops")
    backend.start(lambda s: None)
    try:
        stream = backend.tail("r", "burst", StartPosition("beginning"), capacity=100)
        asyncio.run(until(lambda: stream.received >= 300, what="300 received"))
        kept = stream.take()
        assert (len(kept), stream.dropped) == (100, 200)
        assert kept[0].value == b"200" and kept[-1].value == b"299"
    finally:
        backend.stop()


def test_actions_publish_replay_and_purge_through_the_backend(
    tmp_path: Path, redis_db: tuple[str, redis.Redis]
) -> None:
    url, client = redis_db
    client.rpush("work:dlq", b"d1", b"d2", b"d3")
    config = profile_file(tmp_path, [{"name": "r", "kind": "redis", "url": url}])
    backend = LiveBackend.open(config, "ops")
    backend.start(lambda s: None)

    async def scenario() -> None:
        from mqtui.services.compose import build_messages

        messages = build_messages("job {{seq}}", count=4)
        result = await backend.call("r", lambda a: a.publish("work", messages), writes=Capability.PUBLISH)
        assert result.sent == 4
        assert client.llen("work") == 4
        plan = await backend.call("r", lambda a: a.plan_replay("work:dlq"))
        assert [(item.target, item.skip_reason) for item in plan] == [("work", None)] * 3
        progress: list[tuple[int, int]] = []
        replayed = await backend.call(
            "r", lambda a: a.replay("work:dlq", progress=lambda d, t: progress.append((d, t))), writes=Capability.REPLAY
        )
        assert (replayed.sent, replayed.failed, replayed.skipped) == (3, 0, 0)
        assert progress[-1] == (3, 3)
        assert client.llen("work") == 7 and client.llen("work:dlq") == 0
        assert await backend.call("r", lambda a: a.purge("work"), writes=Capability.PURGE) == 7
        assert client.llen("work") == 0

    try:
        asyncio.run(scenario())
    finally:
        backend.stop()


def test_readonly_profile_refuses_writes_before_connecting(tmp_path: Path) -> None:
    port = free_port()  # nothing listens: a refusal that tried to connect would say "unreachable"
    config = profile_file(
        tmp_path, [{"name": "r", "kind": "redis", "url": f"redis://127.0.0.1:{port}/0"}], readonly=True
    )
    backend = LiveBackend.open(config, "ops")
    backend.start(lambda s: None)

    async def scenario() -> None:
        for attempt in (
            backend.call("r", lambda a: a.publish("q", []), writes=Capability.PUBLISH),
            backend.call("r", lambda a: a.replay("q:dlq"), writes=Capability.REPLAY),
            backend.call("r", lambda a: a.delete_dead_letters("q:dlq", ["x"]), writes=Capability.DELETE_DEAD_LETTER),
            backend.call("r", lambda a: a.purge("q"), writes=Capability.PURGE),
            backend.call(
                "r", lambda a: a.reset_offsets("g", to=StartPosition("beginning")), writes=Capability.RESET_OFFSETS
            ),
        ):
            with pytest.raises(ReadonlyError, match="readonly"):
                await attempt
        assert backend.policy.readonly_refusal("publish") == "profile 'ops' is readonly: publish refused"

    try:
        asyncio.run(scenario())
    finally:
        backend.stop()


def test_message_filter_terms() -> None:
    message = Message("b", "d", None, 1, None, b"Order-42", b'{"Status": "PAID"}', (("trace", b"ABC"),))
    assert MessageFilter.parse("paid").matches(message)
    assert MessageFilter.parse("key:order-4 header:trace=abc status").matches(message)
    assert not MessageFilter.parse("header:missing").matches(message)
    assert not MessageFilter.parse("paid key:other").matches(message)
    assert MessageFilter.parse("").empty


async def test_poller_derives_rates_the_broker_does_not_report(redis_db: tuple[str, redis.Redis]) -> None:
    url, client = redis_db
    client.xgroup_create("events", "workers", id="0", mkstream=True)
    client.rpush("mail", *range(30))
    clock = iter(2.0 * i for i in range(100))  # each poll two seconds after the last: exact rates
    poller = BrokerPoller(
        RedisConfig(name="r", url=url, timeout=2.0), interval=0.1, listener=lambda s: None, clock=lambda: next(clock)
    )
    for _ in range(3):
        for n in range(10):
            client.xadd("events", {"data": str(n).encode()})
        for _stream, entries in client.xreadgroup("workers", "w1", {"events": ">"}, count=6):
            client.xack("events", "workers", *[entry_id for entry_id, _ in entries])
        client.rpush("jobs", *range(4))
        client.lpop("mail", 3)
        await poller.poll_once()
    snapshot = poller.latest
    rates = {d.name: (d.rate_in, d.rate_out) for d in snapshot.destinations}
    assert rates["events"] == (5.0, 3.0)  # 10 added and 6 read per 2 s
    assert rates["jobs"] == (2.0, None)  # at least: a list counts nothing, its depth rose by 4
    assert rates["mail"] == (None, 1.5)
    assert snapshot.rate_floors == {("jobs", "in"), ("mail", "out")}
    workers = next(g for g in snapshot.lag if g.group == "workers")
    assert (workers.lag, workers.trend.consume_rate) == (12, 3.0)
    await poller.close()
