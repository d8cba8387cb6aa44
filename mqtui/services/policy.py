"""The one rule for write actions: what a profile refuses, what a broker cannot do, what needs a typed name.

The CLI, the console's keys, its palette, its workflows and the gateway all ask this module, so a
readonly profile refuses the same actions with the same words wherever they were asked from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from mqtui.errors import ReadonlyError, Unsupported
from mqtui.model import WRITE_ACTIONS, Capability

#: What each write is called in a readonly refusal ("profile 'p' is readonly: dlq replay refused").
ACTION_NAMES = {
    Capability.PEEK: "peek",
    Capability.PUBLISH: "publish",
    Capability.REPLAY: "dlq replay",
    Capability.DELETE_DEAD_LETTER: "dlq delete",
    Capability.PURGE: "purge",
    Capability.RESET_OFFSETS: "offset reset",
    Capability.REQUEST: "request",
    Capability.MOVE_QUEUE: "dlq move",
}

#: What each capability lets a user do, as the end of the console's "<broker> (<kind>) cannot ...".
CAPABILITY_VERBS = {
    Capability.TAIL: "tail without consuming",
    Capability.PEEK: "peek",
    Capability.PUBLISH: "publish",
    Capability.REPLAY: "replay dead letters",
    Capability.DELETE_DEAD_LETTER: "delete dead letters",
    Capability.PURGE: "purge",
    Capability.RESET_OFFSETS: "reset offsets",
    Capability.REQUEST: "do request/reply",
    Capability.MOVE_QUEUE: "move a whole queue (a RabbitMQ shovel does; r replays dead letters)",
    Capability.SERVER_VIEW: "show a server view",
    Capability.GROUPS: "describe consumer groups",
}

#: The same, as the end of an adapter's own "<broker>: <kind> cannot ..." (`BrokerAdapter._unsupported`):
#: what the gateway says, so a refusal reads the same whether the gateway or the adapter made it.
BROKER_VERBS = {
    **CAPABILITY_VERBS,
    Capability.MOVE_QUEUE: "move a whole queue; use dlq replay",
}


def action_name(capability: Capability | None) -> str:
    """The name of the write `capability` stands for, as a readonly refusal says it."""
    if capability is None:
        return "this action"
    return ACTION_NAMES.get(capability) or CAPABILITY_VERBS.get(capability) or (capability.name or "").lower()


class CapableBroker(Protocol):
    """What the policy needs to know of a broker: an adapter and a console snapshot both qualify."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def capabilities(self) -> Capability: ...


@dataclass(frozen=True, slots=True)
class WritePolicy:
    """The write rules of one profile."""

    profile: str
    readonly: bool = False
    production: bool = False

    def writes(self, capability: Capability | None, broker: CapableBroker | None = None) -> bool:
        """Whether using `capability` changes a broker: a peek that only reads (Redis) does not."""
        if capability is None or not capability & WRITE_ACTIONS:
            return False
        only_reads = (
            capability is Capability.PEEK
            and broker is not None
            and bool(broker.capabilities & Capability.PEEK_ONLY_READS)
        )
        return not only_reads

    def require_writable(self, action: str) -> None:
        """Raise ReadonlyError for `action`, a write named as the user knows it, in a readonly profile.
        For writes no capability names (reading a DLQ whose reads count as deliveries)."""
        refusal = self.readonly_refusal(action)
        if refusal:
            raise ReadonlyError(refusal)

    @staticmethod
    def depends_on_broker(capability: Capability | None) -> bool:
        """Whether `writes(capability, broker)` needs the broker to answer: only for a peek, which
        some brokers do without side effects. Otherwise a refusal needs no adapter, not even a valid one."""
        return capability is Capability.PEEK

    def readonly_refusal(self, action: str) -> str | None:
        """Why `action` (a write, named as the user knows it) is refused in this profile, or None."""
        if self.readonly:
            return f"profile {self.profile!r} is readonly: {action} refused"
        return None

    @staticmethod
    def lacks(capability: Capability | None, broker: CapableBroker | None) -> bool:
        """Whether `broker` is known to lack `capability`. A broker whose capabilities are not known yet
        (no answer so far) is given the benefit of the doubt; the adapter refuses for real."""
        return (
            capability is not None
            and broker is not None
            and bool(broker.capabilities)
            and not (broker.capabilities & capability)
        )

    def capability_refusal(self, capability: Capability | None, broker: CapableBroker | None) -> str | None:
        """Why `broker` cannot do `capability` (in the console's words), or None."""
        if capability is None or broker is None or not self.lacks(capability, broker):
            return None
        return f"{broker.name} ({broker.kind}) cannot {CAPABILITY_VERBS.get(capability, capability.name or '')}"

    def refusal(self, capability: Capability | None, *, action: str, broker: CapableBroker | None = None) -> str | None:
        """Why `action` (which uses `capability` on `broker`) cannot run, or None: readonly first."""
        if self.writes(capability, broker):
            readonly = self.readonly_refusal(action)
            if readonly:
                return readonly
        return self.capability_refusal(capability, broker)

    def check_readonly(
        self, capability: Capability | None, *, action: str | None = None, broker: CapableBroker | None = None
    ) -> None:
        """Raise ReadonlyError (exit 3 on the CLI) when using `capability` on `broker` writes in a readonly
        profile; `action` names it (default: `action_name(capability)`). Needs no connection."""
        if self.writes(capability, broker):
            self.require_writable(action or action_name(capability))

    def check_capable(self, capability: Capability | None, broker: CapableBroker | None) -> None:
        """Raise Unsupported (exit 2 on the CLI) when `broker` lacks `capability`, in the broker's own words."""
        if capability is None or broker is None or not self.lacks(capability, broker):
            return
        verb = getattr(broker, "replay_verb", "replay") if capability is Capability.REPLAY else None
        raise Unsupported(
            f"{broker.name}: {broker.kind} cannot {verb or BROKER_VERBS.get(capability, capability.name)}"
        )

    def typed_confirmation(self, name: str) -> str | None:
        """The name a user must type to confirm a destructive action: required in production profiles."""
        return name if self.production else None
