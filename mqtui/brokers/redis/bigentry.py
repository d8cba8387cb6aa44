"""Moving a stream entry too big for a Lua script into another stream, still in one atomic step.

Redis's Lua cannot pass more than about 8,000 arguments to one command (`unpack` stops at its C stack,
LUAI_MAXCSTACK), so the move script of `requeue` refuses an entry of more than `MAX_SCRIPT_VALUES`
field names and values (about 3,500 fields) before writing anything of it. Such an entry is read by the
client, then sent back in one MULTI/EXEC: the XADD of the copy, then `_FINISH`. Nothing runs between
the commands of a MULTI/EXEC, so `_FINISH` finds the copy as the target's newest entry, and decides
there, under the same lock as the move script: if the original is still a dead letter (the move
script's conditions: still pending in the group, still in the stream) it acks and deletes it, else it
deletes the copy it has just made (and the target, if the copy created it). A consumer acking the
entry, or another replay taking it, between the read and the MULTI/EXEC therefore leaves no copy and
the move counts as skipped: each dead letter is moved exactly once. A crash of mqtui or Redis leaves
the whole transaction or none of it.

`_FINISH` removes only an entry byte for byte equal to the copy (same count and SHA-1 of the field
names and values), so an XADD that failed (the target is no longer a stream) deletes nothing.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from mqtui.brokers.redis.streams import xrange

if TYPE_CHECKING:
    from redis.asyncio import Redis

#: A move script gives up (answers TOO_BIG) on entries with more field names and values than this.
MAX_SCRIPT_VALUES = 7000
TOO_BIG = -4

#: KEYS: source stream, target stream. ARGV: entry id, group ('' = DLQ stream), '1' to XDEL the
#: original, number of field names and values of the copy, their `digest`. Returns the move script's
#: codes: 1 moved, 0 no longer pending/present (copy removed), -2 entry deleted while still pending
#: (copy removed), -3 the target is not a stream (no copy), -6 the target's newest entry is not the
#: copy (nothing removed); a source that can no longer be read (group or key gone, other type)
#: answers its error, the copy removed.
_FINISH = """
if redis.call('TYPE', KEYS[2])['ok'] ~= 'stream' then return -3 end
local newest = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
if #newest == 0 or #newest[1][2] ~= tonumber(ARGV[4]) then return -6 end
local parts = {}
for i, value in ipairs(newest[1][2]) do parts[i] = #value .. ':' .. value end
if redis.sha1hex(table.concat(parts)) ~= ARGV[5] then return -6 end
local function undo(answer)
  redis.call('XDEL', KEYS[2], newest[1][1])
  if redis.call('XLEN', KEYS[2]) == 0 then
    local info = redis.call('XINFO', 'STREAM', KEYS[2])
    local added, groups
    for i = 1, #info, 2 do
      if info[i] == 'entries-added' then added = info[i + 1] end
      if info[i] == 'groups' then groups = info[i + 1] end
    end
    if added == 1 and groups == 0 then redis.call('DEL', KEYS[2]) end
  end
  return answer
end
if ARGV[2] ~= '' then
  local pending = redis.pcall('XPENDING', KEYS[1], ARGV[2], ARGV[1], ARGV[1], 1)
  if pending['err'] then return undo(pending) end
  if #pending == 0 then return undo(0) end
end
local original = redis.pcall('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if original['err'] then return undo(original) end
if #original == 0 then
  if ARGV[2] == '' then return undo(0) end
  return undo(-2)
end
if ARGV[2] ~= '' then redis.call('XACK', KEYS[1], ARGV[2], ARGV[1]) end
if ARGV[3] == '1' then redis.call('XDEL', KEYS[1], ARGV[1]) end
return 1
"""


def digest(values: list[bytes]) -> str:
    """SHA-1 of the field names and values, each as `<length>:<bytes>` (as `_FINISH` computes it)."""
    return hashlib.sha1(b"".join(b"%d:%s" % (len(value), value) for value in values)).hexdigest()


class BigEntryMover:
    """The client-side move of `dlq`'s stream entries that no script can copy."""

    def __init__(self, client: Redis) -> None:
        self.client = client
        self._finish = client.register_script(_FINISH)

    async def move(self, source: bytes, target: bytes, entry_id: str, group: str | None, delete: bool) -> int:
        """The move script's codes (see `_FINISH`): read the entry, then copy and settle it in one step."""
        values = await self.read(source, entry_id, group)
        if isinstance(values, int):
            return values
        return await self.commit(source, target, entry_id, values, group, delete)

    async def read(self, source: bytes, entry_id: str, group: str | None) -> list[bytes] | int:
        """The entry's field names and values, or the code for an entry gone since the script saw it.

        Only a hint: whatever happens after this read, `commit` decides again under the lock."""
        entry = await xrange(self.client, source, entry_id, entry_id)
        if entry:
            return [part for pair in entry[0][1] for part in pair]
        if group is None:
            return 0
        return -2 if await self.client.xpending_range(source, group, min=entry_id, max=entry_id, count=1) else 0

    async def commit(
        self, source: bytes, target: bytes, entry_id: str, values: list[bytes], group: str | None, delete: bool
    ) -> int:
        """One MULTI/EXEC: XADD of the copy, then `_FINISH`, which keeps it only if the original was
        still a dead letter. A server error of `_FINISH` is raised (the copy is gone by then)."""
        pipe = self.client.pipeline(transaction=True)
        pipe.execute_command("XADD", target, "*", *values)
        args = [entry_id, group or "", "1" if delete else "0", len(values), digest(values)]
        await self._finish(keys=[source, target], args=args, client=pipe)
        _, outcome = await pipe.execute(raise_on_error=False)
        if isinstance(outcome, Exception):
            raise outcome
        return int(outcome)
