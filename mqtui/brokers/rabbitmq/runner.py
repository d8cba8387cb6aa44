"""Running blocking pika jobs for the RabbitMQ adapter, and giving up on a broker that stopped answering.

A job is a function of a fresh channel and a `Progress` it ticks after every round trip. It runs on the
adapter's worker thread (`AmqpSession`), or on a thread and connection of its own when `dedicated`
(requeue, delete), so a long requeue does not hold up a publish. A job that goes the profile's timeout
without a step is abandoned with BrokerUnavailable: its thread and connections are left to die, and
the next job starts afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any, TypeVar

from pika.adapters.blocking_connection import BlockingChannel

from mqtui.brokers.rabbitmq.amqp import AmqpSession, Cancelled, Endpoint, Progress
from mqtui.errors import BrokerUnavailable

T = TypeVar("T")

#: A blocking job: what it does with a fresh channel, ticking the progress after every round trip.
Job = Callable[[BlockingChannel, Progress], T]


def _seen(outcome: asyncio.Future[Any]) -> None:
    """Mark a job's outcome as retrieved. A job given up on (the broker hung) still ends later with
    Cancelled() or the connection's error; unread, asyncio logs it with its traceback when the future
    is collected, from whatever thread collects it ("Future exception was never retrieved")."""
    if not outcome.cancelled():
        outcome.exception()


class AmqpRunner:
    """The AMQP side of one adapter: its shared session, and the jobs run on it or beside it."""

    def __init__(self, endpoint: Endpoint, timeout: float) -> None:
        self.endpoint = endpoint
        self.name = endpoint.broker
        self.timeout = timeout
        self._session: AmqpSession | None = None
        self._closed = False

    def _control(self) -> AmqpSession:
        if self._closed:
            raise BrokerUnavailable(f"{self.name}: the connection was closed")
        if self._session is None or self._session.abandoned:
            self._session = AmqpSession(self.endpoint)
        return self._session

    async def close(self) -> None:
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            closing = session.worker.submit(session.close_all)
            session.worker.stop()
            with contextlib.suppress(Exception):  # a dead broker cannot refuse a close
                await asyncio.wait_for(asyncio.wrap_future(closing), timeout=2.0)

    async def run(self, vhost: str, job: Job[T], *, dedicated: bool = False, patience: float | None = None) -> T:
        """Run `job` with a fresh channel on the worker thread, watching that it keeps making progress.

        The broker is called unresponsive when the job goes `patience` seconds (default: the profile's
        timeout) without a step.
        """
        session = AmqpSession(self.endpoint) if dedicated else self._control()
        progress = Progress()
        future = session.worker.submit(lambda: session.run(vhost, lambda channel: job(channel, progress), progress))
        waiter = asyncio.wrap_future(future)
        waiter.add_done_callback(_seen)  # an abandoned job's Cancelled() must not be logged when collected
        limit = (patience or self.timeout) + 1.0
        try:
            while True:
                done, _ = await asyncio.wait({waiter}, timeout=0.2)
                if done:
                    try:
                        return waiter.result()
                    except Cancelled:
                        raise BrokerUnavailable(f"{self.name}: the operation was abandoned") from None
                if not progress.started:
                    if session.abandoned:
                        raise BrokerUnavailable(f"{self.name}: no answer from RabbitMQ within {self.timeout:g}s")
                    continue
                if time.monotonic() - progress.last > limit:
                    progress.cancel()
                    session.abandoned = True
                    session.worker.stop()  # the thread ends once its stuck call returns or fails
                    if self._session is session:
                        self._session = None
                    raise BrokerUnavailable(f"{self.name}: no answer from RabbitMQ within {limit - 1:g}s")
        except asyncio.CancelledError:
            progress.cancel()
            raise
        finally:
            if dedicated:
                session.worker.submit(session.close_all)
                session.worker.stop()
