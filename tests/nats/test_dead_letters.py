"""Dead letters: (a) an advisory-capturing stream, (b) a stream the application republishes into."""

from __future__ import annotations

import orjson
import pytest
from nats.js.api import ConsumerConfig

from mqtui.brokers.nats.dlq import replay_id
from mqtui.demo.localbrokers import LocalNats
from mqtui.errors import NotFound
from tests.nats.support import adapter_for, client_for, read_all, unique
from tests.support import until

ADVISORY = "$JS.EVENT.ADVISORY.CONSUMER"


async def _fail_until_dead(js, stream: str, subject: str, durable: str, dlq: str, expected: int) -> None:  # type: ignore[no-untyped-def]
    """A worker that naks every message whose body starts with "bad" until max_deliver gives up."""
    sub = await js.pull_subscribe(f"{subject}.>", durable=durable, stream=stream,
                                  config=ConsumerConfig(max_deliver=3, ack_wait=30))  # fmt: skip

    async def work() -> bool:
        try:
            for msg in await sub.fetch(10, timeout=0.2):
                if msg.data.startswith(b"bad"):
                    await msg.nak()
                else:
                    await msg.ack()
        except TimeoutError:
            pass
        return (await js.stream_info(dlq)).state.messages >= expected

    await until(work, what=f"{expected} advisories in {dlq}", timeout=20)
    await sub.unsubscribe()


async def _stored_values(adapter, stream: str) -> list[bytes]:  # type: ignore[no-untyped-def]
    return [m.value for m in await read_all(adapter, stream)]


async def test_max_deliveries_advisory_becomes_a_dead_letter_and_replays_once(nats_server: LocalNats) -> None:
    stream, subject, dlq = unique("OA"), unique("oa"), unique("OADLQ")
    async with client_for(nats_server) as nc, adapter_for(nats_server) as adapter:
        js = nc.jetstream()
        await js.add_stream(name=stream, subjects=[f"{subject}.>"])
        await js.add_stream(name=dlq, subjects=[f"{ADVISORY}.MAX_DELIVERIES.{stream}.>",
                                                f"{ADVISORY}.MSG_TERMINATED.{stream}.>"])  # fmt: skip
        await js.publish(f"{subject}.created", b"ok-1")
        await js.publish(f"{subject}.created", b"bad-2", headers={"order": "42"})
        await js.publish(f"{subject}.created", b"ok-3")
        # two workers give up on the same message: two advisories, one message
        await _fail_until_dead(js, stream, subject, "billing", dlq, 1)
        await _fail_until_dead(js, stream, subject, "audit", dlq, 2)

        queues = {q.name: q for q in await adapter.dead_letter_queues()}
        assert (queues[dlq].count, queues[dlq].origin, queues[dlq].detected_by) == (2, stream, "advisories")
        assert stream not in queues
        assert {d.name: d.is_dlq for d in await adapter.destinations()}[dlq] is True

        letters = await adapter.dead_letters(dlq)
        assert [letter.id for letter in letters] == ["1", "2"]
        first = letters[0]
        assert (first.origin, first.origin_position, first.attempts, first.gone) == (f"{subject}.created", 2, 3, False)
        assert first.message.value == b"bad-2" and first.message.header("order") == b"42"
        assert first.message.position == 2 and first.message.destination == f"{subject}.created"
        assert "max deliveries" in (first.reason or "") and first.extra["consumer"] == "billing"
        assert letters[1].extra["consumer"] == "audit"

        plan = await adapter.plan_replay(dlq)
        assert [(i.id, i.target, i.skip_reason) for i in plan] == [("1", f"{subject}.created", None),
                                                                     ("2", f"{subject}.created", None)]  # fmt: skip
        result = await adapter.replay(dlq)
        assert (result.sent, result.skipped, result.failed) == (1, 1, 0)  # the second is the duplicate
        assert await _stored_values(adapter, stream) == [b"ok-1", b"bad-2", b"ok-3", b"bad-2"]
        assert (await js.stream_info(dlq)).state.messages == 0

        # A crash between the publish and the delete leaves the entry behind: replaying it again delivers nothing.
        advisory = {"type": "io.nats.jetstream.advisory.v1.max_deliver", "stream": stream, "consumer": "billing",
                    "stream_seq": 2, "deliveries": 3, "timestamp": "2026-01-01T00:00:00Z"}  # fmt: skip
        await js.publish(f"{ADVISORY}.MAX_DELIVERIES.{stream}.billing", orjson.dumps(advisory))
        again = await adapter.replay(dlq)
        assert (again.sent, again.skipped, again.failed) == (0, 1, 0)
        assert await _stored_values(adapter, stream) == [b"ok-1", b"bad-2", b"ok-3", b"bad-2"]
        assert (await js.stream_info(dlq)).state.messages == 0


async def test_aged_out_original_is_gone_and_skipped(nats_server: LocalNats) -> None:
    stream, subject, dlq = unique("OG"), unique("og"), unique("OGDLQ")
    async with client_for(nats_server) as nc, adapter_for(nats_server) as adapter:
        js = nc.jetstream()
        await js.add_stream(name=stream, subjects=[f"{subject}.>"])
        await js.add_stream(name=dlq, subjects=[f"{ADVISORY}.MAX_DELIVERIES.{stream}.>"])
        await js.publish(f"{subject}.x", b"bad")
        await _fail_until_dead(js, stream, subject, "w", dlq, 1)
        await js.purge_stream(stream)
        [letter] = await adapter.dead_letters(dlq)
        assert letter.gone and letter.message.value == b"" and letter.origin_position == 1
        [item] = await adapter.plan_replay(dlq)
        assert item.skip_reason is not None and item.skip_reason.startswith("gone")
        result = await adapter.replay(dlq)
        assert (result.sent, result.skipped) == (0, 1)
        assert await adapter.delete_dead_letters(dlq, ["1", "99"]) == 1
        assert await adapter.dead_letters(dlq) == []


async def test_republish_dlq_by_stream_name_and_by_subject_rule(nats_server: LocalNats) -> None:
    origin, subject = unique("RB"), unique("rb")
    async with client_for(nats_server) as nc, adapter_for(nats_server) as adapter:
        js = nc.jetstream()
        await js.add_stream(name=origin, subjects=[f"{subject}.>"])
        await js.add_stream(name=f"{origin}_DLQ", subjects=[f"{subject}dlq"])
        await js.publish(f"{subject}dlq", b"failed-1", headers={"Original-Subject": f"{subject}.orders"})
        await js.publish(f"{subject}dlq", b"failed-2")  # no header: the origin stream's name, which stores nothing
        dead = unique("DEAD")
        await js.add_stream(name=dead, subjects=[f"DLQ.{subject}.>"])
        await js.publish(f"DLQ.{subject}.payments", b"failed-3")

        queues = {q.name: q for q in await adapter.dead_letter_queues()}
        assert (queues[f"{origin}_DLQ"].origin, queues[f"{origin}_DLQ"].count) == (origin, 2)
        assert queues[f"{origin}_DLQ"].detected_by == "naming rule"
        assert (queues[dead].origin, queues[dead].count) == (f"{subject}.>", 1)

        letters = await adapter.dead_letters(f"{origin}_DLQ")
        assert [(x.id, x.origin, x.message.value) for x in letters] == [
            ("1", f"{subject}.orders", b"failed-1"), ("2", origin, b"failed-2")]  # fmt: skip
        plan = await adapter.plan_replay(f"{origin}_DLQ")
        assert [p.skip_reason for p in plan] == [None, f"no stream stores {origin}"]
        result = await adapter.replay(f"{origin}_DLQ")
        assert (result.sent, result.skipped, result.failed) == (1, 1, 0)
        assert await _stored_values(adapter, origin) == [b"failed-1"]
        assert [x.id for x in await adapter.dead_letters(f"{origin}_DLQ")] == ["2"]
        to = await adapter.replay(f"{origin}_DLQ", to=f"{subject}.manual", ids=["2"])
        assert (to.sent, to.skipped) == (1, 0)
        assert await _stored_values(adapter, origin) == [b"failed-1", b"failed-2"]

        [letter] = await adapter.dead_letters(dead)
        assert letter.origin == f"{subject}.payments"
        assert (await adapter.replay(dead)).sent == 1
        assert await _stored_values(adapter, origin) == [b"failed-1", b"failed-2", b"failed-3"]
        with pytest.raises(NotFound):
            await adapter.dead_letters(unique("NOPE"))


async def test_create_dlq_stream_on_connect_captures_advisories(private_nats: LocalNats) -> None:
    async with adapter_for(private_nats, create_dlq_stream=True, dlq_stream="DEADLETTERS") as adapter:
        async with client_for(private_nats) as nc:
            js = nc.jetstream()
            info = await js.stream_info("DEADLETTERS")
            assert sorted(info.config.subjects) == sorted(
                [f"{ADVISORY}.MAX_DELIVERIES.>", f"{ADVISORY}.MSG_TERMINATED.>"]
            )
            await js.add_stream(name="WORK", subjects=["work.>"])
            await js.publish("work.item", b"poison")
            sub = await js.pull_subscribe("work.>", durable="t", stream="WORK")
            [msg] = await sub.fetch(1, timeout=5)
            await msg.term()
            await until(lambda: _count(js, "DEADLETTERS", 1), what="1 message in DEADLETTERS")
        [queue] = await adapter.dead_letter_queues()
        assert (queue.name, queue.count, queue.detected_by) == ("DEADLETTERS", 1, "advisories")
        [letter] = await adapter.dead_letters("DEADLETTERS")
        assert (letter.origin, letter.message.value, letter.attempts) == ("work.item", b"poison", 1)
        assert (letter.reason or "").startswith("terminated by t")
    async with adapter_for(private_nats, create_dlq_stream=True, dlq_stream="DEADLETTERS"):
        pass  # connecting again leaves the existing stream alone


async def _count(js, stream: str, n: int) -> bool:  # type: ignore[no-untyped-def]
    return (await js.stream_info(stream)).state.messages == n


async def test_a_recreated_dlq_stream_replays_its_new_entries(nats_server: LocalNats) -> None:
    """The new stream numbers from 1 again: its first entry must not pass for the old first entry's copy."""
    origin, subject = unique("RC"), unique("rc")
    dlq = f"{origin}_DLQ"
    async with client_for(nats_server) as nc, adapter_for(nats_server) as adapter:
        js = nc.jetstream()
        await js.add_stream(name=origin, subjects=[f"{subject}.>"], duplicate_window=600)
        await js.add_stream(name=dlq, subjects=[f"{subject}dlq"])
        await js.publish(f"{subject}dlq", b"first", headers={"Original-Subject": f"{subject}.orders"})
        [first] = await adapter.dead_letters(dlq)
        assert (await adapter.replay(dlq)).sent == 1

        await js.delete_stream(dlq)
        await js.add_stream(name=dlq, subjects=[f"{subject}dlq"])
        await js.publish(f"{subject}dlq", b"second", headers={"Original-Subject": f"{subject}.orders"})
        [second] = await adapter.dead_letters(dlq)
        assert (second.id, second.message.value) == (first.id, b"second")  # the same sequence, 1
        assert replay_id(second, dlq) != replay_id(first, dlq)
        [reread] = await adapter.dead_letters(dlq)
        assert replay_id(reread, dlq) == replay_id(second, dlq)  # a rerun sends the same id: dropped there
        again = await adapter.replay(dlq)
        assert (again.sent, again.skipped, again.failed) == (1, 0, 0)
        assert await _stored_values(adapter, origin) == [b"first", b"second"]
        assert await adapter.dead_letters(dlq) == []
