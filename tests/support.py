"""Waiting for a state, the one way every test does it.

A test that needs the broker or the console to reach a state polls a probe until it answers something
truthy, and fails with a message naming what it waited for; it never sleeps a fixed time and hopes.

- `wait_for(probe, what=..., timeout=...)` polls a plain function, blocking (from sync tests or a thread).
- `await until(probe, what=..., timeout=...)` polls from a coroutine; the probe may be a plain function
  or return an awaitable (an `async def` or a lambda around one), and the loop keeps running between polls.

Both return the probe's truthy answer, so a wait doubles as a read: `row = await until(settled, what=...)`.
`what` and `timeout` are keyword-only so that no caller can swap them. `ignoring` names exceptions that
mean "not yet" (a broker still restarting refuses connections); any other exception fails at once.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar, overload

T = TypeVar("T")

#: How long a wait lasts unless a caller says otherwise: long enough for a loaded 2-core CI machine.
TIMEOUT = 20.0
#: Seconds between polls: short enough to keep tests quick, long enough not to load a broker's API.
INTERVAL = 0.05


class _NotYet:
    """What a poll answered when it raised one of the ignored exceptions, for the timeout message."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def __repr__(self) -> str:
        return f"raised {self.error!r}"


def _timed_out(what: str, timeout: float, last: object) -> AssertionError:
    return AssertionError(f"timed out after {timeout:g}s waiting for {what} (last answer: {last!r})")


def wait_for(
    probe: Callable[[], T],
    *,
    what: str,
    timeout: float = TIMEOUT,
    interval: float = INTERVAL,
    ignoring: tuple[type[BaseException], ...] = (),
) -> T:
    """Call `probe` until it answers something truthy, and return that answer.

    Raises AssertionError naming `what` (and the last answer) once `timeout` seconds have passed.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            answer = probe()
        except ignoring as error:
            last = _NotYet(error)
        else:
            if answer:
                return answer
            last = answer
        if time.monotonic() >= deadline:
            raise _timed_out(what, timeout, last)
        time.sleep(interval)


@overload
async def until(
    probe: Callable[[], Awaitable[T]],
    *,
    what: str,
    timeout: float = ...,
    interval: float = ...,
    ignoring: tuple[type[BaseException], ...] = ...,
) -> T: ...


@overload
async def until(
    probe: Callable[[], T],
    *,
    what: str,
    timeout: float = ...,
    interval: float = ...,
    ignoring: tuple[type[BaseException], ...] = ...,
) -> T: ...


async def until(
    probe: Callable[[], T | Awaitable[T]],
    *,
    what: str,
    timeout: float = TIMEOUT,
    interval: float = INTERVAL,
    ignoring: tuple[type[BaseException], ...] = (),
) -> T:
    """`wait_for` from a coroutine: the probe may return an awaitable, which is awaited each poll.

    Between polls the event loop runs (the app, the adapter's tasks), so a probe reading their state
    sees it move. A plain probe must be quick: it runs on the loop.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            answer = probe()
            if inspect.isawaitable(answer):
                answer = await answer
        except ignoring as error:
            last = _NotYet(error)
        else:
            if answer:
                return answer
            last = answer
        if time.monotonic() >= deadline:
            raise _timed_out(what, timeout, last)
        await asyncio.sleep(interval)
