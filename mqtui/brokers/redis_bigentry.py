"""Moving a stream entry too big for a Lua script into another stream, still in one atomic step.

Redis's Lua cannot pass more than about 8,000 arguments to one command (`unpack` stops at its C stack,
LUAI_MAXCSTACK), so the move script of `redis_dlq` refuses an entry of more than `MAX_SCRIPT_VALUES`
field names and values (about 3,500 fields) before writing anything. Such an entry is copied here by
the client instead: it reads the entry, then sends in one MULTI/EXEC the XADD of the copy followed by
`_FINISH`, a script that runs right after it with nothing in between. `_FINISH` acks (XACK) and
deletes (XDEL) the original only when the target's newest entry is that copy, so an XADD that failed
(the target changed type since it was checked) removes nothing. A crash of mqtui or Redis leaves
either the whole transaction or none of it, as with the script.

What a script checks under the same lock, the client checks one round trip earlier: the entry is
still pending (or still in the DLQ stream) and the target is a stream or absent. A consumer acking
the entry, or another replay taking it, inside that round trip leaves a copy nobody needed: `_FINISH`
sees the original already acked or deleted and the move counts as a possible duplicate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mqtui.brokers.redis_client import text

if TYPE_CHECKING:
    from redis.asyncio import Redis

#: A move script gives up (answers TOO_BIG) on entries with more field names and values than this.
MAX_SCRIPT_VALUES = 7000
TOO_BIG = -4
#: Outcome of a move made whose original had already been acked or removed by someone else meanwhile.
DUPLICATE = 2

#: KEYS: source stream, target stream. ARGV: entry id, group ('' = DLQ stream), '1' to XDEL the
#: original, number of field names and values of the copy. Returns 1, DUPLICATE, -3 (no copy: the
#: target is not a stream) or -6 (the target's newest entry is not the copy).
_FINISH = """
if redis.call('TYPE', KEYS[2])['ok'] ~= 'stream' then return -3 end
local newest = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
if #newest == 0 or #newest[1][2] ~= tonumber(ARGV[4]) then return -6 end
local original = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #original > 0 then
  local copy, fields = newest[1][2], original[1][2]
  for i = 1, #fields do
    if copy[i] ~= fields[i] then return -6 end
  end
end
local code = 1
if ARGV[2] ~= '' and redis.call('XACK', KEYS[1], ARGV[2], ARGV[1]) == 0 then code = 2 end
if ARGV[3] == '1' and redis.call('XDEL', KEYS[1], ARGV[1]) == 0 and ARGV[2] == '' then code = 2 end
return code
"""


class BigEntryMover:
    """The client-side move of `redis_dlq`'s stream entries that no script can copy."""

    def __init__(self, client: Redis) -> None:
        self.client = client
        self._finish = client.register_script(_FINISH)

    async def move(self, source: bytes, target: bytes, entry_id: str, group: str | None, delete: bool) -> int:
        """1 moved, DUPLICATE, or the move script's codes: 0 nothing to move, -2 entry gone, -3 target type."""
        kind = text(await self.client.type(target))
        if kind not in ("none", "stream"):
            return -3
        if group is not None:
            pending = await self.client.xpending_range(source, group, min=entry_id, max=entry_id, count=1)
            if not pending:
                return 0
        entry = await self.client.xrange(source, entry_id, entry_id)
        if not entry:
            return 0 if group is None else -2
        values = [part for pair in entry[0][1] for part in pair]
        pipe = self.client.pipeline(transaction=True)
        pipe.execute_command("XADD", target, "*", *values)
        await self._finish(keys=[source, target], args=[entry_id, group or "", "1" if delete else "0", len(values)],
                           client=pipe)  # fmt: skip
        _, outcome = await pipe.execute(raise_on_error=False)
        if isinstance(outcome, Exception):
            raise outcome
        return int(outcome)
