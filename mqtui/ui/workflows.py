"""The console's multi-step actions: each one worker that asks, confirms, calls the broker and reports.

A workflow is a `@work` coroutine of the console screen that awaits its dialogs in turn
(`push_screen_wait`, each dialog closing with a typed result) and calls the broker through the
backend's gateway (`backend.call`), so an action reads top to bottom. Refusals come from the
profile's write policy (`backend.policy`); the panes' keys refuse first, these are the same rules
for whatever starts a workflow.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from rich.text import Text
from textual import work
from textual.screen import Screen

from mqtui.errors import MqtuiError
from mqtui.model import (
    BacklogRow,
    Capability,
    DeadLetter,
    DeadLetterQueue,
    Destination,
    DestinationKind,
    Message,
    OutgoingMessage,
    ProgressCallback,
    PublishResult,
    ReplayItem,
    ReplayResult,
    StartPosition,
)
from mqtui.safetext import safe_line
from mqtui.services.backend import ConsoleBackend
from mqtui.services.policy import WritePolicy
from mqtui.services.snapshot import BrokerSnapshot, GroupLag
from mqtui.services.tailer import TailStream
from mqtui.ui.cells import error_text, plain
from mqtui.ui.panes.base import request_refusal
from mqtui.ui.panes.dlq import ENTRY_LIMIT, DeadLettersPane
from mqtui.ui.panes.tail import TailPane
from mqtui.ui.screens.common import ConfirmScreen, PromptScreen
from mqtui.ui.screens.message import MessageScreen
from mqtui.ui.screens.publish import PublishDraft, PublishScreen
from mqtui.ui.screens.replay import ReplayScreen
from mqtui.ui.screens.request import RequestScreen
from mqtui.ui.screens.reset import ResetOffsetsScreen
from mqtui.ui.screens.tailstart import TailStartScreen


class ConsoleWorkflows(Screen[None]):
    """The workflows of the console screen, which gives them its backend, snapshots and panes."""

    backend: ConsoleBackend
    snapshots: dict[str, BrokerSnapshot]
    tail_capacity: int

    def show_pane(self, pane_id: str) -> None:
        raise NotImplementedError

    @property
    def policy(self) -> WritePolicy:
        return self.backend.policy

    @property
    def tail_pane(self) -> TailPane:
        return self.query_one("#tail", TailPane)

    @property
    def dead_letters_pane(self) -> DeadLettersPane:
        return self.query_one("#dlq", DeadLettersPane)

    def brokers_that_can(self, capability: Capability) -> list[str]:
        """The profile's brokers that can (or may: not polled yet) do `capability`, in profile order."""
        return [name for name, s in self.snapshots.items() if not s.capabilities or s.can(capability)]

    def destination_names(self, kind: DestinationKind | None = None) -> dict[str, list[str]]:
        """Each broker's destinations (of one kind), for completing names in a dialog."""
        return {
            name: sorted(d.name for d in s.destinations if kind is None or d.kind is kind)
            for name, s in self.snapshots.items()
        }

    def publish_refusal(self, broker: str) -> str | None:
        """Why nothing may be published to `broker`: a readonly profile, a broker that cannot."""
        return self.policy.refusal(Capability.PUBLISH, action="publish", broker=self.snapshots.get(broker))

    def _warn(self, text: str) -> None:
        self.notify(text, severity="warning")

    def _failed(self, exc: Exception) -> None:
        self.notify(error_text(exc), severity="error")

    async def _confirmed(self, screen: ConfirmScreen) -> bool:
        confirmed = await self.app.push_screen_wait(screen)
        return confirmed is True

    # -- reading -----------------------------------------------------------------------------------
    async def _may_read(self, dlq: DeadLetterQueue) -> bool:
        """Whether the entries of `dlq` may be read: at once where that is harmless; where reading costs
        them a delivery (`read_hazard`), only after a confirmation that says so, never when readonly."""
        if dlq.read_hazard is None:
            return True
        refusal = self.policy.readonly_refusal(f"reading {dlq.name}")
        if refusal:
            self._warn(f"{refusal}: {dlq.read_hazard}")
            return False
        body = Text.assemble(
            "Read the dead letters of ", plain(dlq.name, 100), " on ", plain(dlq.broker, 40), "? ",
            plain(dlq.read_hazard, 300), ".",
        )  # fmt: skip
        return await self._confirmed(ConfirmScreen("Read dead letters", body, confirm="Read"))

    @work(exclusive=True, group="dead-letters", exit_on_error=False)
    async def read_dead_letters(self, dlq: DeadLetterQueue) -> None:
        """The entries of `dlq`, read into the Dead letters pane."""
        if not await self._may_read(dlq):
            return
        pane = self.dead_letters_pane
        pane.reading(dlq)
        try:
            entries = await self.backend.call(dlq.broker, lambda a: a.dead_letters(dlq.name, limit=ENTRY_LIMIT))
            entries = await self.backend.decoded_letters(dlq.broker, entries)
        except Exception as exc:
            pane.unread(dlq, error_text(exc))
            return
        pane.read(dlq, entries, self.backend.now())

    @work(exit_on_error=False)
    async def peek(self, destination: Destination, limit: int = 20) -> None:
        """Read what waits in a queue into the Tail pane; where that marks it redelivered, confirmed first."""
        label = "peeked {} (marked redelivered)"
        snapshot = self.snapshots.get(destination.broker)
        if snapshot is not None and snapshot.can(Capability.PEEK_ONLY_READS):  # nothing changes: no question
            label = "peeked {}"
        else:
            refusal = self.policy.readonly_refusal("peek")
            if refusal:
                return self._warn(refusal)
            body = Text.assemble(
                f"Read up to {limit} messages waiting in ", plain(destination.name, 100), " on ",
                plain(destination.broker, 40), "? They stay in the queue but are marked redelivered ",
                "(a quorum queue counts it as a delivery).",
            )  # fmt: skip
            if not await self._confirmed(ConfirmScreen("Peek", body, confirm="Peek")):
                return
        try:
            messages = await self.backend.call(
                destination.broker, lambda a: a.peek(destination.name, limit=limit), writes=Capability.PEEK
            )
            messages = await self.backend.decoded_messages(destination.broker, messages)
        except Exception as exc:
            return self._failed(exc)
        config = self.backend.profile.broker(destination.broker)
        stream = TailStream.fixed(config, destination.name, messages, ended=True)
        self.tail_pane.start(stream, label=label.format(len(messages)))
        self.show_pane("tail")

    # -- tail, request/reply -----------------------------------------------------------------------
    @work(exit_on_error=False)
    async def choose_tail(self, broker: str | None, destination: str) -> None:
        """Ask what to tail and from where (prefilled), then tail it."""
        brokers = self.brokers_that_can(Capability.TAIL)
        choice = await self.app.push_screen_wait(
            TailStartScreen(brokers, self.destination_names(), broker, destination)
        )
        if choice is not None:
            self.start_tail(choice.broker, choice.destination, choice.start)

    def start_tail(self, broker: str, destination: str, start: StartPosition) -> None:
        """Tail `destination` in the Tail pane, and show it."""
        try:
            stream = self.backend.tail(broker, destination, start, capacity=max(self.tail_capacity * 2, 20_000))
        except MqtuiError as exc:
            return self._failed(exc)
        self.tail_pane.start(stream)
        self.show_pane("tail")

    @work(exit_on_error=False)
    async def request_reply(self, broker: str | None, subject: str) -> None:
        """The request form (prefilled); its reply is shown as a message."""
        refusal = request_refusal(self.policy, self.snapshots.values())
        if refusal:
            return self._warn(refusal)
        brokers = self.brokers_that_can(Capability.REQUEST)
        if broker is not None and broker not in brokers and brokers:  # opened from a Kafka row, say
            self.notify(f"{broker} cannot do request/reply: the form is on {brokers[0]}", timeout=4)
        timeout = self.backend.profile.broker(broker).timeout if broker is not None and broker in brokers else 5.0
        backend = self.backend

        async def send(broker: str, subject: str, message: OutgoingMessage, timeout: float) -> Message:
            return await backend.call(
                broker, lambda a: a.request(subject, message, timeout=timeout), writes=Capability.REQUEST
            )

        subjects = self.destination_names(DestinationKind.SUBJECT)
        form = RequestScreen(brokers, subjects, broker, subject, send=send, timeout=timeout)
        reply = await self.app.push_screen_wait(form)
        if reply is not None:
            self.show_message(reply, title="reply")

    @work(exit_on_error=False)
    async def show_message(self, message: Message, *, letter: DeadLetter | None = None, title: str = "") -> None:
        """One message in full; `d` in it opens the publish form with a copy."""
        refusal = self.publish_refusal(message.broker)
        screen = MessageScreen(message, letter=letter, title=title, duplicate_refusal=refusal)
        duplicate = await self.app.push_screen_wait(screen)
        if duplicate is not None:
            self.publish_copy(duplicate.message)

    # -- publishing --------------------------------------------------------------------------------
    def publish_copy(self, message: Message) -> None:
        refusal = self.publish_refusal(message.broker)
        if refusal:
            return self._warn(refusal)
        self.publish(PublishDraft.duplicate(message))

    @work(exit_on_error=False)
    async def publish(self, draft: PublishDraft) -> None:
        """The publish form (prefilled with `draft`); it sends, and says here what it sent."""
        refusal = self.policy.readonly_refusal("publish")
        if refusal:
            return self._warn(refusal)
        backend = self.backend

        async def send(
            broker: str, destination: str, messages: list[OutgoingMessage], options: dict[str, str]
        ) -> PublishResult:
            return await backend.call(
                broker, lambda a: a.publish(destination, messages, options=options), writes=Capability.PUBLISH
            )

        brokers = self.brokers_that_can(Capability.PUBLISH)
        form = PublishScreen(brokers, self.destination_names(), draft, send=send, refusal=self.publish_refusal,
                             encode=backend.schema_encoded)  # fmt: skip
        sent = await self.app.push_screen_wait(form)
        if sent is not None:
            self.notify(f"sent {sent.sent:,} message(s) to {sent.broker} / {sent.destination}")
            backend.refresh(sent.broker)

    # -- writes to queues and groups ---------------------------------------------------------------
    @work(exit_on_error=False)
    async def purge(self, destination: Destination) -> None:
        refusal = self.policy.readonly_refusal("purge")
        if refusal:
            return self._warn(refusal)
        body = Text.assemble(
            "Remove every message (", Text(f"{destination.depth:,}" if destination.depth is not None else "all"),
            ") from ", plain(destination.name, 100), " on ", plain(destination.broker, 40), "? This cannot be undone.",
        )  # fmt: skip
        expect = self.policy.typed_confirmation(destination.name)
        if not await self._confirmed(ConfirmScreen("Purge", body, confirm="Purge", expect=expect)):
            return
        try:
            removed = await self.backend.call(
                destination.broker, lambda a: a.purge(destination.name), writes=Capability.PURGE
            )
        except Exception as exc:
            return self._failed(exc)
        self.notify(f"purged {removed:,} message(s) from {destination.name}")
        self.backend.refresh(destination.broker)

    @work(exit_on_error=False)
    async def reset_offsets(self, group: GroupLag) -> None:
        """The offset reset form, which confirms and resets; the broker is polled again after."""
        backend = self.backend

        async def reset(to: StartPosition, destination: str | None) -> list[BacklogRow]:
            return await backend.call(
                group.broker,
                lambda a: a.reset_offsets(group.group, to=to, destination=destination),
                writes=Capability.RESET_OFFSETS,
            )

        form = ResetOffsetsScreen(group.broker, group.group, group.destination, reset=reset)
        if await self.app.push_screen_wait(form):
            backend.refresh(group.broker)

    # -- dead letters ------------------------------------------------------------------------------
    def _dead_letters_changed(self) -> None:
        self.backend.refresh()
        self.dead_letters_pane.actioned()

    @work(exit_on_error=False)
    async def replay(self, dlq: DeadLetterQueue, ids: Sequence[str] | None, verb: str) -> None:
        """The replay preview (it reads every dead letter it plans to move), which confirms and sends."""
        refusal = self.policy.readonly_refusal(f"dlq {verb}")
        if refusal:
            return self._warn(refusal)
        if not await self._may_read(dlq):
            return
        backend = self.backend

        async def plan(chosen: Collection[str] | None) -> list[ReplayItem]:
            return await backend.call(dlq.broker, lambda a: a.plan_replay(dlq.name, ids=chosen))

        async def send(chosen: list[str], progress: ProgressCallback) -> ReplayResult:
            return await backend.call(
                dlq.broker,
                lambda a: a.replay(dlq.name, ids=chosen, progress=progress),
                writes=Capability.REPLAY,
                action=f"dlq {verb}",
            )

        preview = ReplayScreen(dlq.broker, dlq.name, ids, verb=verb, plan=plan, replay=send)
        if await self.app.push_screen_wait(preview) is not None:
            self._dead_letters_changed()

    @work(exit_on_error=False)
    async def delete(self, dlq: DeadLetterQueue, ids: Sequence[str]) -> None:
        refusal = self.policy.readonly_refusal("dlq delete")
        if refusal:
            return self._warn(refusal)
        body = Text.assemble(
            f"Delete {len(ids):,} dead letter(s) from ", plain(dlq.name, 100), " on ", plain(dlq.broker, 40),
            "? They will not be replayed.",
        )  # fmt: skip
        if dlq.read_hazard is not None:  # finding them reads the others
            body.append_text(Text.assemble(" Finding them reads the others: ", plain(dlq.read_hazard, 300), "."))
        if not await self._confirmed(ConfirmScreen("Delete dead letters", body, confirm="Delete")):
            return
        try:
            deleted = await self.backend.call(
                dlq.broker, lambda a: a.delete_dead_letters(dlq.name, ids), writes=Capability.DELETE_DEAD_LETTER
            )
        except Exception as exc:
            return self._failed(exc)
        self.notify(f"deleted {deleted:,} of {len(ids):,} dead letter(s) from {dlq.name}")
        self._dead_letters_changed()

    @work(exit_on_error=False)
    async def move(self, dlq: DeadLetterQueue) -> None:
        """Which queue, then a confirmation, then a shovel inside the broker (`BrokerAdapter.move_queue`)."""
        refusal = self.policy.readonly_refusal("move all")
        if refusal:
            return self._warn(refusal)
        hint = "the messages go to this queue as they are; escape cancels"
        prompt = PromptScreen(f"Move all of {safe_line(dlq.name, 60)} to queue", value=dlq.origin or "", hint=hint)
        target = (await self.app.push_screen_wait(prompt) or "").strip()
        if not target:
            return
        body = Text.assemble(
            "Move every message ready in ", plain(dlq.name, 100), " (",
            f"{dlq.count:,} at the last poll" if dlq.count is not None else "all", ") to ", plain(target, 100), " on ",
            plain(dlq.broker, 40), " with a shovel inside the broker? It finishes even if mqtui stops; ",
            "messages keep their headers and get no requeue headers.",
        )  # fmt: skip
        expect = self.policy.typed_confirmation(dlq.name)
        if not await self._confirmed(ConfirmScreen("Move whole queue", body, confirm="Move", expect=expect)):
            return
        self.notify(f"moving {dlq.name} to {target} with a shovel...")
        try:
            result = await self.backend.call(
                dlq.broker, lambda a: a.move_queue(dlq.name, to=target), writes=Capability.MOVE_QUEUE
            )
        except Exception as exc:
            return self._failed(exc)
        for error in result.errors:
            self._warn(error)
        self.notify(f"moved {result.sent:,} message(s) from {dlq.name} to {target}" if result.sent or not result.failed
                    else f"moved nothing from {dlq.name}", severity="error" if result.failed else "information")  # fmt: skip
        self._dead_letters_changed()
