"""Demo traffic for BullMQ on the demo's Redis, through BullMQ's own Python port (the `jobs` extra).

The queue `emails` gets a `send` job about every second and a port Worker named `mailer` sends them
(0.3 s each). One job in six bounces: its first run raises an SMTP error and, with `attempts: 1`, BullMQ
moves it to its failed set (kept to the newest 30), where the Dead letters pane shows it; a retry from
mqtui puts it back and the worker sends it the second time. Without the port the demo simply has no
BullMQ queue: the demo cannot assume Node or the extra.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

QUEUE = "emails"
WAIT_CAP, FAILED_KEPT = 50, 30
#: Seconds between two new jobs.
INTERVAL = 1.0


async def _stopped(stop: asyncio.Event, seconds: float) -> bool:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    return stop.is_set()


async def run(url: str, stop: asyncio.Event) -> None:
    """Produce and work `emails` jobs until `stop` is set."""
    try:
        import bullmq  # type: ignore[import-untyped]  # the port ships no types
    except ImportError:
        return
    bounced: set[str] = set()

    async def send(job: Any, token: str) -> dict[str, bool]:
        if job.data.get("bounce") and job.id not in bounced:
            bounced.add(job.id)
            raise ConnectionError(f"SMTP 451 4.7.1 from {job.data['to']}: greylisted, try again later")
        await asyncio.sleep(0.3)
        return {"sent": True}

    queue = bullmq.Queue(QUEUE, {"connection": url})
    worker = bullmq.Worker(QUEUE, send, {"connection": url, "name": "mailer"})
    try:
        number = 0
        while not await _stopped(stop, INTERVAL):
            number += 1
            if (await queue.getJobCounts("wait"))["wait"] >= WAIT_CAP:
                continue
            data = {"to": f"user{number % 97}@example.com", "template": "welcome", "bounce": number % 6 == 0}
            await queue.add("send", data, {"attempts": 1, "removeOnComplete": 200, "removeOnFail": FAILED_KEPT})
    finally:
        with contextlib.suppress(Exception):
            await worker.close(force=True)
        with contextlib.suppress(Exception):
            await queue.close()
