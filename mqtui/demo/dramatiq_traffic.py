"""Demo traffic for Dramatiq on the demo's Redis, through Dramatiq's own broker and worker (the `jobs` extra).

The actor `send_receipt` on the queue `receipts` gets a message about every 1.5 s and a Dramatiq Worker
(one thread, in this process) runs them. One receipt in five fails its first run with `max_retries=0`,
so Dramatiq dead-letters it into `dramatiq:receipts.XQ`, where the Dead letters pane shows it with the
exception its Results middleware stored; a requeue
from mqtui puts it back and the worker sends it the second time. Without dramatiq the demo simply has no
Dramatiq queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

QUEUE = "receipts"
#: Seconds between two new messages; the queue is not fed past this many waiting.
INTERVAL, WAIT_CAP = 1.5, 50


async def _stopped(stop: asyncio.Event, seconds: float) -> bool:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    return stop.is_set()


def _start(url: str) -> tuple[Any, Any, Any]:
    """A RedisBroker, the failing-once actor on it and a started one-thread Worker (dramatiq is blocking)."""
    import dramatiq
    from dramatiq.brokers.redis import RedisBroker
    from dramatiq.results import Results
    from dramatiq.results.backends import RedisBackend

    logging.getLogger("dramatiq").setLevel(logging.CRITICAL)  # its failures are the demo, not news
    broker = RedisBroker(url=url)
    broker.add_middleware(Results(backend=RedisBackend(url=url)))  # keeps the exception, which mqtui shows
    failed_once: set[int] = set()

    def send_receipt(order: int, email: str) -> None:
        if order % 5 == 0 and order not in failed_once:
            failed_once.add(order)
            raise TimeoutError(f"payment provider did not answer for order {order} ({email})")

    actor = dramatiq.actor(broker=broker, queue_name=QUEUE, max_retries=0, store_results=True)(send_receipt)
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=500)
    worker.start()
    return broker, actor, worker


def _stop(broker: Any, worker: Any) -> None:
    with contextlib.suppress(Exception):
        worker.stop(timeout=2000)
    with contextlib.suppress(Exception):
        broker.close()


async def run(url: str, stop: asyncio.Event) -> None:
    """Send and work `receipts` messages until `stop` is set."""
    try:
        import dramatiq  # noqa: F401  # only to know whether the extra is installed
    except ImportError:
        return
    broker, actor, worker = await asyncio.to_thread(_start, url)
    try:
        order = 0
        while not await _stopped(stop, INTERVAL):
            order += 1
            if await asyncio.to_thread(broker.client.llen, f"dramatiq:{QUEUE}") >= WAIT_CAP:
                continue
            await asyncio.to_thread(actor.send, order, f"user{order % 97}@example.com")
    finally:
        await asyncio.to_thread(_stop, broker, worker)
