"""NATS JetStream: replays of 1,000 advisory dead letters killed with kill -9 (mqtui or nats-server).

Each seed gets a fresh origin stream and a DLQ stream capturing its MAX_DELIVERIES advisories, filled
by a worker that naks 1,000 messages until max_deliver (2) gives up on them; 50 more messages are
acked and are no dead letters. Streams use file storage, so a killed server restarts with them. A
replay publishes each original again with `Nats-Msg-Id: mqtui-replay:<stream>:<seq>` and deletes the
advisory once the copy is acknowledged; a rerun after a kill republishes with the same id, which the
stream drops as a duplicate within its duplicate window (2 minutes here, far longer than a seed). So
afterwards each dead letter has exactly one copy in the origin stream: lost 0, duplicates 0.

The replay publishes windows of 64 and moves 1,000 in well under a second, two windows within one
2 ms slice of the harness at times: mqtui reaches the server through a `GatedLink` that passes one
chunk of what it sends (at most one window) between two counts.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import nats
import orjson
import pytest
from nats.js.api import ConsumerConfig

from mqtui.brokers.nats.adapter import NatsAdapter
from mqtui.brokers.nats.replay import WINDOW
from mqtui.config import NatsConfig
from mqtui.demo.localbrokers import LocalNats
from mqtui.errors import BrokerUnavailable
from tests.faults.harness import (
    FaultPoint,
    interrupt,
    profile,
    record,
    rerun,
    spawn_replay,
)
from tests.faults.link import GatedLink, gated_link
from tests.support import until

pytestmark = pytest.mark.fault

TOTAL = 1000
BYSTANDERS = 50
SEEDS = range(20)
TIMEOUT = 2.0
#: A window is sent once the one before it was stored, and one chunk (at most one window) passes the link
#: between two counts, so a point up to the start of the second to last window (896) is counted before
#: the last window is sent: the kill never comes after the last move.
MOST = (TOTAL - 1) // WINDOW * WINDOW - WINDOW
MAX_DELIVERIES = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES"
REPLAY_ID = "mqtui-replay:"


@pytest.fixture(scope="module")
def file_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNats]:
    """A private nats-server (JetStream on disk) that the tests kill and restart."""
    broker = LocalNats(tmp_path_factory.mktemp("fault-nats"), name="fault-nats")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def link(file_nats: LocalNats) -> Iterator[GatedLink]:
    """mqtui's way to the server for one seed, held from the start so the harness meters the replay."""
    with gated_link(file_nats.port) as each:
        yield each


def order(index: int) -> bytes:
    return orjson.dumps({"id": f"m{index:04d}", "type": "order.created", "total": index})


async def seed_dead_letters(broker: LocalNats, origin: str, dlq: str, subject: str) -> None:
    """1,000 real max-deliveries advisories in `dlq`, for messages a worker naked to death."""
    nc = await nats.connect(broker.url)
    try:
        js = nc.jetstream()
        await js.add_stream(name=origin, subjects=[f"{subject}.>"])
        await js.add_stream(name=dlq, subjects=[f"{MAX_DELIVERIES}.{origin}.>"])
        acks = [await js.publish_async(f"{subject}.created", order(i)) for i in range(TOTAL)]
        acks += [await js.publish_async(f"{subject}.created", b'{"id": "live-%d"}' % i) for i in range(BYSTANDERS)]
        await asyncio.gather(*acks)
        worker = await js.pull_subscribe(f"{subject}.>", durable="fulfillment", stream=origin,
                                         config=ConsumerConfig(max_deliver=2, ack_wait=30))  # fmt: skip

        async def all_dead_lettered() -> bool:
            if (await js.stream_info(dlq)).state.messages >= TOTAL:
                return True
            try:
                batch = await worker.fetch(500, timeout=0.2)
            except (nats.errors.TimeoutError, TimeoutError):  # nats-py raises either
                return False
            for msg in batch:
                await (msg.ack() if msg.data.startswith(b'{"id": "live') else msg.nak())
            return False

        await until(all_dead_lettered, what="the worker to dead-letter every message", timeout=60, interval=0)
        await worker.unsubscribe()
    finally:
        await nc.close()


def stream_messages(broker: LocalNats, stream: str) -> int:
    """Messages in a stream, from the monitoring endpoint (cheap enough to poll)."""
    with urllib.request.urlopen(f"{broker.monitor_url}/jsz?streams=true", timeout=5) as answer:
        report = json.load(answer)
    for account in report.get("account_details") or ():
        for detail in account.get("stream_detail") or ():
            if detail["name"] == stream:
                return int(detail["state"]["messages"])
    raise AssertionError(f"no stream {stream}")


async def stored(broker: LocalNats, stream: str, subject: str) -> list[tuple[bytes, dict[str, str]]]:
    """(payload, headers) of every message in the stream, read with an ordered consumer."""
    nc = await nats.connect(broker.url)
    try:
        js = nc.jetstream()
        count = (await js.stream_info(stream)).state.messages
        sub = await js.subscribe(f"{subject}.>", stream=stream, ordered_consumer=True)
        found = []
        for _ in range(count):
            msg = await sub.next_msg(timeout=10)
            found.append((msg.data, dict(msg.headers or {})))
        await sub.unsubscribe()
        return found
    finally:
        await nc.close()


async def ready(broker: LocalNats, stream: str) -> None:
    """JetStream answers for `stream` again after a restart."""

    async def answers() -> bool:
        nc = await nats.connect(broker.url, allow_reconnect=False)
        try:
            await nc.jetstream().stream_info(stream)
            return True
        finally:
            await nc.close()

    await until(answers, what=f"JetStream to answer for {stream}", timeout=30, interval=0.1, ignoring=(Exception,))


@pytest.mark.parametrize("seed", SEEDS)
def test_advisory_dlq_replay_killed_at_a_seeded_point(
    seed: int, file_nats: LocalNats, link: GatedLink, tmp_path: Path
) -> None:
    point = FaultPoint.draw("nats", "max-deliveries advisories", seed, victims=("mqtui", "broker"), most=MOST)
    origin, dlq, subject = f"ORDERS{seed}", f"DEADORDERS{seed}", f"orders{seed}"
    asyncio.run(seed_dead_letters(file_nats, origin, dlq, subject))
    entry = {**file_nats.broker_config(), "name": "events", "url": f"nats://127.0.0.1:{link.port}", "timeout": TIMEOUT}
    config = profile(tmp_path / "config.toml", entry)

    process = spawn_replay(config, "events", dlq, tmp_path / "first")
    first = interrupt(process, point, lambda: stream_messages(file_nats, origin) - TOTAL - BYSTANDERS, file_nats.kill,
                      TOTAL, tmp_path / "first", TIMEOUT, link=link)  # fmt: skip
    if point.victim == "broker":
        file_nats.start()
        asyncio.run(ready(file_nats, dlq))
    again = rerun(config, "events", dlq)

    messages = asyncio.run(stored(file_nats, origin, subject))
    copies = Counter(data for data, headers in messages if headers.get("Nats-Msg-Id", "").startswith(REPLAY_ID))
    originals = Counter(data for data, headers in messages if "Nats-Msg-Id" not in headers)
    assert originals == Counter(
        [order(i) for i in range(TOTAL)] + [b'{"id": "live-%d"}' % i for i in range(BYSTANDERS)]
    )
    assert stream_messages(file_nats, dlq) == 0
    lost = sum(1 for i in range(TOTAL) if copies[order(i)] == 0)
    duplicates = sum(copies[order(i)] - 1 for i in range(TOTAL) if copies[order(i)] > 1)
    assert sum(copies.values()) == TOTAL - lost + duplicates  # nothing else was copied
    reported = record(point, TOTAL, first, again, lost, duplicates)
    assert (lost, duplicates, reported) == (0, 0, 0), point


async def test_a_broker_killed_between_two_publish_windows_ends_the_replay_within_the_timeout(
    file_nats: LocalNats, tmp_path: Path
) -> None:
    """The kill lands right after a window of publishes was acknowledged and deleted (the progress
    callback runs there), so every later publish meets a dead connection: the replay must stop with one
    BrokerUnavailable within the timeout, not time out window after window (15 windows of 2 s here)."""
    origin, dlq, subject = "ORDERSW", "DEADORDERSW", "ordersw"
    await seed_dead_letters(file_nats, origin, dlq, subject)
    adapter = NatsAdapter(NatsConfig(name="events", url=file_nats.url, timeout=TIMEOUT))
    await adapter.connect()
    windows: list[int] = []

    def kill_after_first_window(done: int, _total: int) -> None:
        windows.append(done)
        if len(windows) == 1:
            file_nats.kill()

    started = time.monotonic()
    try:
        with pytest.raises(BrokerUnavailable, match=r"^events: "):
            await adapter.replay(dlq, progress=kill_after_first_window)
        gave_up = time.monotonic() - started
    finally:
        await adapter.close()
    assert len(windows) == 1 and gave_up < TIMEOUT + 1, (windows, gave_up)

    file_nats.start()
    await ready(file_nats, dlq)
    config = profile(tmp_path / "config.toml", {**file_nats.broker_config(), "name": "events", "timeout": TIMEOUT})
    again = await asyncio.to_thread(rerun, config, "events", dlq)
    assert again["sent"] == TOTAL - windows[0]
    messages = await stored(file_nats, origin, subject)
    copies = Counter(data for data, headers in messages if headers.get("Nats-Msg-Id", "").startswith(REPLAY_ID))
    assert copies == Counter(order(i) for i in range(TOTAL))
