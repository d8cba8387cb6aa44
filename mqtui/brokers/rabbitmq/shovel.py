"""Moving every message of a queue to another queue inside the broker, with a dynamic shovel.

Requeue pulls each dead letter through mqtui (about a thousand a second, journalled so a crash loses
nothing). A shovel (the rabbitmq_shovel plugin) moves them inside the broker instead: several times
faster, and it carries on if mqtui dies. With `ack-mode: on-confirm` it acks a message at the source
only after the destination confirmed it, so an interrupted move loses nothing either.

What the speed costs, and why the move is its own command rather than a fast path of requeue: every
message goes to the one destination queue (requeue routes each to the queue its x-death names); headers
stay as they were (x-death too), the shovel adding its own `x-shovelled` record (which shovel, from
where to where) and `x-shovelled-timestamp` (when) instead of mqtui's requeue headers; and it moves as
many messages as were ready when it started (`src-delete-after: queue-length`), so letters
dead-lettered meanwhile stay for the next move. Its URIs name no host (`amqp:///vhost`): the shovel runs on the broker's own node as
the user who created it, and no credentials are written into the definition.

`QueueMover` checks a move is possible, creates the shovel and follows it until it deletes itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from pika.adapters.blocking_connection import BlockingChannel

from mqtui.brokers.rabbitmq.amqp import Progress
from mqtui.brokers.rabbitmq.http import quote_segment
from mqtui.brokers.rabbitmq.management import Management
from mqtui.brokers.rabbitmq.names import QueueRef
from mqtui.brokers.rabbitmq.queues import number
from mqtui.brokers.rabbitmq.runner import AmqpRunner
from mqtui.errors import BrokerError, NotFound, NotPossible, Unsupported, UsageError
from mqtui.model import ProgressCallback, ReplayResult

SHOVEL_PREFIX = "mqtui-move-"
#: Seconds between looks at a moving shovel, and without progress after which mqtui stops following it.
MOVE_POLL = 0.25
MOVE_STALL = 60.0


def shovel_name(queue: str, started: float) -> str:
    """A name unique per move, that says who made it and for which queue in the management UI."""
    return f"{SHOVEL_PREFIX}{queue}-{int(started * 1000)}"


def local_uri(vhost: str) -> str:
    return "amqp:///" + quote(vhost, safe="")


def definition(vhost: str, source: str, target: str) -> dict[str, Any]:
    """The shovel's parameter value: one queue to another in the same vhost, deleted when done."""
    uri = local_uri(vhost)
    return {
        "src-protocol": "amqp091",
        "src-uri": uri,
        "src-queue": source,
        "src-delete-after": "queue-length",
        "dest-protocol": "amqp091",
        "dest-uri": uri,
        "dest-queue": target,
        "ack-mode": "on-confirm",
        "dest-add-forward-headers": True,
        "dest-add-timestamp-header": True,
    }


@dataclass(frozen=True, slots=True)
class ShovelStatus:
    state: str
    """starting, running or terminated as the plugin reports it; "" before it reports anything."""
    reason: str = ""


def parse_status(answer: Any) -> ShovelStatus:
    """/api/shovels/vhost/V/NAME answers a list of one (RabbitMQ 3.x) or the object itself (newer)."""
    rows: Sequence[Any] = answer if isinstance(answer, list) else [answer]
    for row in rows:
        if isinstance(row, Mapping):
            reason = row.get("reason")
            return ShovelStatus(str(row.get("state") or ""), "" if reason is None else " ".join(str(reason).split()))
    return ShovelStatus("")


@dataclass(frozen=True, slots=True)
class _Move:
    """One whole-queue move being followed: what it started from, for reading its end."""

    ref: QueueRef
    display: str
    name: str
    total: int
    """Messages ready in the source when the shovel was created."""
    consumers: int
    """Consumers of the source before the shovel's own: its end is when the count is back to this."""
    refuses: bool
    """The target rejects publishes when full (x-overflow reject-publish)."""
    progress: ProgressCallback | None

    @property
    def path(self) -> str:
        return f"{quote_segment(self.ref.vhost)}/{quote_segment(self.name)}"

    def report(self, moved: int) -> None:
        if self.progress is not None:
            self.progress(moved, self.total)


class QueueMover:
    """Starts a shovel for a whole-queue move and follows it until it deletes itself."""

    def __init__(self, mgmt: Management, runner: AmqpRunner, timeout: float) -> None:
        self.mgmt = mgmt
        self.runner = runner
        self.name = mgmt.name
        self.timeout = timeout

    async def plan(self, source: str, *, to: str) -> int:
        ref, _target, _refuses = await self._check(source, to)
        ready, _consumers = await self._declared(ref)
        return ready

    async def _check(self, source: str, to: str) -> tuple[QueueRef, QueueRef, bool]:
        """The source and target queues, once the move is known to be possible, and whether the target
        can refuse messages (an overflow of reject-publish). The source's existence is checked by the
        passive declare that counts it."""
        ref, target = self.mgmt.naming.parse(source), self.mgmt.naming.parse(to)
        if target.vhost != ref.vhost:
            raise NotPossible(f"{self.name}: a move stays within the queue's vhost {ref.vhost!r}")
        if target.name == ref.name:
            raise UsageError(f"{self.name}: {to!r} is the queue being moved")
        if not await self.mgmt.shovel_enabled():
            raise Unsupported(
                f"{self.name}: the shovel plugin is not enabled (rabbitmq-plugins enable rabbitmq_shovel "
                "rabbitmq_shovel_management); dlq replay --to moves messages through mqtui instead"
            )
        row = await self.mgmt.queue(target)  # the shovel would declare a missing one, as a plain classic queue
        arguments, policy = row.get("arguments") or {}, row.get("effective_policy_definition") or {}
        overflow = str(arguments.get("x-overflow") or policy.get("overflow") or "")
        return ref, target, overflow.startswith("reject-publish")

    async def move(self, source: str, *, to: str, progress: ProgressCallback | None) -> ReplayResult:
        """Start a shovel that moves what `source` holds now to `to`, and follow it until it deletes itself.

        The shovel runs on the broker: when mqtui stops following it (stopped, or no progress for
        `MOVE_STALL` seconds) it goes on, and the result says so.
        """
        ref, target, refuses = await self._check(source, to)
        total, consumers = await self._declared(ref)
        if total == 0:
            return ReplayResult()
        move = _Move(ref, self.mgmt.display(ref.vhost, ref.name), shovel_name(ref.name, time.time()), total,
                     consumers, refuses, progress)  # fmt: skip
        what = "shovel parameters (creating one needs the policymaker tag)"
        await self.mgmt.send("PUT", f"/api/parameters/shovel/{move.path}",
                             {"value": definition(ref.vhost, ref.name, target.name)}, what=what)  # fmt: skip
        try:
            return await self._follow(move)
        except BrokerError as exc:
            raise type(exc)(f"{exc}; shovel {move.name} was started and goes on moving on the broker") from None

    async def _follow(self, move: _Move) -> ReplayResult:
        moved, last_change, total = 0, time.monotonic(), move.total
        while True:
            await asyncio.sleep(MOVE_POLL)
            try:
                await self.mgmt.get(f"/api/parameters/shovel/{move.path}", what=f"shovel {move.name!r}")
            except NotFound:  # src-delete-after reached: the shovel deleted itself
                return await self._moved(move)
            status, row = await asyncio.gather(self._status(move.path), self.mgmt.queue(move.ref))
            sampled = row.get("messages_ready")  # absent until the statistics have a first sample
            now_moved = moved if sampled is None else max(0, min(total, total - number(sampled)))
            if now_moved != moved:
                moved, last_change = now_moved, time.monotonic()
                move.report(moved)
            if status.state == "terminated":
                with contextlib.suppress(NotFound):
                    await self.mgmt.send("DELETE", f"/api/parameters/shovel/{move.path}", what=f"shovel {move.name!r}")
                left = min(total, (await self._declared(move.ref))[0])
                reason = f": {status.reason}" if status.reason else ""
                return ReplayResult(sent=total - left, failed=left, errors=(
                    f"{self.name}: shovel {move.name} stopped{reason}; it was deleted, {left:,} message(s) are in "
                    f"{move.display} (those it did not move, and any dead-lettered since)",
                ))  # fmt: skip
            if time.monotonic() - last_change > MOVE_STALL:
                return ReplayResult(sent=moved, failed=total - moved, errors=(
                    f"{self.name}: shovel {move.name} moved nothing for {MOVE_STALL:g}s; it is still on the broker "
                    "(management UI: Admin > Shovel Status) and moves the rest when it can",
                ))  # fmt: skip

    async def _moved(self, move: _Move) -> ReplayResult:
        """What a finished shovel moved. It deletes itself after confirmed transfers of the source's
        length at its start, so that many moved, except into a target that refuses publishes (a full
        queue with reject-publish): RabbitMQ 3.10 counts a refused message too and leaves it in the
        source. Then the source is counted again, once the shovel's consumer is gone and what it held
        unacked is back, and what is there is taken as refused: a lower bound on what moved, since
        letters dead-lettered meanwhile land there too."""
        total = move.total
        deadline = time.monotonic() + self.timeout
        left, consumers = await self._declared(move.ref)
        while consumers > move.consumers and time.monotonic() < deadline:
            await asyncio.sleep(MOVE_POLL)
            left, consumers = await self._declared(move.ref)
        if not move.refuses:
            move.report(total)
            arrived = (f"{self.name}: {left:,} message(s) are in {move.display} after the move: dead-lettered while it "
                       "ran (new ones, or moved ones that failed again)",)  # fmt: skip
            return ReplayResult(sent=total, errors=arrived if left else ())
        left = min(total, left)
        move.report(total - left)
        if not left:
            return ReplayResult(sent=total)
        return ReplayResult(sent=total - left, failed=left, errors=(
            f"{self.name}: shovel {move.name} ended with {left:,} message(s) in {move.display}: refused by the "
            "destination, which rejects publishes when full (or dead-lettered during the move); nothing was "
            "lost, move again to retry",
        ))  # fmt: skip

    async def _declared(self, ref: QueueRef) -> tuple[int, int]:
        """(messages ready, consumers) now, exactly (a passive declare; the management API samples)."""

        def counts(channel: BlockingChannel, _progress: Progress) -> tuple[int, int]:
            method = channel.queue_declare(ref.name, passive=True).method
            return int(method.message_count), int(method.consumer_count)

        return await self.runner.run(ref.vhost, counts)

    async def _status(self, path: str) -> ShovelStatus:
        try:
            return parse_status(await self.mgmt.get(f"/api/shovels/vhost/{path}"))
        except NotFound:  # defined, not started yet
            return ShovelStatus("")
