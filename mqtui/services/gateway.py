"""The one way from the console or the CLI to a broker: a policy check, a fresh adapter, one operation.

`Gateway.call(broker, op, writes=...)` asks the profile's `WritePolicy` first (a readonly refusal comes
before any connection), connects a new adapter within the broker's timeout, checks the adapter can do
what `writes` (or, for a read, `needs`) names, runs `op(adapter)` and closes the adapter. So an adapter
method is written once, in the adapter, and every caller gets the same rules and the same words.
`Gateway.each` runs one operation on many brokers at once for the CLI's `ls`, `lag` and `dlq ls`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeAlias, TypeVar

from mqtui.brokers.base import BrokerAdapter
from mqtui.model import Capability
from mqtui.services.policy import WritePolicy
from mqtui.services.session import Session, connected

T = TypeVar("T")

Adapter: TypeAlias = "BrokerAdapter[Any]"
"""The adapter an operation receives, for type hints where `mqtui.brokers` may not be imported (the UI)."""

Operation: TypeAlias = Callable[[Adapter], Awaitable[T]]
"""What a caller runs on a connected adapter: `lambda a: a.purge(queue)`."""


@dataclass(frozen=True, slots=True)
class Declared:
    """A broker as the policy sees it before any adapter exists: its name, kind and declared capabilities."""

    name: str
    kind: str
    capabilities: Capability


@dataclass
class FanOut(Generic[T]):
    """What `Gateway.each` brought back: the answers, in broker order, and the brokers that failed."""

    answers: list[T] = field(default_factory=list)
    failures: list[tuple[str, BaseException]] = field(default_factory=list)
    """(broker name, what it raised), in broker order."""


class Gateway:
    """Broker operations for one session, each on a fresh adapter, each asked of the write policy first."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.policy: WritePolicy = session.policy

    def declared(self, broker: str) -> Declared:
        """`broker` as its kind's registered adapter describes it, with no adapter made (nor its client
        library imported) and no connection."""
        config = self.session.broker(broker)
        return Declared(config.name, config.kind, self.session.adapters.capabilities(config.kind))

    def capabilities(self, broker: str) -> Capability:
        """What `broker`'s adapter can do."""
        return self.declared(broker).capabilities

    def writes(self, broker: str, capability: Capability | None) -> bool:
        """Whether using `capability` on `broker` changes it (a Redis peek only reads)."""
        return self.policy.writes(capability, self.declared(broker))

    def check(self, broker: str, writes: Capability | None, *, action: str | None = None) -> None:
        """The readonly refusal `call` makes first, without connecting: for a command that asks a
        question before it calls, so a readonly profile refuses before anyone is asked anything."""
        declared = self.declared(broker) if self.policy.depends_on_broker(writes) else None
        self.policy.check_readonly(writes, action=action, broker=declared)

    async def call(
        self,
        broker: str,
        op: Operation[T],
        *,
        writes: Capability | None = None,
        action: str | None = None,
        needs: Capability | None = None,
    ) -> T:
        """Run `op` on a freshly connected adapter of `broker` and close it whatever happens.

        `writes` names the capability `op` uses when it changes the broker (or reads with side effects,
        like a RabbitMQ peek): refused first in a readonly profile, with `action` (default: the
        capability's usual name, "dlq replay", "offset reset", ...) as the words of the refusal; then
        refused when the connected adapter lacks it. `needs` names one `op` uses that only reads
        (Capability.GROUPS): never a readonly refusal, only refused when the adapter lacks it, in the
        words the adapter itself would use. Raises what `op` raises.
        """
        self.check(broker, writes, action=action)
        config = self.session.broker(broker)
        adapter = self.session.adapters.create(config)
        async with connected(config, adapter):
            self.policy.check_capable(writes, adapter)
            self.policy.check_capable(needs, adapter)
            return await op(adapter)

    async def each(
        self,
        op: Operation[T],
        only: str | None = None,
        *,
        notices: Callable[[str], None] | None = None,
    ) -> FanOut[T]:
        """Run a read `op` on every broker of the profile (or only the one named) at once.

        A broker that fails is reported in `failures` while the others still answer; an unknown name
        raises at once. `notices` gets each adapter's notices (what a bounded answer left out) as soon
        as its broker has answered.
        """
        names = [config.name for config in self.session.brokers(only)]

        async def one(adapter: Adapter) -> T:
            answer = await op(adapter)
            if notices is not None:
                for notice in adapter.notices:
                    notices(notice)
            return answer

        results = await asyncio.gather(*(self.call(name, one) for name in names), return_exceptions=True)
        fan_out: FanOut[T] = FanOut()
        for name, result in zip(names, results, strict=True):
            if isinstance(result, BaseException):
                fan_out.failures.append((name, result))
            else:
                fan_out.answers.append(result)
        return fan_out
