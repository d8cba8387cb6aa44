"""Sending planned JetStream dead letters back, and removing each from its DLQ stream once acknowledged.

Each copy is published with a stable `Nats-Msg-Id` (`dlq.replay_id`), the application's own id kept as
`mqtui-original-msg-id` and `mqtui-replayed-from: <dlq>/<seq>` saying where it came from
(`dlq.replay_headers`), and the entry is removed from the DLQ only after the copy's acknowledgement, so a
rerun after a crash republishes at most what was acknowledged but not yet removed, and the target stream
drops those as duplicates within its duplicate window. Work goes in windows of `WINDOW` dead letters: publish them all, wait for their acks together,
remove the acknowledged entries, then the next window (SAFETY.md counts what a crash can leave in
these windows).

Requests go through `pipeline.Pipeline`. While every planned entry from the start of the DLQ up
to a window's end was acknowledged, the window is removed with one STREAM.PURGE up to its last
sequence instead of one STREAM.MSG.DELETE per entry; from the first entry that is skipped or fails
(and for a replay of picked ids) entries are deleted one by one, so nothing that stays a dead letter is
ever purged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from nats.aio.client import Client
from nats.aio.msg import Msg

from mqtui.brokers.nats.connection import JetStreamApiError, JetStreamDisabled
from mqtui.brokers.nats.dlq import replay_headers, replay_id
from mqtui.brokers.nats.pipeline import Pipeline, api_answer
from mqtui.errors import BrokerUnavailable
from mqtui.model import DeadLetter, ProgressCallback, ReplayItem, ReplayResult

WINDOW = 64
"""Dead letters published and not yet acknowledged at any moment (also what a crash can leave behind)."""


@dataclass
class _Tally:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


async def replay_planned(
    nc: Client,
    broker: str,
    dlq: str,
    plan: Sequence[tuple[ReplayItem, DeadLetter]],
    *,
    timeout: float,
    from_start: bool,
    progress: ProgressCallback | None,
) -> ReplayResult:
    """Replay the plan's sendable dead letters; `from_start`: the plan holds the DLQ's entries from its
    first one on, in order (not picked ids), which is what allows purging instead of deleting."""
    todo = sorted(((i, letter) for i, letter in plan if i.skip_reason is None), key=lambda pair: int(pair[0].id))
    tally = _Tally(skipped=len(plan) - len(todo))  # gone, origin unknown, or nowhere to store: see the plan
    kept = [int(item.id) for item, _ in plan if item.skip_reason is not None]
    purge_below = min(kept, default=None)  # no purge may reach this entry, which stays a dead letter
    purging = from_start
    replayed_at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    async with Pipeline(nc) as pipeline:
        for begin in range(0, len(todo), WINDOW):
            chunk = todo[begin : begin + WINDOW]
            requests = [
                (
                    item.target,
                    letter.message.value,
                    replay_headers(letter.message, replay_id(letter, dlq), f"{dlq}/{letter.id}", replayed_at),
                )
                for item, letter in chunk
            ]
            replies = await pipeline.window(requests, timeout)
            acked = [int(item.id) for (item, _), reply in zip(chunk, replies, strict=True)
                     if _settle(tally, broker, dlq, item, reply)]  # fmt: skip
            if len(acked) < len(chunk) and not nc.is_connected:
                # Every later window would wait out the timeout as well. A rerun finishes the job:
                # copies that did reach the stream are then dropped as duplicates by their Msg-Id.
                raise BrokerUnavailable(
                    f"{broker}: connection lost while replaying {dlq} ({tally.sent} sent); run the replay again"
                )
            last = int(chunk[-1][0].id)
            purging = purging and len(acked) == len(chunk) and (purge_below is None or last < purge_below)
            if purging:
                purging = await _purge(pipeline, dlq, last, timeout)
            if not purging:
                for seq, deleted in zip(acked, await _delete(pipeline, dlq, acked, timeout), strict=True):
                    if not deleted:
                        tally.errors.append(f"{broker}: {dlq} #{seq} was replayed but could not be deleted")
            if progress is not None:
                progress(begin + len(chunk), len(todo))
    return ReplayResult(sent=tally.sent, failed=tally.failed, skipped=tally.skipped, errors=tuple(tally.errors))


def _settle(tally: _Tally, broker: str, dlq: str, item: ReplayItem, reply: Msg | None) -> bool:
    """Count one publish's outcome; True when the target stream holds the copy (sent or duplicate)."""
    try:
        ack = api_answer(reply)
    except JetStreamApiError as exc:
        tally.failed += 1
        tally.errors.append(f"{broker}: {dlq} #{item.id}: {exc.description}")
        return False
    except (TimeoutError, JetStreamDisabled):
        tally.failed += 1
        tally.errors.append(f"{broker}: {dlq} #{item.id}: no acknowledgement from {item.target}")
        return False
    if ack.get("duplicate"):
        tally.skipped += 1
    else:
        tally.sent += 1
    return True


async def _purge(pipeline: Pipeline, dlq: str, last: int, timeout: float) -> bool:
    """Remove every entry of the DLQ up to `last` at once; False when the stream refuses purges."""
    [reply] = await pipeline.window([pipeline.api_request(f"STREAM.PURGE.{dlq}", {"seq": last + 1})], timeout)
    try:
        return bool(api_answer(reply).get("success"))
    except JetStreamApiError:  # deny_purge, say: delete one by one instead
        return False


async def _delete(pipeline: Pipeline, dlq: str, seqs: Sequence[int], timeout: float) -> list[bool]:
    """Delete DLQ entries side by side; False for one that was already gone."""
    replies = await pipeline.window(
        [pipeline.api_request(f"STREAM.MSG.DELETE.{dlq}", {"seq": seq, "no_erase": True}) for seq in seqs], timeout
    )
    deleted = []
    for reply in replies:
        try:
            deleted.append(bool(api_answer(reply).get("success")))
        except JetStreamApiError as exc:
            if not exc.not_found:
                raise
            deleted.append(False)
    return deleted
