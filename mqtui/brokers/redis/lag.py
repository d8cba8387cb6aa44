"""A stream group's lag when Redis cannot say it, counted from the entries after the group's position.

Redis 7.0 answers `lag` nil in XINFO GROUPS once an entry between the group's last-delivered id and the
end of the stream was deleted (XDEL; mqtui's own stream requeue deletes the originals it copied), and
whenever `entries-read` is unknown (a group created or moved to an arbitrary id). Such a group keeps an
unknown lag until it reads past the deleted entry, which for a stopped group is never.

The lag is then the number of entries after the last-delivered id, counted with XRANGE in pages of
`PAGE` and at most `LIMIT` per group and call: past that the count is a lower bound (`at_least`). A
count is remembered with the stream's state (length, last id, entries-added) and the group's position:
while nothing changed it is reused, and while entries were only appended it grows by their number, so
a stopped group behind a deleted entry costs one XRANGE once rather than at every poll. Groups behind
the stream's first entry need no counting: their lag is the stream's length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mqtui.brokers.redis.snapshot import GroupInfo, Snapshot, StreamInfo
from mqtui.brokers.redis.streams import compare_ids, next_after, xrange

if TYPE_CHECKING:
    from redis.asyncio import Redis

#: Entries counted per group and call at most; past it the lag is shown as at least this many.
LIMIT = 10_000
PAGE = 1000


@dataclass(frozen=True)
class _State:
    """What a count depends on: the group's position and the stream's length, end and counter."""

    last_delivered: str
    length: int
    last_id: str
    entries_added: int | None


@dataclass(frozen=True)
class _Counted:
    state: _State
    lag: int
    at_least: bool


def _state(stream: StreamInfo, group: GroupInfo) -> _State:
    return _State(group.last_delivered, stream.length, stream.last_id, stream.entries_added)


def _carried(known: _Counted, now: _State) -> _Counted | None:
    """The remembered count brought up to date without reading, when only appends happened since."""
    before = known.state
    if now == before:
        return known
    if now.last_delivered != before.last_delivered or now.entries_added is None or before.entries_added is None:
        return None
    appended = now.entries_added - before.entries_added
    if appended < 0 or now.length - before.length != appended:
        return None  # something was deleted or trimmed too: count again
    return _Counted(now, known.lag + appended, known.at_least)


async def count_after(client: Redis, key: bytes, after: str, *, limit: int | None = None) -> tuple[int, bool]:
    """(entries after the id `after`, True when counting stopped at `limit`, by default LIMIT)."""
    limit = LIMIT if limit is None else limit
    counted = 0
    start = next_after(after)
    while counted < limit:
        wanted = min(PAGE, limit - counted)
        page = await xrange(client, key, start, "+", count=wanted)
        counted += len(page)
        if len(page) < wanted:
            return counted, False
        start = next_after(page[-1][0])
    return counted, True


class LagCounter:
    """Fills in the lag Redis left nil for the groups of a snapshot (see module doc)."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], _Counted] = {}

    async def fill(self, client: Redis, snap: Snapshot, stream_keys: dict[str, bytes]) -> None:
        known: dict[tuple[str, str], _Counted] = {}
        for stream in snap.streams.values():
            for group in stream.groups:
                if group.lag is not None:
                    continue
                ident, state = (stream.name, group.name), _state(stream, group)
                counted = self._cheap(stream, state) or self._remembered(ident, state)
                if counted is None:
                    lag, at_least = await count_after(client, stream_keys[stream.name], group.last_delivered)
                    counted = _Counted(state, lag, at_least)
                known[ident] = counted
                group.lag, group.lag_at_least = counted.lag, counted.at_least
        self._known = known

    @staticmethod
    def _cheap(stream: StreamInfo, state: _State) -> _Counted | None:
        """Lags that need no reading: everything (behind the first entry) or nothing (at the end)."""
        if stream.length == 0 or compare_ids(state.last_delivered, stream.last_id) >= 0:
            return _Counted(state, 0, False)
        if stream.first_id is not None and compare_ids(state.last_delivered, stream.first_id) < 0:
            return _Counted(state, stream.length, False)
        return None

    def _remembered(self, ident: tuple[str, str], state: _State) -> _Counted | None:
        known = self._known.get(ident)
        return None if known is None else _carried(known, state)
