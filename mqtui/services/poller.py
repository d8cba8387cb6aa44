"""One background poller per broker: connect, poll, hand over a snapshot, repeat; back off when down.

Polls never overlap: the next one is armed when the previous one ends, so a slow broker is asked less
often instead of piling up requests. Each request is bounded by the broker's timeout, and a broker that
fails is closed and reconnected with a fresh adapter after an exponential backoff, so one that comes
back is picked up without anyone pressing a key. Pollers share nothing: one broker hanging never
delays another.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from mqtui.brokers import AdapterFactory, create_adapter
from mqtui.brokers.base import BrokerAdapter
from mqtui.config import BrokerConfig
from mqtui.errors import BrokerUnavailable, MqtuiError, Unsupported
from mqtui.secrets import scrub
from mqtui.services.history import LagHistory, RateHistory
from mqtui.services.snapshot import (
    PART_DESTINATIONS,
    PART_DLQS,
    PART_LAG,
    PART_RETRIES,
    BrokerSnapshot,
    BrokerStatus,
    KeptPart,
    group_backlog,
)

log = logging.getLogger("mqtui.poller")
T = TypeVar("T")
SnapshotListener = Callable[[BrokerSnapshot], None]

MAX_BACKOFF = 30.0


def error_line(broker: str, exc: BaseException) -> str:
    """One line for the status bar: scrubbed, naming the broker, never a traceback."""
    if isinstance(exc, MqtuiError):
        text = str(exc)
    elif isinstance(exc, TimeoutError):
        text = "no answer in time"
    else:
        text = f"{type(exc).__name__}: {exc}"
    text = " ".join(scrub(text).split()) or type(exc).__name__
    return text if text.startswith(broker) else f"{broker}: {text}"


def notice_lines(adapter: BrokerAdapter) -> tuple[str, ...]:
    """The adapter's notices after a poll, each one scrubbed line (they may quote what the broker said)."""
    return tuple(" ".join(scrub(notice).split()) for notice in adapter.notices)


def backoff_delay(failures: int, interval: float, cap: float = MAX_BACKOFF) -> float:
    """1x, 2x, 4x ... the poll interval (at least one second), capped."""
    if failures <= 0:
        return interval
    return min(cap, max(interval, 1.0) * 2 ** (failures - 1))


async def wait_for_event(event: asyncio.Event, timeout: float) -> None:
    """Until `event` is set or `timeout` passes; unlike `asyncio.wait_for` on 3.11, a cancellation
    arriving as the timeout ends is never lost (the backend could not stop a poller then)."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({waiter}, timeout=timeout)
    finally:
        waiter.cancel()


class PartTimedOut(BrokerUnavailable):
    """One read of a poll got no answer in time. When other reads of the same poll answered, the
    connection works: the adapter stays open (a fresh one would lose its caches, such as Kafka's
    time-lag timestamps, and so be slower to answer the next poll too)."""


async def bounded(awaitable: Awaitable[T], config: BrokerConfig, what: str) -> T:
    """An adapter call limited to the broker's timeout (plus a second for the adapter's own)."""
    try:
        return await asyncio.wait_for(awaitable, timeout=config.timeout + 1)
    except TimeoutError:
        raise PartTimedOut(f"{config.name}: {what}: no answer within {config.timeout:g}s") from None


#: The parts of a poll, in the order `poll_once` gathers them, with what `bounded` calls each read.
PARTS = (
    (PART_DESTINATIONS, "destinations"),
    (PART_LAG, "backlog"),
    (PART_DLQS, "dead-letter queues"),
    (PART_RETRIES, "retry schedules"),
)


def kept_parts(previous: BrokerSnapshot, results: list[object], broker: str) -> tuple[KeptPart, ...]:
    """The parts this poll failed to read (their rows stay from `previous`), each with since when the
    rows kept are old: the time of the poll that last read them, carried on while reads keep failing."""
    kept = []
    for (part, what), result in zip(PARTS, results, strict=True):
        if not isinstance(result, Exception) or isinstance(result, Unsupported):
            continue
        before = previous.kept_part(part)
        reason = error_line(broker, result).removeprefix(f"{broker}: ").removeprefix(f"{what}: ")
        kept.append(KeptPart(part, before.since if before else previous.polled_at, reason))
    return tuple(kept)


async def close_quietly(adapter: BrokerAdapter, config: BrokerConfig) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(adapter.close(), timeout=config.timeout + 1)


class BrokerPoller:
    """Polls one broker until cancelled; every result goes to `listener` as a new snapshot."""

    def __init__(
        self,
        config: BrokerConfig,
        *,
        interval: float,
        listener: SnapshotListener,
        history: LagHistory | None = None,
        rates: RateHistory | None = None,
        adapter_factory: AdapterFactory = create_adapter,
        max_backoff: float = MAX_BACKOFF,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.interval = interval
        self.listener = listener
        # Not `history or ...`: an empty history has len 0, and the backend's shared one starts empty.
        self.history = history if history is not None else LagHistory()
        self.rates = rates if rates is not None else RateHistory()
        self.adapter_factory = adapter_factory
        self.max_backoff = max_backoff
        self.wall_clock = wall_clock
        self.clock = clock
        """Seconds for rates and trends (tests step it to get exact rates from a real broker)."""
        self.latest = BrokerSnapshot(name=config.name, kind=config.kind)
        self.polls = 0
        """Completed poll cycles (successful or not): lets tests wait for "the next poll"."""
        self._adapter: BrokerAdapter | None = None
        self.task: asyncio.Task[None] | None = None
        """The task running `run()` (the backend cancels it to stop polling)."""
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Poll now instead of at the end of the current wait (the console's refresh key)."""
        self._wake.set()

    async def run(self) -> None:
        self.task = asyncio.current_task()
        try:
            while True:
                delay = await self.poll_once()
                await self._sleep(delay)
        finally:
            if self._adapter is not None:
                await close_quietly(self._adapter, self.config)
                self._adapter = None

    async def _sleep(self, delay: float) -> None:
        self._wake.clear()
        await wait_for_event(self._wake, delay)

    def _publish(self, snapshot: BrokerSnapshot) -> None:
        self.latest = snapshot
        try:
            self.listener(snapshot)
        except Exception:  # a listener bug must not end polling
            log.exception("snapshot listener failed for %s", self.config.name)

    async def poll_once(self) -> float:
        """One cycle: (re)connect if needed, fetch everything, publish; returns the wait before the next."""
        try:
            adapter = await self._ensure_adapter()
        except Exception as exc:
            return await self._failed(exc)
        results = await asyncio.gather(
            bounded(adapter.destinations(), self.config, "destinations"),
            bounded(adapter.backlog(), self.config, "backlog"),
            bounded(adapter.dead_letter_queues(), self.config, "dead-letter queues"),
            bounded(adapter.retry_schedules(), self.config, "retry schedules"),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, Exception):
                raise result  # cancellation, KeyboardInterrupt
        errors = [r for r in results if isinstance(r, Exception) and not isinstance(r, Unsupported)]
        if len(errors) == len(results):
            return await self._failed(errors[0])
        destinations, backlog, dlqs = _answer(results[0]), _answer(results[1]), _answer(results[2])
        retries = _answer(results[3])
        previous = self.latest
        now = self.clock()
        known = destinations if destinations is not None else previous.destinations
        if backlog is not None:
            rates = {d.name: d.rate_out for d in known if d.rate_out is not None}
            appended = {d.name: d.appended for d in known if d.appended is not None}
            groups = group_backlog(backlog, rates, appended)
            lag = tuple(self.history.observe(self.config.name, groups, now))
        else:  # kept from an earlier poll: the history gets a gap (trend unknown), not a repeat
            lag = tuple(self.history.gap(self.config.name, previous.lag, now))
        floors = previous.rate_floors
        if destinations is not None:
            rated, floors = self.rates.observe(self.config.name, destinations, lag, now)
            destinations = tuple(rated)
        failures = previous.failures + 1 if errors else 0
        snapshot = replace(
            previous,
            status=BrokerStatus.DEGRADED if errors else BrokerStatus.CONNECTED,
            error=error_line(self.config.name, errors[0]) if errors else None,
            destinations=previous.destinations if destinations is None else destinations,
            rate_floors=floors,
            backlog=previous.backlog if backlog is None else backlog,
            lag=lag,
            dlqs=previous.dlqs if dlqs is None else dlqs,
            retries=previous.retries if retries is None else retries,
            notices=notice_lines(adapter),
            polled_at=self.wall_clock(),
            next_retry_at=None,
            failures=failures,
            kept=kept_parts(previous, list(results), self.config.name),
        )
        if any(not _is_answer(e) and not isinstance(e, PartTimedOut) for e in errors):
            await self.close()  # the next poll reconnects with a fresh adapter
        self.polls += 1
        self._publish(snapshot)
        return backoff_delay(failures, self.interval, self.max_backoff)

    async def _ensure_adapter(self) -> BrokerAdapter:
        if self._adapter is not None:
            return self._adapter
        # Creating an adapter imports its client library: do it off the event loop.
        adapter = await asyncio.to_thread(self.adapter_factory, self.config)
        if not self.latest.capabilities:
            self.latest = replace(self.latest, capabilities=adapter.capabilities, replay_verb=adapter.replay_verb)
            if self.latest.status is BrokerStatus.CONNECTING:
                self._publish(self.latest)
        try:
            await asyncio.wait_for(adapter.connect(), timeout=self.config.timeout + 1)
        except Exception as exc:
            await close_quietly(adapter, self.config)
            if isinstance(exc, TimeoutError):
                raise BrokerUnavailable(f"{self.config.name}: no answer within {self.config.timeout:g}s") from None
            raise
        self._adapter = adapter
        return adapter

    async def close(self) -> None:
        """Close the adapter, if one is open; the next poll connects afresh."""
        adapter, self._adapter = self._adapter, None
        if adapter is not None:
            await close_quietly(adapter, self.config)

    async def _failed(self, exc: Exception) -> float:
        """Nothing answered: show the broker unreachable, drop the adapter, retry after a backoff."""
        await self.close()
        failures = self.latest.failures + 1
        delay = backoff_delay(failures, self.interval, self.max_backoff)
        self.polls += 1
        error = error_line(self.config.name, exc)
        log.warning("%s (retry in %.0fs)", error, delay, exc_info=None if isinstance(exc, MqtuiError) else exc)
        # Its rows stay (dimmed, "as of ..."), but its history gets a gap for this poll, not a repeat.
        lag = tuple(self.history.gap(self.config.name, self.latest.lag, self.clock()))
        self._publish(
            replace(
                self.latest,
                status=BrokerStatus.UNREACHABLE,
                lag=lag,
                error=error,
                failures=failures,
                next_retry_at=self.wall_clock() + timedelta(seconds=delay),
            )
        )
        return delay


def _answer(result: Iterable[T] | BaseException) -> tuple[T, ...] | None:
    """A fetch's records, () for what the broker cannot do, None for a failure (keep the old data)."""
    if isinstance(result, Unsupported):
        return ()
    if isinstance(result, BaseException):
        return None
    return tuple(result)


def _is_answer(exc: BaseException) -> bool:
    """The broker answered (with a refusal); anything else means the connection may be gone."""
    return isinstance(exc, MqtuiError) and not isinstance(exc, BrokerUnavailable)
