"""Publish (core and JetStream), request/reply, purge and the server view."""

from __future__ import annotations

import pytest

from mqtui.demo.localbrokers import LocalNats
from mqtui.errors import BrokerError, NotFound, NotPossible, UsageError
from mqtui.model import OutgoingMessage
from tests.nats.support import adapter_for, client_for, read_all, unique


async def test_publish_through_jetstream_with_headers_and_sequences(nats_server: LocalNats) -> None:
    stream, subject = unique("PJ"), unique("pj")
    async with client_for(nats_server) as nc, adapter_for(nats_server) as adapter:
        await nc.jetstream().add_stream(name=stream, subjects=[f"{subject}.>"])
        messages = [OutgoingMessage(value=f"v{i}".encode(), headers=(("k", f"h{i}".encode()),)) for i in range(5)]
        result = await adapter.publish(f"{subject}.a", messages)
        assert (result.sent, result.failed, result.positions) == (5, (), (1, 2, 3, 4, 5))
        stored = await read_all(adapter, stream)
        assert [(m.value, m.header("k")) for m in stored] == [(f"v{i}".encode(), f"h{i}".encode()) for i in range(5)]

        wrong = await adapter.publish(f"{subject}.a", messages[:1], options={"stream": "NOPE"})
        assert wrong.sent == 0 and len(wrong.failed) == 1 and "stream" in wrong.failed[0][1]
        bad_header = OutgoingMessage(value=b"x", headers=(("k", b"a\r\nInjected: 1"),))
        mixed = await adapter.publish(f"{subject}.a", [bad_header, messages[0]])
        assert mixed.sent == 1 and [i for i, _ in mixed.failed] == [0]
        with pytest.raises(NotPossible, match="NATS messages have no key; send it as a --header"):
            await adapter.publish(f"{subject}.a", [OutgoingMessage(value=b"x", key=b"k")])
        with pytest.raises(UsageError):
            await adapter.publish(f"{subject}.a", messages, options={"exchange": "x"})


async def test_core_publish_reaches_subscribers_and_is_not_stored(nats_server: LocalNats) -> None:
    stream, subject = unique("PC"), unique("pc")
    async with client_for(nats_server) as nc, adapter_for(nats_server) as adapter:
        await nc.jetstream().add_stream(name=stream, subjects=[f"{subject}.stored"])
        sub = await nc.subscribe(f"{subject}.>")
        await nc.flush()
        result = await adapter.publish(f"{subject}.plain", [OutgoingMessage(value=b"a"), OutgoingMessage(value=b"b")])
        assert (result.sent, result.positions) == (2, ())
        forced = await adapter.publish(f"{subject}.stored", [OutgoingMessage(value=b"c")], options={"mode": "core"})
        assert forced.sent == 1 and forced.positions == ()
        got = [(await sub.next_msg(timeout=5)).data for _ in range(3)]
        assert got == [b"a", b"b", b"c"]
        # the core publish to a stored subject still lands in the stream (the server stores it), without an ack
        assert [m.value for m in await read_all(adapter, stream)] == [b"c"]


async def test_request_reply_with_timeout(nats_server: LocalNats) -> None:
    subject = unique("svc")
    async with client_for(nats_server) as nc, adapter_for(nats_server) as adapter:

        async def echo(msg) -> None:  # type: ignore[no-untyped-def]
            await msg.respond(b"echo:" + msg.data)

        await nc.subscribe(f"{subject}.echo", cb=echo)
        silent = await nc.subscribe(f"{subject}.silent")
        await nc.flush()
        reply = await adapter.request(f"{subject}.echo", OutgoingMessage(value=b"ping"), timeout=3)
        assert reply.value == b"echo:ping" and reply.destination == f"{subject}.echo"
        with pytest.raises(NotFound, match="no service answers"):
            await adapter.request(f"{subject}.nobody", OutgoingMessage(value=b"x"), timeout=2)
        with pytest.raises(BrokerError, match="no reply"):
            await adapter.request(f"{subject}.silent", OutgoingMessage(value=b"x"), timeout=0.5)
        await silent.unsubscribe()


async def test_purge_a_stream_and_one_subject(nats_server: LocalNats) -> None:
    stream, subject = unique("PG"), unique("pg")
    async with client_for(nats_server) as nc, adapter_for(nats_server) as adapter:
        js = nc.jetstream()
        await js.add_stream(name=stream, subjects=[f"{subject}.>"])
        for i in range(6):
            await js.publish(f"{subject}.{'a' if i % 2 else 'b'}", b"x")
        assert await adapter.purge(f"{subject}.a") == 3
        assert (await js.stream_info(stream)).state.messages == 3
        assert await adapter.purge(stream) == 3
        assert (await js.stream_info(stream)).state.messages == 0
        with pytest.raises(NotFound):
            await adapter.purge(f"{unique('core')}.x")
        with pytest.raises(NotFound):
            await adapter.describe(unique("NOSUCH"))
        assert dict((await adapter.describe(f"{subject}.a")).summary)["stored by"] == stream


async def test_server_view_from_monitoring_and_from_the_client(nats_server: LocalNats) -> None:
    async with client_for(nats_server) as nc:
        await nc.subscribe(f"{unique('view')}.topic")
        await nc.flush()
        async with adapter_for(nats_server) as adapter:
            view = await adapter.describe_server()
            summary = dict(view.summary)
            assert summary["version"].startswith("2.") and summary["jetstream"] == "enabled"
            assert int(summary["connections"]) >= 2 and summary["slow consumers"] == "0"
            titles = [s.title.split(" (")[0] for s in view.sections]
            assert titles == ["Connections", "Subscriptions", "JetStream"]
            assert any(row[1] == "mqtui" for row in view.sections[0].rows)
        async with adapter_for(nats_server, monitor_url=None) as bare:
            summary = dict((await bare.describe_server()).summary)
            assert summary["jetstream"] == "enabled" and "monitor_url not set" in summary["monitoring"]
            assert summary["this client: slow consumer events"] == "0"
