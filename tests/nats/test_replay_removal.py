"""How a replay removes what it replayed from a JetStream DLQ (whole windows by purge while everything
before them was replayed, one by one after a dead letter that stays, never an entry it did not send),
and how the pipelined DLQ reader keeps gaps and limits exact."""

from __future__ import annotations

import asyncio

from nats.js.api import StreamConfig

from mqtui.brokers.nats.replay import WINDOW
from mqtui.demo.localbrokers import LocalNats
from tests.nats.support import adapter_for, client_for, read_all, unique


async def _republish(js, dlq_subject: str, origins: list[str]) -> None:  # type: ignore[no-untyped-def]
    """One dead letter per origin subject in this order, "dead-N" for the N-th (its DLQ sequence)."""
    for begin in range(0, len(origins), 100):
        await asyncio.gather(*(js.publish(dlq_subject, b"dead-%d" % n, headers={"Original-Subject": origins[n - 1]})
                               for n in range(begin + 1, min(begin + 100, len(origins)) + 1)))  # fmt: skip


async def test_a_dead_letter_that_stays_stops_the_purge_and_nothing_else_is_kept(nats_server: LocalNats) -> None:
    origin, subject = unique("RW"), unique("rw")
    dlq, total, stays = f"{origin}_DLQ", 3 * WINDOW + 10, WINDOW + 20  # past the first window, inside the second
    async with client_for(nats_server) as nc, adapter_for(nats_server) as adapter:
        js = nc.jetstream()
        await js.add_stream(name=origin, subjects=[f"{subject}.>"])
        await js.add_stream(name=dlq, subjects=[f"{subject}dlq"])
        origins = [f"{subject}.orders"] * total
        origins[stays - 1] = f"{unique('nowhere')}.orders"  # no stream stores it: skipped, must stay
        await _republish(js, f"{subject}dlq", origins)
        assert (await js.stream_info(dlq)).state.messages == total

        result = await adapter.replay(dlq)
        assert (result.sent, result.skipped, result.failed, result.errors) == (total - 1, 1, 0, ())
        assert [letter.id for letter in await adapter.dead_letters(dlq)] == [str(stays)]
        copies = [m.value for m in await read_all(adapter, origin)]
        assert sorted(copies) == sorted(b"dead-%d" % n for n in range(1, total + 1) if n != stays)

        again = await adapter.replay(dlq)  # the one that stays is still skipped, and still there
        assert (again.sent, again.skipped, again.failed) == (0, 1, 0)
        assert [letter.id for letter in await adapter.dead_letters(dlq)] == [str(stays)]


async def test_picked_ids_remove_only_those(nats_server: LocalNats) -> None:
    origin, subject = unique("RP"), unique("rp")
    dlq = f"{origin}_DLQ"
    async with client_for(nats_server) as nc, adapter_for(nats_server) as adapter:
        js = nc.jetstream()
        await js.add_stream(name=origin, subjects=[f"{subject}.>"])
        await js.add_stream(name=dlq, subjects=[f"{subject}dlq"])
        await _republish(js, f"{subject}dlq", [f"{subject}.orders"] * 10)
        result = await adapter.replay(dlq, ids=["1", "2", "5"])
        assert (result.sent, result.skipped, result.failed) == (3, 0, 0)
        assert [letter.id for letter in await adapter.dead_letters(dlq)] == ["3", "4", "6", "7", "8", "9", "10"]
        assert sorted(m.value for m in await read_all(adapter, origin)) == [b"dead-1", b"dead-2", b"dead-5"]


async def test_a_dlq_that_denies_purges_is_emptied_one_by_one(nats_server: LocalNats) -> None:
    origin, subject = unique("RD"), unique("rd")
    dlq, total = f"{origin}_DLQ", 2 * WINDOW + 5
    async with client_for(nats_server) as nc, adapter_for(nats_server) as adapter:
        js = nc.jetstream()
        await js.add_stream(name=origin, subjects=[f"{subject}.>"])
        await js.add_stream(StreamConfig(name=dlq, subjects=[f"{subject}dlq"], deny_purge=True))
        await _republish(js, f"{subject}dlq", [f"{subject}.orders"] * total)
        result = await adapter.replay(dlq)
        assert (result.sent, result.skipped, result.failed, result.errors) == (total, 0, 0, ())
        assert (await js.stream_info(dlq)).state.messages == 0
        assert len(await read_all(adapter, origin)) == total


async def test_a_read_across_deleted_entries_stops_at_its_limit(nats_server: LocalNats) -> None:
    """The DLQ reader sends its next window before it parses the last one: gaps and limits stay exact."""
    origin, subject = unique("RR"), unique("rr")
    dlq, total = f"{origin}_DLQ", 700
    async with client_for(nats_server) as nc, adapter_for(nats_server) as adapter:
        js = nc.jetstream()
        await js.add_stream(name=origin, subjects=[f"{subject}.>"])
        await js.add_stream(name=dlq, subjects=[f"{subject}dlq"])
        await _republish(js, f"{subject}dlq", [f"{subject}.orders"] * total)
        deleted = set(range(5, 400, 3))  # gaps all through the first windows
        assert await adapter.delete_dead_letters(dlq, [str(n) for n in sorted(deleted)]) == len(deleted)
        kept = [n for n in range(1, total + 1) if n not in deleted]
        for limit in (1, 63, 300, 10_000):
            letters = await adapter.dead_letters(dlq, limit=limit)
            assert [int(letter.id) for letter in letters] == kept[:limit]
            assert [letter.message.value for letter in letters] == [b"dead-%d" % n for n in kept[:limit]]
