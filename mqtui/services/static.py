"""Fixed data behind the console's backend interface: look tests and pictures that never change.

Nothing here talks to a broker. Reads answer from the data given; writes record what they were asked
and answer as a broker that accepted everything would, so a look test can open every dialog.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from mqtui.config import Config, Profile
from mqtui.errors import NotFound, ReadonlyError, Unsupported
from mqtui.model import (
    BacklogRow,
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
from mqtui.services.backend import ConsoleBackend, SnapshotListener
from mqtui.services.snapshot import BrokerSnapshot
from mqtui.services.tailer import TailStream


@dataclass
class StaticData:
    snapshots: Sequence[BrokerSnapshot]
    now: datetime
    details: Mapping[tuple[str, str], Detail] = field(default_factory=dict)
    """(broker, destination or group) -> detail."""
    dead_letters: Mapping[tuple[str, str], Sequence[DeadLetter]] = field(default_factory=dict)
    messages: Mapping[tuple[str, str], Sequence[Message]] = field(default_factory=dict)
    """(broker, destination) -> what a tail of it shows."""


class StaticBackend(ConsoleBackend):
    def __init__(
        self,
        name: str,
        profile: Profile,
        data: StaticData,
        *,
        config: Config | None = None,
        notices: Iterable[str] = (),
        profiles: Callable[[str], ConsoleBackend] | None = None,
    ) -> None:
        super().__init__(name, profile, config or Config(profiles={name: profile}), tuple(notices))
        self.data = data
        self.requests: list[tuple[str, tuple[object, ...]]] = []
        """Every write asked of this backend, in order (what a look test can assert on)."""
        self._profiles = profiles
        self.started = False
        self.stopped = False

    def now(self) -> datetime:
        return self.data.now

    def start(self, listener: SnapshotListener) -> None:
        self.started = True
        for snapshot in self.data.snapshots:
            listener(snapshot)

    def stop(self) -> None:
        self.stopped = True

    def snapshots(self) -> dict[str, BrokerSnapshot]:
        return {snapshot.name: snapshot for snapshot in self.data.snapshots}

    def tail(self, broker: str, destination: str, start: StartPosition, *, capacity: int = 50_000) -> TailStream:
        messages = self.data.messages.get((broker, destination), ())
        return TailStream.fixed(self.profile.broker(broker), destination, messages)

    def open_profile(self, name: str) -> ConsoleBackend:
        if self._profiles is None:
            raise NotFound(f"unknown profile {name!r}")
        return self._profiles(name)

    def _detail(self, broker: str, name: str) -> Detail:
        try:
            return self.data.details[(broker, name)]
        except KeyError:
            raise NotFound(f"{broker}: {name} not found") from None

    async def describe(self, broker: str, destination: str) -> Detail:
        return self._detail(broker, destination)

    async def describe_group(self, broker: str, group: str) -> Detail:
        return self._detail(broker, group)

    async def dead_letters(self, broker: str, dlq: str, *, limit: int = 200) -> list[DeadLetter]:
        return list(self.data.dead_letters.get((broker, dlq), ()))[:limit]

    async def plan_replay(
        self, broker: str, dlq: str, *, to: str | None = None, ids: Collection[str] | None = None
    ) -> list[ReplayItem]:
        letters = self.data.dead_letters.get((broker, dlq), ())
        return [
            ReplayItem(letter.id, to or letter.origin or "?", "original is gone" if letter.gone else None)
            for letter in letters
            if ids is None or letter.id in ids
        ]

    async def replay(
        self,
        broker: str,
        dlq: str,
        *,
        to: str | None = None,
        ids: Collection[str] | None = None,
        progress: ProgressCallback | None = None,
    ) -> ReplayResult:
        self._write("replay", broker, dlq, to, tuple(ids or ()))
        plan = await self.plan_replay(broker, dlq, to=to, ids=ids)
        sent = [item for item in plan if item.skip_reason is None]
        if progress is not None:
            progress(len(sent), len(sent))
        return ReplayResult(sent=len(sent), skipped=len(plan) - len(sent))

    async def delete_dead_letters(self, broker: str, dlq: str, ids: Collection[str]) -> int:
        self._write("delete", broker, dlq, tuple(ids))
        return len(ids)

    async def publish(
        self,
        broker: str,
        destination: str,
        messages: Sequence[OutgoingMessage],
        *,
        options: Mapping[str, str] | None = None,
    ) -> PublishResult:
        self._write("publish", broker, destination, tuple(messages), dict(options or {}))
        return PublishResult(sent=len(messages))

    async def purge(self, broker: str, destination: str) -> int:
        self._write("purge", broker, destination)
        return 0

    async def move_queue(self, broker: str, source: str, *, to: str) -> ReplayResult:
        self._write("move", broker, source, to)
        return ReplayResult(sent=0)

    async def peek(self, broker: str, destination: str, *, limit: int = 20) -> list[Message]:
        self._write("peek", broker, destination, limit)
        return list(self.data.messages.get((broker, destination), ()))[:limit]

    async def request(self, broker: str, subject: str, message: OutgoingMessage, *, timeout: float) -> Message:
        self._write("request", broker, subject, message, timeout)
        return Message(broker, subject, None, 1, self.data.now, None, message.value, message.headers)

    async def reset_offsets(
        self, broker: str, group: str, *, to: StartPosition, destination: str | None = None
    ) -> list[BacklogRow]:
        self._write("reset-offsets", broker, group, str(to), destination)
        raise Unsupported(f"{broker}: static data cannot reset offsets")

    def _write(self, action: str, *args: object) -> None:
        refusal = self.refusal(action)
        if refusal is not None:
            raise ReadonlyError(refusal)
        self.requests.append((action, args))
