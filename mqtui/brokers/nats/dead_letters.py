"""The dead letters of one NATS broker: its DLQ streams, their entries, and replaying or deleting them.

What counts as a DLQ stream and how an entry names its origin is in `dlq`; sending a plan back is in
`replay`. `ensure_dlq_stream` creates the advisory DLQ stream (`create_dlq_stream`) with limits, so it
cannot grow without bound.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from mqtui.brokers.nats import dlq as dlqs
from mqtui.brokers.nats import records
from mqtui.brokers.nats.connection import JetStreamApiError
from mqtui.brokers.nats.jetstream import JetStream
from mqtui.brokers.nats.replay import replay_planned
from mqtui.model import (
    DeadLetter,
    DeadLetterQueue,
    DestinationKind,
    Message,
    ProgressCallback,
    ReplayItem,
    ReplayResult,
)

DEFAULT_DLQ_STREAM = "DLQ"
#: Limits of the advisory DLQ stream mqtui creates: an advisory is about 400 bytes, and past a limit the
#: oldest entries go (the failed messages stay in their streams).
DLQ_STREAM_LIMITS = {"max_age": 7 * 24 * 3600 * 10**9, "max_msgs": 1_000_000, "max_bytes": 1 << 30, "discard": "old"}


async def ensure_dlq_stream(js: JetStream, name: str | None) -> tuple[str, bool]:
    """Create the advisory DLQ stream for the advisory families no stream captures whole; answers what
    happened and whether every advisory is now captured. A family that a stream captures in part (one
    stream's advisories) cannot be captured by a new stream: JetStream refuses overlapping subjects, so
    that is reported instead."""
    name = name or DEFAULT_DLQ_STREAM
    streams = [dlqs.StreamFacts.of(info) for info in await js.streams()]
    if any(s.name == name for s in streams):
        return f"exists: {name}", True
    plan = dlqs.plan_dlq_stream(streams)
    blocked = "; ".join(f"{family} is captured in part by {', '.join(parts)}" for family, parts in plan.blocked)
    if plan.subjects:
        config = {"name": name, "subjects": list(plan.subjects), "storage": "file", "retention": "limits",
                  **DLQ_STREAM_LIMITS}  # fmt: skip
        await js.api(f"STREAM.CREATE.{name}", config)
        created = f"created: {name} ({', '.join(plan.subjects)})"
        return (f"{created}; not captured: {blocked}", False) if blocked else (created, True)
    if blocked:
        return f"not created: {blocked} (JetStream refuses overlapping stream subjects)", False
    return "not needed: other streams capture every advisory", True


class DeadLetters:
    """Dead-letter streams of one broker, found by advisories, naming rules or the configured name."""

    def __init__(self, js: JetStream, rules: Sequence[str], dlq_stream: str | None) -> None:
        self.js = js
        self.name = js.name
        self.rules = rules
        self.dlq_stream = dlq_stream

    async def queues(self) -> list[DeadLetterQueue]:
        with self.js.errors("list dead-letter streams"):
            streams = await self.js.streams()
        facts = {s.name: s for s in (dlqs.StreamFacts.of(info) for info in streams)}
        found = []
        for stream in facts.values():
            if dlqs.captures_advisories(stream.subjects):
                origin, how = dlqs.advisory_origin_stream(stream.subjects), "advisories"
            elif (origin := dlqs.republish_origin(stream, self.rules, facts)) is not None:
                how = "naming rule"
            elif stream.name == self.dlq_stream:
                origin, how = None, "config"
            else:
                continue
            found.append(DeadLetterQueue(
                broker=self.name, name=stream.name, kind=DestinationKind.STREAM, origin=origin,
                count=stream.messages, oldest=stream.first_time, detected_by=how,
            ))  # fmt: skip
        return found

    async def read(self, dlq: str, limit: int) -> list[DeadLetter]:
        with self.js.errors(f"read dead letters of {dlq}"):
            return await self._letters(dlq, ids=None, limit=limit)

    async def _letters(self, dlq: str, *, ids: Collection[str] | None, limit: int | None) -> list[DeadLetter]:
        nc = self.js.conn()
        timeout = self.js.timeout
        stream = dlqs.StreamFacts.of(await self.js.stream(dlq))
        if ids is not None:
            seqs = sorted({int(i) for i in ids if str(i).isdigit()})
            answers = await dlqs.get_stored(nc, [(dlq, seq) for seq in seqs], timeout)
            entries = [records.stored_message(self.name, a) for a in answers if a is not None]
            if limit is not None:
                entries = entries[:limit]
        else:
            entries = await dlqs.read_stream(
                nc, self.name, stream, start=stream.first_seq, limit=limit or stream.messages, timeout=timeout
            )
        if dlqs.captures_advisories(stream.subjects):
            return await self._advisory_letters(entries)
        streams = {s.name: s for s in (dlqs.StreamFacts.of(info) for info in await self.js.streams())}
        origin_name = dlqs.republish_origin(stream, self.rules, streams)
        origin_stream = streams.get(origin_name) if origin_name else None
        letters = []
        for entry in entries:
            texts = dlqs.header_texts(entry)
            letters.append(
                dlqs.republished_letter(entry, dlqs.entry_origin(entry, self.rules, origin_stream, texts), texts)
            )
        return letters

    async def _advisory_letters(self, entries: list[Message]) -> list[DeadLetter]:
        advisories = [dlqs.parse_advisory(e) for e in entries]
        wanted = sorted({(a["stream"], a["stream_seq"]) for a in advisories if a is not None})
        answers = await dlqs.get_stored(self.js.conn(), wanted, self.js.timeout)
        originals = dict(zip(wanted, answers, strict=True))
        letters = []
        for entry, advisory in zip(entries, advisories, strict=True):
            if advisory is None:
                letters.append(dlqs.unreadable_letter(entry))
            else:
                original = originals.get((advisory["stream"], advisory["stream_seq"]))
                letters.append(dlqs.advisory_letter(self.name, entry, original, advisory))
        return letters

    async def _plan(
        self, dlq: str, to: str | None, ids: Collection[str] | None, limit: int | None
    ) -> list[tuple[ReplayItem, DeadLetter]]:
        letters = await self._letters(dlq, ids=ids, limit=limit)
        stored: dict[str, bool] = {}
        plan = []
        for letter in letters:
            target = to or letter.origin
            reason = None
            if letter.gone:
                stream = letter.extra.get("stream")
                reason = f"gone: no longer in stream {stream}" if stream else "not a replayable entry"
            elif not target:
                reason = "origin unknown: use --to"
            else:
                if target not in stored:
                    stored[target] = bool(await self.js.streams_storing(target))
                if not stored[target]:
                    reason = f"no stream stores {target}"
            plan.append((ReplayItem(id=letter.id, target=target or "", skip_reason=reason), letter))
        return plan

    async def plan(
        self, dlq: str, *, to: str | None, ids: Collection[str] | None, limit: int | None
    ) -> list[ReplayItem]:
        with self.js.errors(f"plan the replay of {dlq}"):
            return [item for item, _ in await self._plan(dlq, to, ids, limit)]

    async def replay(
        self,
        dlq: str,
        *,
        to: str | None,
        ids: Collection[str] | None,
        limit: int | None,
        progress: ProgressCallback | None,
    ) -> ReplayResult:
        """Publish each dead letter through JetStream with a stable Nats-Msg-Id, wait for the ack, then
        remove the entry from the DLQ stream (see `replay`). A rerun after a crash republishes with
        the same id, which the target stream drops as a duplicate within its duplicate window (counted
        as skipped)."""
        nc = self.js.conn()
        with self.js.errors(f"replay {dlq}"):
            plan = await self._plan(dlq, to, ids, limit)
            return await replay_planned(
                nc, self.name, dlq, plan, timeout=self.js.timeout, from_start=ids is None, progress=progress
            )

    async def _delete_entry(self, stream: str, seq: int) -> bool:
        try:
            answer = await self.js.api(f"STREAM.MSG.DELETE.{stream}", {"seq": seq, "no_erase": True})
        except JetStreamApiError as exc:
            if exc.not_found:
                return False
            raise
        return bool(answer.get("success"))

    async def delete(self, dlq: str, ids: Collection[str]) -> int:
        with self.js.errors(f"delete dead letters from {dlq}"):
            await self.js.stream(dlq)
            outcomes = await self.js.bounded([self._delete_entry(dlq, int(i)) for i in ids if str(i).isdigit()])
        return sum(outcomes)
