"""The one small async interface every broker sits behind.

Adapters never import Textual and never block the event loop: blocking clients (confluent-kafka, pika)
run their calls in the adapter's own worker threads; async clients (redis.asyncio, nats-py) run as
tasks. Every method either answers with `mqtui.model` records or raises an `mqtui.errors.BrokerError`
whose message is one line naming the broker. A method a broker cannot support raises `Unsupported`, and
its capability flag is absent so the UI never offers it. A method the broker supports but not for one
destination, start or message (a RabbitMQ queue only bound to the default exchange cannot be tailed, a
Redis hash cannot be purged) raises `NotPossible`, saying what to do instead, and its flag stays.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from typing import ClassVar, Generic, Self, TypeVar

from mqtui.config import BrokerConfig
from mqtui.errors import Unsupported
from mqtui.model import (
    BacklogRow,
    Capability,
    DeadLetter,
    DeadLetterQueue,
    Destination,
    Detail,
    Message,
    OutgoingMessage,
    ProgressCallback,
    PublishResult,
    RangePlan,
    ReplayItem,
    ReplayResult,
    RetrySchedule,
    StartPosition,
)

#: Broker-specific publish properties from the CLI's `--prop K=V` or the publish form.
PublishOptions = Mapping[str, str]


ConfigT = TypeVar("ConfigT", bound=BrokerConfig)
"""The config type of one broker kind (`KafkaConfig`, ...), so `adapter.config` has that kind's keys."""

CANNOT_MOVE = "move a whole queue; use dlq replay"
"""What a broker without Capability.MOVE_QUEUE says, with what to use instead."""


class BrokerAdapter(abc.ABC, Generic[ConfigT]):
    """A connection to one broker of a profile, configured by its kind's `ConfigT`."""

    kind: ClassVar[str]
    capabilities: ClassVar[Capability] = Capability.NONE
    #: The verb the UI shows for sending dead letters back: "replay" (logs) or "requeue" (queues).
    replay_verb: ClassVar[str] = "replay"

    def __init__(self, config: ConfigT) -> None:
        self.config: ConfigT = config
        self.name = config.name

    def can(self, capability: Capability) -> bool:
        return bool(self.capabilities & capability)

    @property
    def notices(self) -> Sequence[str]:
        """What the last answers left out or what the adapter could not do on its own, one line each
        naming the broker ("r: scanned about 10 of ~31 keys so far ..."). Not errors: the answers are
        right as far as they go, so the CLI prints these on stderr after its output and the console
        shows them on its status line. Read after an answer; empty by default."""
        return ()

    def _unsupported(self, action: str) -> Unsupported:
        return Unsupported(f"{self.name}: {self.kind} cannot {action}")

    # -- lifecycle ---------------------------------------------------------------------------------
    @abc.abstractmethod
    async def connect(self) -> None:
        """Open connections; raise BrokerUnavailable or AuthenticationFailed within `config.timeout`."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release every connection and thread; safe to call twice and after a failed connect."""

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- reading -----------------------------------------------------------------------------------
    @abc.abstractmethod
    async def destinations(self, *, include_internal: bool = False) -> list[Destination]:
        """Every topic / queue / stream / list / subject, one cheap batched round of requests."""

    async def describe(self, destination: str) -> Detail:
        """Partitions, configs, bindings, consumers: what the details view shows."""
        raise self._unsupported("describe destinations")

    @abc.abstractmethod
    async def backlog(self, *, group: str | None = None) -> list[BacklogRow]:
        """Backlog rows for every consumer group (or one), batched: never one request per partition."""

    async def describe_server(self) -> Detail:
        """The server as a whole: identity, connections, load (Capability.SERVER_VIEW)."""
        raise self._unsupported("show a server view")

    async def describe_group(self, group: str) -> Detail:
        """Group state, members and their assignments (Capability.GROUPS)."""
        raise self._unsupported("describe consumer groups")

    def tail(
        self,
        destination: str,
        *,
        start: StartPosition,
        stop_at_end: bool = False,
    ) -> AsyncIterator[Sequence[Message]]:
        """Yield batches of messages without consuming them from anyone and without committing.

        Batches keep a fast tail cheap for the UI. With `stop_at_end`, the iterator ends once it has
        caught up with what the destination held when the tail started. Memory stays bounded: the
        adapter never buffers more than one batch ahead of its reader.
        """
        raise self._unsupported("tail without consuming")

    async def plan_range(self, destination: str, *, start: StartPosition, end: StartPosition | None) -> RangePlan:
        """Resolve a search's range (`start` inclusive; `end` inclusive for a position, exclusive for a
        time, None for what the destination holds now) into bounds per part, before reading anything:
        NotFound for a destination that does not exist."""
        raise self._unsupported("search a range")

    def read_range(self, plan: RangePlan) -> AsyncIterator[Sequence[Message]]:
        """Yield the planned range's messages in batches, consuming nothing and committing nothing (a
        plan with a `hazard` reads as `peek` does). Memory stays bounded by a few batches."""
        raise self._unsupported("search a range")

    async def peek(self, destination: str, *, limit: int = 10) -> list[Message]:
        """Read messages already in a queue where that has side effects (see Capability.PEEK)."""
        raise self._unsupported("peek")

    # -- writing -----------------------------------------------------------------------------------
    async def publish(
        self,
        destination: str,
        messages: Sequence[OutgoingMessage],
        *,
        options: PublishOptions | None = None,
    ) -> PublishResult:
        """Send messages and wait for the broker to confirm each one; report failures per message."""
        raise self._unsupported("publish")

    async def request(self, destination: str, message: OutgoingMessage, *, timeout: float) -> Message:
        raise self._unsupported("do request/reply")

    async def purge(self, destination: str) -> int:
        """Remove every message; returns how many were removed."""
        raise self._unsupported("purge")

    async def reset_offsets(self, group: str, *, to: StartPosition, destination: str | None = None) -> list[BacklogRow]:
        """Move a stopped group's committed positions; refused while the group has members."""
        raise self._unsupported("reset offsets")

    # -- dead letters ------------------------------------------------------------------------------
    async def dead_letter_queues(self) -> list[DeadLetterQueue]:
        return []

    async def retry_schedules(self) -> list[RetrySchedule]:
        """Retries parked until a due time (retry topics, TTL + dead-letter queues, sorted-set schedules),
        counted without consuming or redelivering anything. Empty where the broker has no convention
        mqtui knows (NATS: a delayed retry is a NAK with a delay inside the server, which it does not
        report per message)."""
        return []

    async def read_hazard(self, dlq: str) -> str | None:
        """`DeadLetterQueue.read_hazard` for any queue named by the user (it may not be a known DLQ)."""
        return None

    async def dead_letters(self, dlq: str, *, limit: int = 100) -> list[DeadLetter]:
        raise self._unsupported("read dead letters")

    async def plan_replay(
        self,
        dlq: str,
        *,
        to: str | None = None,
        ids: Collection[str] | None = None,
        limit: int | None = None,
    ) -> list[ReplayItem]:
        """What a replay would do, without doing it: the preview and `--dry-run`."""
        raise self._unsupported(self.replay_verb)

    async def replay(
        self,
        dlq: str,
        *,
        to: str | None = None,
        ids: Collection[str] | None = None,
        limit: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> ReplayResult:
        """Send dead letters back to their origin (or `to`), each confirmed before it is marked done.

        Running it twice must not send a message twice where the broker allows that guarantee.
        """
        raise self._unsupported(self.replay_verb)

    async def delete_dead_letters(self, dlq: str, ids: Collection[str]) -> int:
        raise self._unsupported("delete dead letters")

    async def plan_move(self, source: str, *, to: str) -> int:
        """How many messages `move_queue` would move now, after checking it can (both queues, the plugin)."""
        raise self._unsupported(CANNOT_MOVE)

    async def move_queue(self, source: str, *, to: str, progress: ProgressCallback | None = None) -> ReplayResult:
        """Move every message ready in `source` to the queue `to` inside the broker (Capability.MOVE_QUEUE)."""
        raise self._unsupported(CANNOT_MOVE)
