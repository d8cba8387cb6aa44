"""Reading, requeueing and deleting dead letters, on the adapter's worker thread (blocking pika calls).

Reading never loses a message: the DLQ is consumed with manual acks and a prefetch as large as what is
read, then the consumer is cancelled and everything read is nacked with requeue, so each message goes
back to its place (marked redelivered; on a quorum DLQ with a delivery-limit that counts as a delivery).

A requeue consumes the DLQ with manual acks and a prefetch of PREFETCH (the broker pushes the next
dead letters while one is being published, where basic.get cost a round trip each), publishes one dead
letter at a time to its target with publisher confirms and `mandatory`, and acks it only after the
confirm; the journal (`journal`) covers a death between the two. One publish at a time keeps
a kill -9 from duplicating more than the one message in flight; the prefetched ones were never
published and go back to the DLQ with the connection. Dead letters left in place (not selected,
skipped, unroutable) stay unacked until the end and are then nacked back together; a count taken at
the start bounds the scan, so messages dead-lettered again while the requeue runs are not picked up
twice (those prefetched past it are handed back unread when the consumer is cancelled).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from mqtui.brokers.rabbitmq.amqp import Progress, text
from mqtui.brokers.rabbitmq.deaths import Death, dead_letter_id, deaths
from mqtui.brokers.rabbitmq.journal import RequeueJournal
from mqtui.model import ProgressCallback, ReplayResult

#: The most messages one read holds at once (AMQP's prefetch count is a 16-bit number).
MAX_BROWSE = 65_535
#: Dead letters a requeue has delivered ahead of the one it is publishing.
PREFETCH = 50
REQUEUE_COUNT = "x-mqtui-requeue-count"
REQUEUED_AT = "x-mqtui-requeued-at"


@dataclass(frozen=True)
class Delivery:
    tag: int
    exchange: str
    routing_key: str
    redelivered: bool
    properties: pika.BasicProperties
    body: bytes
    deaths: tuple[Death, ...]
    id: str

    @property
    def headers(self) -> Mapping[str, Any]:
        headers = self.properties.headers
        return headers if isinstance(headers, Mapping) else {}


def delivery(method: Any, properties: pika.BasicProperties, body: bytes | None) -> Delivery:
    headers = properties.headers if isinstance(properties.headers, Mapping) else {}
    entries = tuple(deaths(headers))
    stamp = properties.timestamp if isinstance(properties.timestamp, int) else None
    raw = bytes(body or b"")
    ident = dead_letter_id(
        raw,
        message_id=text(properties.message_id) if properties.message_id is not None else None,
        correlation_id=text(properties.correlation_id) if properties.correlation_id is not None else None,
        timestamp=stamp,
        entries=entries,
    )
    return Delivery(
        tag=method.delivery_tag,
        exchange=text(method.exchange),
        routing_key=text(method.routing_key),
        redelivered=bool(method.redelivered),
        properties=properties,
        body=raw,
        deaths=entries,
        id=ident,
    )


@dataclass(frozen=True)
class Target:
    """Where a dead letter goes: an exchange and routing key, with the name a preview shows."""

    exchange: str
    routing_key: str
    label: str


TargetResolver = Callable[[Delivery], "Target | str"]
"""A dead letter's target, or the reason it has none (it is then skipped)."""


def browse(channel: BlockingChannel, queue: str, limit: int, progress: Progress, idle: float) -> list[Delivery]:
    """Up to `limit` messages from the head of `queue`, all returned to it before this answers."""
    declared = channel.queue_declare(queue, passive=True)
    want = min(declared.method.message_count, limit, MAX_BROWSE)
    if want <= 0:
        return []
    channel.basic_qos(prefetch_count=want)
    found: list[Delivery] = []
    try:
        for method, properties, body in channel.consume(queue, inactivity_timeout=idle):
            if method is None:  # another consumer took the rest
                break
            found.append(delivery(method, properties, body))
            progress.check()
            if len(found) >= want:
                break
    finally:
        channel.cancel()
        if found:
            channel.basic_nack(found[-1].tag, multiple=True, requeue=True)
    return found


def requeued_properties(properties: pika.BasicProperties) -> pika.BasicProperties:
    """The dead letter's own properties, with headers counting and dating this requeue."""
    headers = dict(properties.headers) if isinstance(properties.headers, Mapping) else {}
    previous = headers.get(REQUEUE_COUNT)
    headers[REQUEUE_COUNT] = (previous if isinstance(previous, int) and not isinstance(previous, bool) else 0) + 1
    headers[REQUEUED_AT] = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    result = copy.copy(properties)
    result.headers = headers
    return result


class _Scan:
    """One pass over a DLQ, holding back (unacked) what it leaves in place.

    With `prefetch`, the DLQ is consumed: the broker sends up to `prefetch` unacked dead letters ahead,
    and an `idle` wait with nothing delivered ends the scan (another consumer took the rest). Held dead
    letters stay unacked and so use up the prefetch: once half of it is held, the scan hands back what
    was sent ahead and goes on with basic.get, which no prefetch limits. Without `prefetch`, each dead
    letter is one basic.get from the start.
    """

    def __init__(self, channel: BlockingChannel, queue: str, *, prefetch: int = 0, idle: float = 2.0) -> None:
        self.channel = channel
        self.queue = queue
        self.held: set[str] = set()
        self.holds = 0
        self.last_held_tag = 0
        """Nacking with `multiple` must name a tag still outstanding: the newest held one."""
        self._switch_at = max(1, prefetch // 2)
        self._deliveries: Iterator[tuple[Any, Any, Any]] | None = None
        if prefetch:
            channel.basic_qos(prefetch_count=prefetch)
            self._deliveries = channel.consume(queue, inactivity_timeout=idle)

    def next(self) -> Delivery | None:
        if self._deliveries is not None and self.holds >= self._switch_at:
            self._stop_consuming()
        if self._deliveries is None:
            method, properties, body = self.channel.basic_get(self.queue, auto_ack=False)
        else:  # the generator ends when the broker cancels the consumer (the DLQ was deleted)
            method, properties, body = next(self._deliveries, (None, None, None))
        return None if method is None else delivery(method, properties, body)

    def hold(self, letter: Delivery) -> None:
        self.held.add(letter.id)
        self.holds += 1
        self.last_held_tag = letter.tag

    def _stop_consuming(self) -> None:
        """Cancel the consumer; pika rejects (requeues) one by one what was sent ahead and not yet read."""
        self._deliveries = None
        self.channel.cancel()

    def finish(self) -> None:
        """Hand back what was sent ahead and not read, then every held dead letter, all at once."""
        if self._deliveries is not None:
            self._stop_consuming()
        if self.last_held_tag:
            self.channel.basic_nack(self.last_held_tag, multiple=True, requeue=True)


def requeue(
    channel: BlockingChannel,
    queue: str,
    *,
    resolve: TargetResolver,
    ids: Collection[str] | None,
    limit: int | None,
    journal: RequeueJournal,
    progress: Progress,
    report: ProgressCallback | None,
    prefetch: int = PREFETCH,
    idle: float = 2.0,
) -> ReplayResult:
    """Move dead letters of `queue` to their targets; see the module docstring for the guarantees.

    `prefetch=0` takes each dead letter with basic.get: on a quorum DLQ with a delivery limit, a dead
    letter sent ahead and handed back unread would lose a delivery for nothing.
    """
    channel.confirm_delivery()
    total = channel.queue_declare(queue, passive=True).method.message_count
    wanted = set(ids) if ids else None
    planned = min(total, limit) if limit is not None else total
    if wanted is not None:
        planned = min(planned, len(wanted))
    # No more is sent ahead than the scan may look at: the DLQ's count, or what a limit lets through.
    ahead = min(prefetch, total if wanted is not None or limit is None else max(planned, 1))
    scan = _Scan(channel, queue, prefetch=ahead, idle=idle)
    sent = failed = skipped = duplicates = 0
    errors: list[str] = []
    found: set[str] = set()
    examined = 0
    whole_queue = True
    try:
        while examined < total:
            if limit is not None and sent + failed >= limit:
                whole_queue = False
                break
            progress.check()
            letter = scan.next()
            if letter is None:
                break
            examined += 1
            if wanted is not None and letter.id not in wanted:
                scan.hold(letter)
                continue
            found.add(letter.id)
            target = resolve(letter)
            if isinstance(target, str):
                skipped += 1
                errors.append(f"{letter.id}: skipped: {target}")
                scan.hold(letter)
                continue
            if journal.already_at_target(letter.id):
                # An interrupted run got the confirm for this copy but its ack did not stick.
                channel.basic_ack(letter.tag)
                sent += 1
            else:
                maybe_duplicate = journal.will_publish(letter.id)
                try:
                    channel.basic_publish(
                        target.exchange,
                        target.routing_key,
                        letter.body,
                        requeued_properties(letter.properties),
                        mandatory=True,
                    )
                except (pika.exceptions.UnroutableError, pika.exceptions.NackError) as exc:
                    journal.unpublished(letter.id)
                    failed += 1
                    why = "unroutable" if isinstance(exc, pika.exceptions.UnroutableError) else "refused by the broker"
                    errors.append(f"{letter.id}: {why} to {target.label}; left in the DLQ")
                    scan.hold(letter)
                    continue
                journal.published(letter.id)
                channel.basic_ack(letter.tag)
                sent += 1
                duplicates += int(maybe_duplicate)
            if report is not None:
                report(sent + failed, planned)
        scan.finish()
        if whole_queue:
            journal.compact(scan.held)
    finally:
        journal.close()
    return _result(sent, failed, skipped, duplicates, errors, wanted, found)


def _result(
    sent: int, failed: int, skipped: int, duplicates: int, errors: list[str], wanted: set[str] | None, found: set[str]
) -> ReplayResult:
    """The requeue's counts, with each selected id that was not in the DLQ skipped."""
    if wanted is not None:
        for ident in sorted(wanted - found):
            skipped += 1
            errors.append(f"{ident}: not in the DLQ")
    return ReplayResult(sent=sent, failed=failed, skipped=skipped, duplicates=duplicates, errors=tuple(errors))


def delete(channel: BlockingChannel, queue: str, ids: Collection[str], progress: Progress) -> int:
    """Ack (remove) the dead letters with these ids; every other message goes back untouched."""
    total = channel.queue_declare(queue, passive=True).method.message_count
    wanted = set(ids)
    scan = _Scan(channel, queue)
    deleted = 0
    for _ in range(total):
        progress.check()
        letter = scan.next()
        if letter is None:
            break
        if letter.id in wanted:
            channel.basic_ack(letter.tag)
            deleted += 1
        else:
            scan.hold(letter)
    scan.finish()
    return deleted
