"""Time lag of JetStream consumers against the real nats-server: the stored time of the stream message at
the consumer's ack floor + 1 (the first its filter takes), as the stream itself reports it."""

from __future__ import annotations

import asyncio
from datetime import datetime

from nats.js.api import ConsumerConfig

from mqtui.demo.localbrokers import LocalNats
from tests.nats.support import adapter_for, client_for, unique


def _close(found: datetime | None, truth: datetime | None) -> bool:
    return found is not None and truth is not None and abs((found - truth).total_seconds()) < 1


async def test_time_lag_is_the_stored_time_of_the_message_after_the_ack_floor(nats_server: LocalNats) -> None:
    stream, subject = unique("TL"), unique("tl")
    async with client_for(nats_server) as nc, adapter_for(nats_server) as adapter:
        js = nc.jetstream()
        await js.add_stream(name=stream, subjects=[f"{subject}.>"])
        for i in range(4):
            await js.publish(f"{subject}.old", f"m{i}".encode())  # seqs 1-4
        await asyncio.sleep(1.2)  # the second batch is stored more than a second later
        for i in range(4, 8):
            await js.publish(f"{subject}.new", f"m{i}".encode())  # seqs 5-8
        times = {seq: (await js.get_msg(stream, seq)).time for seq in range(1, 9)}

        behind = await js.pull_subscribe(f"{subject}.>", durable="behind", stream=stream,
                                         config=ConsumerConfig(ack_wait=60))  # fmt: skip
        for msg in await behind.fetch(2, timeout=5):
            await msg.ack_sync()  # acked 1-2: message 3 waits
        pending = await js.pull_subscribe(f"{subject}.>", durable="pending", stream=stream,
                                          config=ConsumerConfig(ack_wait=60))  # fmt: skip
        fetched = await pending.fetch(6, timeout=5)
        for msg in fetched[:4] + fetched[5:]:
            await msg.ack_sync()  # 5 delivered, not acked: the ack floor stays at 4
        # nothing read, but its filter takes only the second batch: its first message is 5, not 1
        await js.add_consumer(stream, ConsumerConfig(durable_name="filtered", filter_subject=f"{subject}.new"))
        done = await js.pull_subscribe(f"{subject}.>", durable="done", stream=stream)
        for msg in await done.fetch(8, timeout=5):
            await msg.ack_sync()

        rows = {r.group: r for r in await adapter.backlog() if r.destination == stream}
        assert (rows["behind"].lag, rows["behind"].in_flight) == (6, 0)
        assert _close(rows["behind"].oldest_waiting_at, times[3])
        assert (rows["pending"].lag, rows["pending"].in_flight) == (2, 1)
        assert _close(rows["pending"].oldest_waiting_at, times[5])
        assert rows["filtered"].lag == 4 and _close(rows["filtered"].oldest_waiting_at, times[5])
        assert (rows["done"].lag, rows["done"].in_flight, rows["done"].oldest_waiting_at) == (0, 0, None)
        assert all(r.time_lag_unknown is None for r in rows.values())

        # The message after the ack floor was deleted: the next one the stream still has.
        await js.delete_msg(stream, 3)
        await js.delete_msg(stream, 4)
        behind_row = (await adapter.backlog(group=f"{stream}/behind"))[0]
        assert _close(behind_row.oldest_waiting_at, times[5])
