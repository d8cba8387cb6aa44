"""Replay: "running it twice must not send a message twice where the broker allows that guarantee" (base.py).

SAFETY.md says per broker what that means: Kafka, NATS and Redis deduplicate, so a rerun sends nothing
again and every dead letter lands exactly once; RabbitMQ cannot, so a rerun may deliver a letter twice
but counts every such duplicate (delivered duplicates <= reported). `World.deduplicates` carries that.
None is ever lost.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from typing import Any

from mqtui.brokers import create_adapter
from mqtui.brokers.base import BrokerAdapter
from mqtui.model import ReplayResult
from tests.contract.worlds import DeadLetters, World


def assert_each_landed(world: World, letters: DeadLetters, landed: Counter[bytes], runs: list[ReplayResult]) -> None:
    assert set(landed) == set(letters.bodies), f"lost: {set(letters.bodies) - set(landed)}"
    extra = sum(count - 1 for count in landed.values())
    reported = sum(run.duplicates for run in runs)
    if world.deduplicates:
        assert (extra, reported) == (0, 0), runs
    else:
        assert extra <= reported, f"{extra} delivered twice, {reported} reported: {runs}"
    assert sum(run.failed for run in runs) == 0, runs


async def test_a_replay_run_twice_sends_each_dead_letter_once(adapter: BrokerAdapter[Any], world: World) -> None:
    letters = await world.dead_letters(5)
    first = await adapter.replay(letters.dlq)
    assert first.sent == 5, first
    again = await adapter.replay(letters.dlq)
    assert again.sent == 0, again
    assert_each_landed(world, letters, await world.held(letters.origin), [first, again])


async def test_a_replay_in_parts_then_once_more_sends_each_dead_letter_once(
    adapter: BrokerAdapter[Any], world: World
) -> None:
    """Stopped after a part (`limit`), run again for the rest, then once more: still one copy each."""
    letters = await world.dead_letters(6)
    part = await adapter.replay(letters.dlq, limit=2)
    assert part.sent == 2, part
    rest = await adapter.replay(letters.dlq)
    assert rest.sent == 4, rest
    again = await adapter.replay(letters.dlq)
    assert again.sent == 0, again
    assert_each_landed(world, letters, await world.held(letters.origin), [part, rest, again])


async def test_a_replay_cancelled_midway_then_run_again_sends_each_dead_letter_once(
    adapter: BrokerAdapter[Any],
    world: World,
) -> None:
    """Cancelled (as the console cancels a worker) once it reports progress, then run to the end on a
    new adapter: nothing lost, and nothing twice beyond what the broker cannot help and reports."""
    letters = await world.dead_letters(300)
    loop = asyncio.get_running_loop()
    task: asyncio.Task[ReplayResult] | None = None

    def progress(done: int, _total: int) -> None:
        if done and task is not None:
            loop.call_soon_threadsafe(task.cancel)

    task = asyncio.ensure_future(adapter.replay(letters.dlq, progress=progress))
    runs: list[ReplayResult] = []
    with contextlib.suppress(asyncio.CancelledError):
        runs.append(await task)
    await adapter.close()
    async with create_adapter(world.config()) as fresh:
        runs.append(await fresh.replay(letters.dlq))
        runs.append(await fresh.replay(letters.dlq))
    assert runs[-1].sent == 0, runs
    assert_each_landed(world, letters, await world.held(letters.origin), runs)
