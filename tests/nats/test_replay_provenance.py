"""Replay provenance on NATS, as on every broker: a replayed copy says where it came from
(`mqtui-replayed-from: <dlq>/<seq>`, `mqtui-replayed-at`), and the application's own Nats-Msg-Id, which
the replay's id replaces for the server's dedup, is kept as `mqtui-original-msg-id`."""

from __future__ import annotations

from datetime import datetime

from mqtui.brokers.nats.dlq import REPLAY_ID_PREFIX
from mqtui.demo.localbrokers import LocalNats
from tests.nats.support import adapter_for, client_for, read_all, unique


async def test_a_replayed_copy_keeps_the_original_id_and_names_its_dead_letter(nats_server: LocalNats) -> None:
    origin, subject = unique("PV"), unique("pv")
    dlq = f"{origin}_DLQ"
    async with client_for(nats_server) as nc, adapter_for(nats_server) as adapter:
        js = nc.jetstream()
        await js.add_stream(name=origin, subjects=[f"{subject}.>"])
        await js.add_stream(name=dlq, subjects=[f"{subject}dlq"])
        await js.publish(f"{subject}dlq", b"order-42", headers={"Original-Subject": f"{subject}.orders",
                                                                 "Nats-Msg-Id": "order-42", "tenant": "eu"})  # fmt: skip
        await js.publish(f"{subject}dlq", b"no-own-id", headers={"Original-Subject": f"{subject}.orders"})

        result = await adapter.replay(dlq)
        assert (result.sent, result.failed) == (2, 0)
        copies = {m.value: dict(m.headers) for m in await read_all(adapter, origin)}

    first, second = copies[b"order-42"], copies[b"no-own-id"]
    assert first["mqtui-original-msg-id"] == b"order-42" and "mqtui-original-msg-id" not in second
    assert (first["mqtui-replayed-from"], second["mqtui-replayed-from"]) == (f"{dlq}/1".encode(), f"{dlq}/2".encode())
    assert first["Nats-Msg-Id"].decode().startswith(REPLAY_ID_PREFIX) and first["tenant"] == b"eu"
    assert datetime.fromisoformat(first["mqtui-replayed-at"].decode().replace("Z", "+00:00")).tzinfo is not None
