"""Many JetStream requests in flight at once, their replies collected through one subscription.

nats-py's `request()` spends about 40 µs of Python per call (a token from `os.urandom`, a future, an
`asyncio.wait_for` and a done callback), and a replay makes three requests per dead letter: read it,
publish its copy, delete it. Here a window of requests is published back to back with reply subjects
under one inbox of our own, and the whole window's replies are awaited under one deadline (reading
5,000 DLQ entries: 0.26 s with `request()` 256 at a time, 0.17 s here).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from mqtui.brokers.nats.connection import JetStreamApiError, JetStreamDisabled, api_subject

#: A request: subject, payload, headers (or None).
Request = tuple[str, bytes, dict[str, str] | None]
_NO_RESPONDERS = "503"


class Window:
    """Requests sent together; `replies` fills in as they come, in the order the requests were made."""

    __slots__ = ("complete", "first", "remaining", "replies")

    def __init__(self, size: int, first: int, complete: asyncio.Future[None]) -> None:
        self.replies: list[Msg | None] = [None] * size
        self.remaining = size
        self.first = first
        self.complete = complete
        if not size:
            complete.set_result(None)


class Pipeline:
    """Sends windows of requests over one connection and collects each window's replies in order.

    Several windows may be in flight (a reader sends the next window before it parses the last one);
    a reply that comes after its window gave up waiting is dropped. nats-py renews the inbox
    subscription after a reconnect, like its own request inbox.
    """

    def __init__(self, nc: Client) -> None:
        self.nc = nc
        self.prefix = ""
        self.subscription: Subscription | None = None
        self.serial = 0
        self.slots: dict[str, tuple[Window, int]] = {}

    async def __aenter__(self) -> Pipeline:
        self.prefix = self.nc.new_inbox() + "."
        self.subscription = await self.nc.subscribe(self.prefix + "*", cb=self._on_reply)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self.subscription is not None:
            with contextlib.suppress(Exception):
                await self.subscription.unsubscribe()

    def api_request(self, subject: str, body: dict[str, Any]) -> Request:
        """A JetStream JSON API request (`connection.api_subject`) for `send` and `window`."""
        return api_subject(self.nc, subject), orjson.dumps(body), None

    async def send(self, requests: Sequence[Request]) -> Window:
        """Publish every request with a reply subject of this pipeline; collect the answers later."""
        window = Window(len(requests), self.serial + 1, asyncio.get_running_loop().create_future())
        publish, prefix, slots = self.nc.publish, self.prefix, self.slots
        for index, (subject, payload, headers) in enumerate(requests):
            self.serial += 1
            token = str(self.serial)
            slots[token] = (window, index)
            await publish(subject, payload, reply=prefix + token, headers=headers)
        return window

    async def collect(self, window: Window, timeout: float) -> list[Msg | None]:
        """Wait at most `timeout` for the window's replies (None where none came)."""
        await asyncio.wait((window.complete,), timeout=timeout)
        if window.remaining:  # give up on the rest: their late replies are dropped
            for serial in range(window.first, window.first + len(window.replies)):
                self.slots.pop(str(serial), None)
        return window.replies

    async def window(self, requests: Sequence[Request], timeout: float) -> list[Msg | None]:
        """Send every request, then wait at most `timeout` for their replies (None where none came)."""
        return await self.collect(await self.send(requests), timeout)

    async def _on_reply(self, msg: Msg) -> None:
        found = self.slots.pop(msg.subject[len(self.prefix) :], None)
        if found is None:  # a late reply to a window that gave up
            return
        window, index = found
        window.replies[index] = msg
        window.remaining -= 1
        if window.remaining == 0 and not window.complete.done():
            window.complete.set_result(None)


def api_answer(reply: Msg | None) -> dict[str, Any]:
    """A JetStream API reply as `connection.api_request` reads it: a dict, or the error it carries.

    No reply raises TimeoutError; a no-responders status raises JetStreamDisabled (for a publish: no
    stream stores the subject).
    """
    if reply is None:
        raise TimeoutError
    if reply.headers and reply.headers.get("Status") == _NO_RESPONDERS and not reply.data:
        raise JetStreamDisabled
    try:
        answer = orjson.loads(reply.data)
    except orjson.JSONDecodeError:
        raise JetStreamApiError(500, 0, "unreadable JetStream API answer") from None
    if not isinstance(answer, dict):
        raise JetStreamApiError(500, 0, "unreadable JetStream API answer")
    error = answer.get("error")
    if error:
        raise JetStreamApiError(
            int(error.get("code") or 0), int(error.get("err_code") or 0), str(error.get("description"))
        )
    return answer
