"""The search service on a real Redis: progress per batch, a cancel that ends in a coverage saying so,
decoded values judged (MessagePack), and a limit over a range whose size is not known in advance."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import msgpack
import redis

from mqtui.commands.decoding import decode_messages
from mqtui.config import Profile
from mqtui.model import Message, StartPosition
from mqtui.services.decoding import decoder_for
from mqtui.services.search.coverage import SearchProgress
from mqtui.services.search.expression import compile_expression
from mqtui.services.search.service import SearchRequest, plan, run_search
from tests.redis.conftest import adapter_for, config


async def test_progress_then_a_cancel_is_stated(redis_url: str, raw: redis.Redis) -> None:
    pipe = raw.pipeline()
    for n in range(3500):
        pipe.xadd("big", {"data": f'{{"n": {n}}}'})
    pipe.execute()
    cancel = threading.Event()
    progress: list[SearchProgress] = []
    found: list[Message] = []

    def on_progress(step: SearchProgress) -> None:
        progress.append(step)
        cancel.set()  # the console's Cancel key, pressed once the first batch is in

    async with adapter_for(redis_url) as adapter:
        request = SearchRequest("big", compile_expression(".value.n % 1000 == 0"))
        coverage = await run_search(adapter, request, await plan(adapter, request),
                                    on_matches=found.extend, on_progress=on_progress, cancel=cancel)  # fmt: skip
    assert progress[0] == SearchProgress(1000, 3500, 1)
    assert [m.position for m in found] == [found[0].position] and found[0].value == b'{"n": 0}'
    assert (coverage.scanned, coverage.matched, coverage.complete) == (1000, 1, False)
    assert coverage.line == ("scanned 1,000 of 3,500 messages in big (everything it held), 1 matched; "
                             "cancelled (2,500 not searched)")  # fmt: skip


async def test_decoded_values_are_judged_and_an_unknown_total_is_said(redis_url: str, raw: redis.Redis) -> None:
    for n in range(5):
        raw.xadd("packed", {"data": msgpack.packb({"order_id": 4711 if n in (1, 3) else n})}, id=f"{n + 1}-0")
    decoder = decoder_for(Profile(), config(redis_url))

    async def prepare(batch: Sequence[Message]) -> Sequence[Message]:
        return await decode_messages(decoder, batch)

    async with adapter_for(redis_url) as adapter:
        request = SearchRequest("packed", compile_expression(".value.order_id == 4711"),
                                start=StartPosition("offset", offset="2-0"), limit=1)  # fmt: skip
        found: list[Message] = []
        coverage = await run_search(adapter, request, await plan(adapter, request), on_matches=found.extend,
                                    prepare=prepare)  # fmt: skip
    assert [m.position for m in found] == ["2-0"]
    assert coverage.line == ("scanned 1 of an unknown number of messages in packed from position 2-0 to the end, "
                             "1 matched; stopped at the limit of 1 match")  # fmt: skip
