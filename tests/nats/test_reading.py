"""Streams, subjects, consumers and the tail, against the real nats-server, with exact numbers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy

from mqtui.demo.localbrokers import LocalNats
from mqtui.errors import NotFound, NotPossible
from mqtui.model import DestinationKind, StartPosition
from tests.nats.support import adapter_for, client_for, read_all, unique
from tests.support import until


async def test_streams_and_subjects_are_listed_with_their_state(nats_server: LocalNats) -> None:
    stream, subject = unique("LS"), unique("ls")
    async with client_for(nats_server) as nc, adapter_for(nats_server) as adapter:
        js = nc.jetstream()
        await js.add_stream(name=stream, subjects=[f"{subject}.>"])
        for i in range(7):
            await js.publish(f"{subject}.x", f"m{i}".encode())
        await js.add_consumer(stream, ConsumerConfig(durable_name="c1"))
        core = unique("core")
        await nc.subscribe(f"{core}.svc", queue="workers")
        await nc.subscribe(f"{core}.svc", queue="workers")
        await nc.flush()

        rows = {d.name: d for d in await adapter.destinations()}
        row = rows[stream]
        assert row.kind is DestinationKind.STREAM
        assert (row.depth, row.consumers) == (7, 1)
        assert row.extra["subjects"] == f"{subject}.>"
        assert (row.extra["first_seq"], row.extra["last_seq"]) == ("1", "7")
        assert (row.extra["retention"], row.extra["storage"], row.extra["replicas"]) == ("limits", "file", "1")
        assert int(row.extra["bytes"]) > 0 and row.last_activity is not None
        subject_row = rows[f"{core}.svc"]
        assert subject_row.kind is DestinationKind.SUBJECT
        assert subject_row.consumers == 2 and subject_row.extra["queue_groups"] == "workers"
        assert not any(name.startswith("_INBOX.") for name in rows)

        detail = await adapter.describe(stream)
        assert dict(detail.summary)["messages"] == "7"
        assert [r[0] for r in detail.sections[0].rows] == ["c1"]

        stored = [await js.get_msg(stream, seq) for seq in (1, 4, 7)]  # each message's own store time
        times = [m.time for m in stored]
        assert all(t is not None for t in times)
        assert times[0] <= times[1] <= times[2]
        assert (row.extra["first_time"], row.extra["last_time"]) == (times[0].isoformat(), times[2].isoformat())
        assert row.last_activity == times[2]
        await js.purge_stream(stream, seq=4)  # keeps 4..7: the first time moves to message 4's
        row = next(d for d in await adapter.destinations() if d.name == stream)
        assert (row.depth, row.extra["first_seq"], row.extra["last_seq"]) == (4, "4", "7")
        assert (row.extra["first_time"], row.extra["last_time"]) == (times[1].isoformat(), times[2].isoformat())


async def test_backlog_after_publishing_n_and_acking_m(nats_server: LocalNats) -> None:
    stream, subject = unique("BL"), unique("bl")
    async with client_for(nats_server) as nc, adapter_for(nats_server) as adapter:
        js = nc.jetstream()
        await js.add_stream(name=stream, subjects=[f"{subject}.>"])
        for i in range(10):
            await js.publish(f"{subject}.x", f"m{i}".encode())
        sub = await js.pull_subscribe(f"{subject}.>", durable="worker", stream=stream,
                                      config=ConsumerConfig(max_deliver=5, ack_wait=60))  # fmt: skip
        fetched = await sub.fetch(6, timeout=5)
        assert len(fetched) == 6
        for msg in fetched[:4]:
            await msg.ack_sync()

        rows = [r for r in await adapter.backlog() if r.destination == stream]
        assert len(rows) == 1
        row = rows[0]
        assert (row.group, row.partition) == ("worker", None)
        assert (row.lag, row.in_flight, row.committed, row.end) == (4, 2, 4, 10)
        assert row.state == "idle" and row.last_activity is not None

        assert [r.group for r in await adapter.backlog(group=f"{stream}/worker")] == ["worker"]
        summary = dict((await adapter.describe_group(f"{stream}/worker")).summary)
        assert summary["pending (lag)"] == "4" and summary["ack pending (in flight)"] == "2"
        assert summary["max deliver"] == "5"
        assert summary["ack floor"] == "consumer seq 4, stream seq 4"
        assert summary["delivered"] == "consumer seq 6, stream seq 6"
        with pytest.raises(NotFound):
            await adapter.describe_group("no-such-consumer")


async def test_redelivered_and_waiting_pull_requests_are_counted(nats_server: LocalNats) -> None:
    stream, subject = unique("RW"), unique("rw")
    async with client_for(nats_server) as nc, adapter_for(nats_server) as adapter:
        js = nc.jetstream()
        await js.add_stream(name=stream, subjects=[f"{subject}.>"])
        for i in range(5):
            await js.publish(f"{subject}.x", f"m{i}".encode())
        sub = await js.pull_subscribe(f"{subject}.x", durable="worker", stream=stream,
                                      config=ConsumerConfig(ack_wait=600))  # fmt: skip
        fetched = await sub.fetch(5, timeout=5)
        for msg in fetched[:4]:
            await msg.ack_sync()
        await fetched[4].nak()  # m4 is then the only message to deliver: the next pull gets it again
        [again] = await sub.fetch(1, timeout=5)
        assert (again.data, again.metadata.num_delivered) == (b"m4", 2)
        for i in range(5, 10):
            await js.publish(f"{subject}.x", f"m{i}".encode())
        await js.add_consumer(stream, ConsumerConfig(durable_name="idle", filter_subject=f"{subject}.none"))
        # a pull request that waits (nothing matches its filter), as a worker's long poll does
        inbox = nc.new_inbox()
        waiting = await nc.subscribe(inbox)  # the server drops a pull request whose reply subject nobody reads
        await nc.publish(f"$JS.API.CONSUMER.MSG.NEXT.{stream}.idle", b'{"batch": 1, "expires": 600000000000}',
                         reply=inbox)  # fmt: skip
        await until(lambda: _waiting(js, stream, "idle", 1), what="1 pull request waiting on idle")

        worker = dict((await adapter.describe_group(f"{stream}/worker")).summary)
        assert (worker["pending (lag)"], worker["ack pending (in flight)"], worker["redelivered"]) == ("5", "1", "1")
        assert (worker["waiting pulls"], worker["state"]) == ("0", "idle")
        idle = dict((await adapter.describe_group(f"{stream}/idle")).summary)
        assert (idle["waiting pulls"], idle["state"], idle["redelivered"], idle["pending (lag)"]) == ("1", "waiting",
                                                                                                        "0", "0")  # fmt: skip
        rows = {r.group: r for r in await adapter.backlog() if r.destination == stream}
        assert (rows["worker"].lag, rows["worker"].in_flight, rows["worker"].consumers) == (5, 1, 0)
        assert (rows["idle"].lag, rows["idle"].consumers, rows["idle"].state) == (0, 1, "waiting")
        await waiting.unsubscribe()


async def _waiting(js, stream: str, name: str, n: int) -> bool:  # type: ignore[no-untyped-def]
    return (await js.consumer_info(stream, name)).num_waiting == n


async def test_server_view_rows_name_a_known_stream_consumer_and_subscription(nats_server: LocalNats) -> None:
    stream, subject, core = unique("SV"), unique("sv"), unique("svcore")
    async with client_for(nats_server) as nc, client_for(nats_server) as listener, adapter_for(nats_server) as adapter:
        js = nc.jetstream()
        await js.add_stream(name=stream, subjects=[f"{subject}.>"])
        for i in range(5):
            await js.publish(f"{subject}.x", f"m{i}".encode())
        await js.add_consumer(stream, ConsumerConfig(durable_name="viewer"))
        await listener.subscribe(f"{core}.jobs", queue="workers")
        await listener.flush()
        for _ in range(2):
            await nc.publish(f"{core}.jobs", b"job")
        await nc.flush()
        stream_bytes = (await js.stream_info(stream)).state.bytes

        async def subscription_rows() -> list[tuple[str, ...]]:
            view = await adapter.describe_server()
            subs = next(s for s in view.sections if s.title.startswith("Subscriptions"))
            return [r for r in subs.rows if r[0] == f"{core}.jobs"]

        await until(
            lambda: _delivered(subscription_rows, "2"), what="2 delivered in /subsz"
        )  # /subsz counts as the server delivers
        [(subject_, group, cid, sid, delivered)] = await subscription_rows()
        assert (subject_, group, delivered) == (f"{core}.jobs", "workers", "2") and cid.isdigit() and sid.isdigit()

        view = await adapter.describe_server()
        jsz = next(s for s in view.sections if s.title.startswith("JetStream"))
        assert jsz.columns == ("ACCOUNT", "STREAM", "MESSAGES", "BYTES", "CONSUMERS", "PENDING")
        [row] = [r for r in jsz.rows if r[1] == stream]
        assert row == ("$G", stream, "5", str(stream_bytes), "1", "5")  # viewer has all 5 still to deliver


async def _delivered(rows, count: str) -> bool:  # type: ignore[no-untyped-def]
    return [r[4] for r in await rows()] == [count]


async def _consumer_state(js, stream: str, name: str) -> tuple:  # type: ignore[no-untyped-def]
    info = await js.consumer_info(stream, name)
    return (info.delivered.stream_seq, info.delivered.consumer_seq, info.ack_floor.stream_seq, info.num_pending,
            info.num_ack_pending, info.num_redelivered)  # fmt: skip


async def test_tail_from_beginning_sequence_and_time_leaves_durables_unchanged(nats_server: LocalNats) -> None:
    stream, subject = unique("TL"), unique("tl")
    async with client_for(nats_server) as nc, adapter_for(nats_server) as adapter:
        js = nc.jetstream()
        await js.add_stream(name=stream, subjects=[f"{subject}.>"])
        for i in range(1, 6):
            await js.publish(f"{subject}.a", f"m{i}".encode(), headers={"trace": f"t{i}"})
        middle = datetime.now(UTC)
        for i in range(6, 11):
            await js.publish(f"{subject}.b.c", f"m{i}".encode())
        push = await js.subscribe(
            f"{subject}.>", durable="pusher", manual_ack=True, stream=stream, config=ConsumerConfig(ack_wait=600)
        )  # no redelivery while the test runs
        pull = await js.pull_subscribe(f"{subject}.>", durable="puller", stream=stream)
        for msg in await pull.fetch(3, timeout=5):
            await msg.ack_sync()
        await until(lambda: _push_delivered(js, stream), what="the push consumer's delivery")
        # (delivered stream seq, delivered consumer seq, ack floor, pending, ack pending, redelivered)
        expected = {"pusher": (10, 10, 0, 0, 10, 0), "puller": (3, 3, 3, 7, 0, 0)}
        assert {n: await _consumer_state(js, stream, n) for n in ("pusher", "puller")} == expected

        everything = await read_all(adapter, stream)
        assert [m.position for m in everything] == list(range(1, 11))
        assert everything[0].value == b"m1" and everything[0].destination == f"{subject}.a"
        assert everything[0].header("trace") == b"t1" and everything[0].timestamp is not None
        assert [m.position for m in await read_all(adapter, stream, "7")] == [7, 8, 9, 10]
        with pytest.raises(NotPossible, match=r"^n: a NATS stream position is a sequence number, not '1-0'$"):
            await read_all(adapter, stream, "1-0")  # a Redis stream id: NATS tails this stream, not from there
        assert [m.value for m in await read_all(adapter, stream, middle.isoformat())] == [
            f"m{i}".encode() for i in range(6, 11)
        ]
        assert [m.position for m in await read_all(adapter, f"{subject}.b.>")] == [6, 7, 8, 9, 10]
        assert await read_all(adapter, stream, "end") == []

        assert {n: await _consumer_state(js, stream, n) for n in ("pusher", "puller")} == expected
        await until(
            lambda: _only_durables(adapter, stream), what="the tail's consumers gone"
        )  # the tail's own consumers are gone
        await push.unsubscribe()


async def _push_delivered(js, stream: str) -> bool:  # type: ignore[no-untyped-def]
    info = await js.consumer_info(stream, "pusher")
    return info.num_ack_pending == 10


async def _only_durables(adapter, stream: str) -> bool:  # type: ignore[no-untyped-def]
    names = {c["name"] for c in await adapter.js.consumers(stream)}
    return names == {"pusher", "puller"}


async def test_tail_from_end_sees_new_messages_in_batches(nats_server: LocalNats) -> None:
    stream, subject = unique("TE"), unique("te")
    async with client_for(nats_server) as nc, adapter_for(nats_server) as adapter:
        js = nc.jetstream()
        await js.add_stream(name=stream, subjects=[f"{subject}.>"])
        await js.publish(f"{subject}.old", b"old")
        tail = adapter.tail(stream, start=StartPosition("end"))
        first = asyncio.ensure_future(tail.__anext__())
        await until(lambda: _has_tail_consumer(adapter, stream), what="the tail's consumer")
        for i in range(300):
            await js.publish(f"{subject}.new", f"n{i}".encode())
        got = list(await first)
        while len(got) < 300:
            got.extend(await tail.__anext__())
        await tail.aclose()
        assert [m.value for m in got] == [f"n{i}".encode() for i in range(300)]
        assert [m.position for m in got] == list(range(2, 302))
        await until(lambda: _no_consumers(adapter, stream), what="no consumers left")


async def _has_tail_consumer(adapter, stream: str) -> bool:  # type: ignore[no-untyped-def]
    return len(await adapter.js.consumers(stream)) == 1


async def _no_consumers(adapter, stream: str) -> bool:  # type: ignore[no-untyped-def]
    return await adapter.js.consumers(stream) == []


async def test_core_tail_with_wildcards(nats_server: LocalNats) -> None:
    subject = unique("core")
    async with client_for(nats_server) as nc, adapter_for(nats_server) as adapter:
        tail = adapter.tail(f"{subject}.>", start=StartPosition("end"))
        first = asyncio.ensure_future(tail.__anext__())
        await until(lambda: _has_subscription(adapter, f"{subject}.>"), what="the tail's subscription")
        await nc.publish(f"{subject}.a", b"1", headers={"h": "v"})
        await nc.publish(f"{subject}.b.c", b"\xff\xfe")
        await nc.publish(f"{unique('other')}.a", b"not mine")
        await nc.flush()
        got = list(await first)
        while len(got) < 2:
            got.extend(await tail.__anext__())
        await tail.aclose()
        assert [(m.destination, m.value, m.position) for m in got] == [
            (f"{subject}.a", b"1", 1),
            (f"{subject}.b.c", b"\xff\xfe", 2),
        ]
        assert got[0].header("h") == b"v"
        assert await read_all(adapter, f"{subject}.a", "end") == []
        with pytest.raises(NotFound):
            await read_all(adapter, f"{subject}.a", "beginning")


async def _has_subscription(adapter, subject: str) -> bool:  # type: ignore[no-untyped-def]
    return any(d.name == subject for d in await adapter.destinations())


async def test_tail_of_a_work_queue_stream_takes_nothing(nats_server: LocalNats) -> None:
    stream, subject = unique("WQ"), unique("wq")
    async with client_for(nats_server) as nc, adapter_for(nats_server) as adapter:
        js = nc.jetstream()
        await js.add_stream(name=stream, subjects=[f"{subject}.>"], retention=RetentionPolicy.WORK_QUEUE)
        for i in range(4):
            await js.publish(f"{subject}.job", f"j{i}".encode())
        await js.add_consumer(stream, ConsumerConfig(durable_name="workers", ack_policy=AckPolicy.EXPLICIT))
        got = await read_all(adapter, stream)
        assert [m.value for m in got] == [b"j0", b"j1", b"j2", b"j3"]
        with pytest.raises(NotPossible, match="a NATS stream position is a sequence number, not '1-0'"):
            await read_all(adapter, stream, "1-0")  # refused here too, not read from the first message
        info = await js.stream_info(stream)
        assert (info.state.messages, info.state.consumer_count) == (4, 1)
        consumer = await js.consumer_info(stream, "workers")
        assert consumer.num_pending == 4
