"""Moving Redis dead letters back, each in one atomic server-side step.

A crash of mqtui or of Redis at any point leaves each message either still a dead letter or at its
destination, never both and never neither, and running the replay again finishes the rest:
- list -> list: LMOVE (DLQ's oldest end to the target's newest end), one element per command;
- list -> stream, list by id, RQ, Dramatiq: a Lua script per dead letter that first checks it is still there
  (so a repeated or retried call does nothing) and the target's type (so no write can fail after the
  source was changed), then copies and removes it;
- stream -> anything, pending -> anything: the same checks and moves, for a whole batch of BATCH
  entries in one script call (one call per entry cost more than the moves, on the client and on the
  server); the batch is atomic as a whole, and each entry gets its own answer;
- a stream entry of more than about 3,500 fields, which no Lua call can pass on: one MULTI/EXEC whose
  closing script keeps the copy only if the original was still a dead letter (see `bigentry`), moved
  after the rest of its batch of BATCH.

A target that does not exist yet is created as the kind the dead letters come from (a list from a
DLQ list, a stream otherwise). A stream entry sent to a list pushes its `data` field, or all its fields
as one JSON object when it has none (the value mqtui shows for it; an entry with the fields of the
{"id","type","payload","timestamp"} shape becomes that message); a list element sent to a stream
becomes the field `data`. Elements are moved byte for byte, so a replayed JSON message keeps its id.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from itertools import groupby
from typing import TYPE_CHECKING, Any

from mqtui.brokers.redis import dramatiq, jobs
from mqtui.brokers.redis.bigentry import MAX_SCRIPT_VALUES, TOO_BIG, BigEntryMover
from mqtui.brokers.redis.letters import DlqRef, Letters, element_id
from mqtui.brokers.redis.streams import stream_message
from mqtui.model import ProgressCallback, ReplayItem, ReplayResult

if TYPE_CHECKING:
    from redis.asyncio import Redis

BATCH = 100

#: KEYS: source stream, target. ARGV: target mode (stream|list), group ('' = DLQ stream), '1' to XDEL
#: the source entries, then per entry its id, and for a list target also '1' and the value to LPUSH
#: (read beforehand: entries never change), or '0' and '' when that read found no entry. Each entry is
#: checked and moved as if alone (nothing else runs during a script, so the batch is atomic as a whole).
#: The errors a check can raise (NOGROUP, WRONGTYPE) would come alike for every entry, so at the first,
#: before any write; and no write of an entry follows a check that could fail, so even an error midway
#: would leave the entries before it moved and the rest untouched. Returns one code per entry: 1 moved,
#: 0 no longer pending/present, -2 entry deleted from the stream, -3 target has another type, -5 the
#: entry was not there when its value was read (left alone), TOO_BIG: too many fields for one command
#: here (see `bigentry`).
_MOVE_STREAM_ENTRIES = f"""
local mode, group, delete = ARGV[1], ARGV[2], ARGV[3]
local t = redis.call('TYPE', KEYS[2])['ok']
local wrong_type = t ~= 'none' and t ~= mode
local stride = 1
if mode == 'list' then stride = 3 end
local codes = {{}}
for i = 4, #ARGV, stride do
  local id = ARGV[i]
  local code = 1
  if wrong_type then
    code = -3
  elseif group ~= '' and #redis.call('XPENDING', KEYS[1], group, id, id, 1) == 0 then
    code = 0
  else
    local entry = redis.call('XRANGE', KEYS[1], id, id)
    if #entry == 0 then
      if group == '' then code = 0 else code = -2 end
    elseif mode == 'list' then
      if ARGV[i + 1] == '1' then redis.call('LPUSH', KEYS[2], ARGV[i + 2]) else code = -5 end
    elseif #entry[1][2] > {MAX_SCRIPT_VALUES} then
      code = {TOO_BIG}
    else
      redis.call('XADD', KEYS[2], '*', unpack(entry[1][2]))
    end
  end
  if code == 1 then
    if group ~= '' then redis.call('XACK', KEYS[1], group, id) end
    if delete == '1' then redis.call('XDEL', KEYS[1], id) end
  end
  codes[#codes + 1] = code
end
return codes
"""

#: KEYS: DLQ list, target. ARGV: element, target mode. Moves the oldest occurrence of that element.
_MOVE_LIST_VALUE = """
local t = redis.call('TYPE', KEYS[2])['ok']
if t ~= 'none' and t ~= ARGV[2] then return -3 end
if redis.call('LREM', KEYS[1], -1, ARGV[1]) == 0 then return 0 end
if ARGV[2] == 'stream' then
  redis.call('XADD', KEYS[2], '*', 'data', ARGV[1])
else
  redis.call('LPUSH', KEYS[2], ARGV[1])
end
return 1
"""

#: KEYS: DLQ list, target stream. Moves the DLQ's oldest element into the stream as field `data`.
_POP_LIST_TO_STREAM = """
local t = redis.call('TYPE', KEYS[2])['ok']
if t ~= 'none' and t ~= 'stream' then return -3 end
local value = redis.call('RPOP', KEYS[1])
if not value then return 0 end
redis.call('XADD', KEYS[2], '*', 'data', value)
return 1
"""

#: RQ's FailedJobRegistry.requeue in one step. KEYS: registry, job hash, queue list, rq:queues.
#: ARGV: job id, queue name, enqueued_at. Returns 1, 0 (not in the registry), -2 (job hash gone), -3.
_RQ_REQUEUE = """
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
if redis.call('EXISTS', KEYS[2]) == 0 then return -2 end
local t = redis.call('TYPE', KEYS[3])['ok']
if t ~= 'none' and t ~= 'list' then return -3 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'status', 'queued', 'origin', ARGV[2], 'enqueued_at', ARGV[3],
           'started_at', '', 'ended_at', '')
redis.call('HDEL', KEYS[2], 'exc_info')
redis.call('RPUSH', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[4], KEYS[3])
return 1
"""

#: KEYS: registry, job hash, results stream, dependents set. ARGV: job id.
_RQ_DELETE = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
return 1
"""

_OUTCOMES = {
    0: "already gone from the dead-letter queue",
    -2: "the message no longer exists (deleted or trimmed)",
    -3: "the target changed type",
    -5: "the message changed while it was read (left in place)",
    -6: "the copy did not reach the target (nothing was removed)",
}


@dataclass
class Planned:
    """One dead letter of a plan: where it goes (or why not) and what moving it needs."""

    item: ReplayItem
    value: bytes | None = None
    entry_id: str | None = None
    origin: str | None = None
    mode: str = "list"
    duplicate: bool = False


class Requeuer:
    """Moves and deletes dead letters of resolved DLQs on one client; `raw` maps a shown name to its key."""

    def __init__(
        self, client: Redis, broker: str, raw: Callable[[str], bytes], letters: Letters, dead: dramatiq.DeadMessages
    ) -> None:
        self.client = client
        self.dramatiq = dead
        self.broker = broker
        self.raw = raw
        self.letters = letters
        self._move_entries = client.register_script(_MOVE_STREAM_ENTRIES)
        self._move_value = client.register_script(_MOVE_LIST_VALUE)
        self._pop_to_stream = client.register_script(_POP_LIST_TO_STREAM)
        self._rq_requeue = client.register_script(_RQ_REQUEUE)
        self._rq_delete = client.register_script(_RQ_DELETE)
        self._big = BigEntryMover(client)

    async def move(
        self, ref: DlqRef, plans: list[Planned], *, by_value: bool, progress: ProgressCallback | None
    ) -> ReplayResult:
        """Move every planned dead letter not skipped, BATCH at a time; `by_value`: list elements picked by id."""
        todo = [p for p in plans if p.item.skip_reason is None]
        sent = failed = duplicates = 0
        skipped = len(plans) - len(todo)
        errors = [f"{p.item.id}: {p.item.skip_reason}" for p in plans if p.item.skip_reason][:20]
        for start in range(0, len(todo), BATCH):
            batch = todo[start : start + BATCH]
            if ref.kind in ("stream", "pending"):
                outcomes = await self._move_stream_entries(ref, batch)
            else:
                pipe = self.client.pipeline(transaction=False)
                for planned in batch:
                    await self._queue_move(pipe, ref, planned, by_value)
                outcomes = await pipe.execute(raise_on_error=False)
            for planned, outcome in zip(batch, outcomes, strict=True):
                code = _code(outcome)
                if code == TOO_BIG:
                    outcome = await self._move_big(ref, planned)
                    code = _code(outcome)
                if code == 1:
                    sent += 1
                    duplicates += planned.duplicate
                elif code == 0:
                    skipped += 1
                else:
                    failed += 1
                    reason = str(outcome) if isinstance(outcome, Exception) else _OUTCOMES.get(code, str(code))
                    if len(errors) < 20:
                        errors.append(f"{planned.item.id}: {reason}")
            if progress is not None:
                progress(min(start + BATCH, len(todo)), len(todo))
        return ReplayResult(sent=sent, failed=failed, skipped=skipped, duplicates=duplicates, errors=tuple(errors))

    async def _move_stream_entries(self, ref: DlqRef, batch: list[Planned]) -> list[Any]:
        """One script call per run of entries with the same target (a plan has one): one outcome per
        entry, a code or the server's error. One call moves a whole batch, instead of one per entry: the
        per-call cost on both sides (packing, a reply, the script's set-up) was most of a move's time."""
        from redis.exceptions import ResponseError

        outcomes: list[Any] = []
        for (target, mode), entries in groupby(batch, key=lambda planned: (planned.item.target, planned.mode)):
            run = list(entries)
            values = await self._list_values(ref, run) if mode == "list" else {}
            delete = "1" if ref.kind == "stream" or target == ref.origin else "0"
            args: list[str | bytes] = [mode, ref.group or "", delete]
            for planned in run:
                assert planned.entry_id is not None
                args.append(planned.entry_id)
                if mode == "list":
                    value = values.get(planned.entry_id)
                    args += ["0", b""] if value is None else ["1", value]
            try:
                outcomes += await self._move_entries(keys=[ref.key, self.raw(target)], args=args)
            except ResponseError as exc:
                outcomes += [exc] * len(run)
        return outcomes

    async def _list_values(self, ref: DlqRef, batch: list[Planned]) -> dict[str, bytes]:
        """What each stream entry of `batch` going to a list becomes there: its `data` field, else all its
        fields as a JSON object (the value mqtui shows for it, so a {"id", ...} message keeps its id)."""
        wanted = [p.entry_id for p in batch if p.entry_id]
        if not wanted:
            return {}
        pipe = self.client.pipeline(transaction=False)
        for entry_id in wanted:
            pipe.xrange(ref.key, entry_id, entry_id)
        values = {}
        for entry_id, entries in zip(wanted, await pipe.execute(raise_on_error=False), strict=True):
            if entries and not isinstance(entries, Exception):
                values[entry_id] = stream_message(self.broker, ref.name, entries[0]).value
        return values

    async def _move_big(self, ref: DlqRef, planned: Planned) -> int | Exception:
        """The move of an entry the script refused as too big; a server error is an outcome, as in a pipeline."""
        from redis.exceptions import ResponseError

        assert planned.entry_id is not None
        delete = ref.kind == "stream" or planned.item.target == ref.origin
        target = self.raw(planned.item.target)
        try:
            return await self._big.move(ref.key, target, planned.entry_id, ref.group, delete)
        except ResponseError as exc:
            return exc

    async def _queue_move(self, pipe: Any, ref: DlqRef, planned: Planned, by_value: bool) -> None:
        target = self.raw(planned.item.target)
        if ref.kind == "list" and not by_value:
            if planned.mode == "list":
                pipe.lmove(ref.key, target, "RIGHT", "LEFT")
            else:
                await self._pop_to_stream(keys=[ref.key, target], client=pipe)
        elif ref.kind == "list":
            assert planned.value is not None  # a plan by id reads each element it moves
            await self._move_value(keys=[ref.key, target], args=[planned.value, planned.mode], client=pipe)
        elif ref.kind == "dramatiq":
            dead_set = dramatiq.dead_set(ref.name)
            assert dead_set is not None
            await self.dramatiq.queue_requeue(pipe, dead_set, planned.item.id, planned.item.target)
        else:
            assert planned.origin is not None  # a job without an origin queue is skipped, never moved
            job_key = f"{jobs.RQ_JOB_PREFIX}{planned.item.id}"
            keys: list[bytes | str] = [ref.key, job_key, planned.item.target, jobs.RQ_QUEUES_SET]
            await self._rq_requeue(keys=keys, args=[planned.item.id, planned.origin, jobs.rq_now()], client=pipe)

    async def delete(self, ref: DlqRef, ids: Collection[str]) -> int:
        wanted = set(ids)
        if ref.kind == "stream":
            return int(await self.client.xdel(ref.key, *wanted)) if wanted else 0
        if ref.kind == "pending":
            assert ref.group is not None
            return int(await self.client.xack(ref.key, ref.group, *wanted)) if wanted else 0
        if ref.kind == "dramatiq":
            dead_set = dramatiq.dead_set(ref.name)
            assert dead_set is not None
            return await self.dramatiq.delete(dead_set, wanted)
        pipe = self.client.pipeline(transaction=False)
        queued = 0
        if ref.kind == "list":
            async for _, value in self.letters.list_elements(ref.key):
                if element_id(value) in wanted:
                    pipe.lrem(ref.key, -1, value)  # type: ignore[arg-type]  # annotated str; LREM takes any bytes
                    queued += 1
        else:
            for job_id in wanted:
                job_keys: list[bytes | str] = [ref.key, f"{jobs.RQ_JOB_PREFIX}{job_id}", f"rq:results:{job_id}",
                                               f"{jobs.RQ_JOB_PREFIX}{job_id}:dependents"]  # fmt: skip
                await self._rq_delete(keys=job_keys, args=[job_id], client=pipe)
                queued += 1
        if not queued:
            return 0
        return sum(_code(outcome) == 1 for outcome in await pipe.execute(raise_on_error=False))


def _code(outcome: Any) -> int:
    """LMOVE answers the moved element (or nil); the scripts answer a number."""
    if isinstance(outcome, Exception):
        return -99
    if outcome is None:
        return 0
    if isinstance(outcome, bytes):
        return 1
    return int(outcome)
