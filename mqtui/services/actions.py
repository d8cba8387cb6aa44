"""What the console does to brokers on request: details, dead letters, and every write action.

Each call opens its own adapter (the same path as a CLI verb) instead of borrowing the poller's, so a
long replay never delays a poll and a poller reconnecting never breaks a replay. Write actions check
the profile's readonly flag here, whatever the UI already hid, before any connection is made.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from mqtui import templates
from mqtui.config import BrokerConfig
from mqtui.model import (
    BacklogRow,
    Capability,
    DeadLetter,
    Detail,
    Message,
    OutgoingMessage,
    ProgressCallback,
    PublishResult,
    ReplayItem,
    ReplayResult,
    StartPosition,
)
from mqtui.services.session import Session, connected


class Actions:
    """Broker operations for one session, each on a fresh adapter, each bounded by the adapter's timeouts."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _config(self, broker: str) -> BrokerConfig:
        return self.session.broker(broker)

    # -- reading -----------------------------------------------------------------------------------
    async def describe(self, broker: str, destination: str) -> Detail:
        async with connected(self._config(broker)) as adapter:
            return await adapter.describe(destination)

    async def describe_group(self, broker: str, group: str) -> Detail:
        async with connected(self._config(broker)) as adapter:
            return await adapter.describe_group(group)

    async def dead_letters(self, broker: str, dlq: str, *, limit: int = 200) -> list[DeadLetter]:
        async with connected(self._config(broker)) as adapter:
            return await adapter.dead_letters(dlq, limit=limit)

    async def plan_replay(
        self, broker: str, dlq: str, *, to: str | None = None, ids: Collection[str] | None = None
    ) -> list[ReplayItem]:
        async with connected(self._config(broker)) as adapter:
            return await adapter.plan_replay(dlq, to=to, ids=ids)

    # -- writing -----------------------------------------------------------------------------------
    async def publish(
        self,
        broker: str,
        destination: str,
        messages: Sequence[OutgoingMessage],
        *,
        options: Mapping[str, str] | None = None,
    ) -> PublishResult:
        self.session.require_writable("publish")
        async with connected(self._config(broker)) as adapter:
            return await adapter.publish(destination, messages, options=options)

    async def replay(
        self,
        broker: str,
        dlq: str,
        *,
        to: str | None = None,
        ids: Collection[str] | None = None,
        progress: ProgressCallback | None = None,
    ) -> ReplayResult:
        self.session.require_writable("dlq replay")
        async with connected(self._config(broker)) as adapter:
            return await adapter.replay(dlq, to=to, ids=ids, progress=progress)

    async def delete_dead_letters(self, broker: str, dlq: str, ids: Collection[str]) -> int:
        self.session.require_writable("dlq delete")
        async with connected(self._config(broker)) as adapter:
            return await adapter.delete_dead_letters(dlq, ids)

    async def move_queue(self, broker: str, source: str, *, to: str) -> ReplayResult:
        self.session.require_writable("dlq move")
        async with connected(self._config(broker)) as adapter:
            return await adapter.move_queue(source, to=to)

    async def purge(self, broker: str, destination: str) -> int:
        self.session.require_writable("purge")
        async with connected(self._config(broker)) as adapter:
            return await adapter.purge(destination)

    async def reset_offsets(
        self, broker: str, group: str, *, to: StartPosition, destination: str | None = None
    ) -> list[BacklogRow]:
        self.session.require_writable("offset reset")
        async with connected(self._config(broker)) as adapter:
            return await adapter.reset_offsets(group, to=to, destination=destination)

    async def request(self, broker: str, subject: str, message: OutgoingMessage, *, timeout: float) -> Message:
        """Send one request and wait up to `timeout` for its reply (NATS request/reply)."""
        self.session.require_writable("request")
        async with connected(self._config(broker)) as adapter:
            return await adapter.request(subject, message, timeout=timeout)

    async def peek(self, broker: str, destination: str, *, limit: int = 10) -> list[Message]:
        """A peek that changes nothing (Redis LRANGE/XRANGE) is a read, allowed in a readonly profile."""
        async with connected(self._config(broker)) as adapter:
            if not adapter.can(Capability.PEEK_ONLY_READS):
                self.session.require_writable("peek")
            return await adapter.peek(destination, limit=limit)


def build_messages(
    value: str | bytes,
    *,
    key: str | None = None,
    headers: Sequence[tuple[str, str]] = (),
    count: int = 1,
) -> list[OutgoingMessage]:
    """Messages from the publish form: `{{uuid}}`, `{{now}}`, `{{seq}}` filled in for each (text only).

    A bytes value (duplicating a binary message) is sent as is, never templated.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    messages = []
    for seq in range(1, count + 1):
        body = value if isinstance(value, bytes) else templates.expand(value, seq).encode("utf-8")
        message_key = templates.expand(key, seq).encode("utf-8") if key is not None else None
        message_headers = tuple((name, templates.expand(text, seq).encode("utf-8")) for name, text in headers)
        messages.append(OutgoingMessage(value=body, key=message_key, headers=message_headers))
    return messages


def parse_headers(text: str) -> list[tuple[str, str]]:
    """`K=V` pairs, one per line; raises ValueError naming the bad one."""
    pairs = []
    for raw in text.splitlines():
        item = raw.strip()
        if not item:
            continue
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"header must look like NAME=VALUE, not {item!r}")
        pairs.append((name.strip(), value.strip()))
    return pairs
