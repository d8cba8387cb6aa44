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

from mqtui.brokers.nats_conn import JetStreamApiError, JetStreamDisabled

#: A request: subject, payload, headers (or None).
Request = tuple[str, bytes, dict[str, str] | None]
_NO_RESPONDERS = "503"


class Pipeline:
    """Sends windows of requests over one connection and returns each window's replies in order.

    One window at a time: a reply that comes after its window gave up waiting is dropped. nats-py
    renews the inbox subscription after a reconnect, like its own request inbox.
    """

    def __init__(self, nc: Client) -> None:
        self.nc = nc
        self.prefix = ""
        self.subscription: Subscription | None = None
        self.serial = 0
        self.slots: dict[str, int] = {}
        self.replies: list[Msg | None] = []
        self.remaining = 0
        self.complete: asyncio.Future[None] | None = None

    async def __aenter__(self) -> Pipeline:
        self.prefix = self.nc.new_inbox() + "."
        self.subscription = await self.nc.subscribe(self.prefix + "*", cb=self._on_reply)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self.subscription is not None:
            with contextlib.suppress(Exception):
                await self.subscription.unsubscribe()

    async def window(self, requests: Sequence[Request], timeout: float) -> list[Msg | None]:
        """Send every request, then wait at most `timeout` for their replies (None where none came)."""
        self.replies = [None] * len(requests)
        if not requests:
            return []
        self.slots = {}
        self.remaining = len(requests)
        self.complete = complete = asyncio.get_running_loop().create_future()
        publish, prefix = self.nc.publish, self.prefix
        for index, (subject, payload, headers) in enumerate(requests):
            self.serial += 1
            token = str(self.serial)
            self.slots[token] = index
            await publish(subject, payload, reply=prefix + token, headers=headers)
        await asyncio.wait((complete,), timeout=timeout)
        self.slots = {}
        return self.replies

    async def _on_reply(self, msg: Msg) -> None:
        index = self.slots.pop(msg.subject[len(self.prefix) :], None)
        if index is None:  # a late reply to a window that gave up
            return
        self.replies[index] = msg
        self.remaining -= 1
        if self.remaining == 0 and self.complete is not None and not self.complete.done():
            self.complete.set_result(None)


def api_request_of(subject: str, body: dict[str, Any]) -> Request:
    """A JetStream JSON API request ($JS.API.<subject>) for `Pipeline.window`."""
    return f"$JS.API.{subject}", orjson.dumps(body), None


def api_answer(reply: Msg | None) -> dict[str, Any]:
    """A JetStream API reply as `nats_conn.api_request` reads it: a dict, or the error it carries.

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
