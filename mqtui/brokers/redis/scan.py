"""Finding lists, streams and job-queue keys without KEYS, in bounded steps that continue where they stopped.

`KeyScanner.step` examines at most `scan_limit` keys per call (the SCAN COUNT hints add up to it) and
continues the cursor where the previous call stopped. Until a pass over the whole keyspace completes,
the keys found so far are merged with the last complete pass, so the known set never shrinks mid-pass;
when a pass completes, keys it did not see are dropped. On a database with millions of keys a new list
shows up within (keys / scan_limit) polls, and every poll costs the same. `TYPE` of the keys a SCAN
returned goes in one pipeline; only lists, streams and the few sets and sorted sets that RQ and Celery
use, and the sorted sets named as retry schedules (`retries`), are remembered, and at most `scan_limit`
of those. Neither limit is silent: the adapter's `notices` say when a pass is still going round or keys
past the limit were left out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from mqtui.brokers.redis import bullmq, dramatiq, jobs, retries, sidekiq
from mqtui.brokers.redis.client import as_bytes, text

if TYPE_CHECKING:
    from redis.asyncio import Redis

SCAN_BATCH = 1000


def glob_match(name: str, patterns: Iterable[str]) -> bool:
    """Redis glob semantics (`*`, `?`, `[a-z]`, `[^x]`) for names that were not found by SCAN MATCH."""
    return any(fnmatchcase(name, pattern.replace("[^", "[!")) for pattern in patterns)


def _interesting(key: bytes, kind: str) -> bool:
    if kind in ("list", "stream"):
        return True
    name = text(key)
    if dramatiq.interesting(name, kind) or bullmq.interesting(name, kind) or sidekiq.interesting(name, kind):
        return True
    if kind == "set":
        return name == jobs.RQ_QUEUES_SET or name.startswith(jobs.KOMBU_BINDING_PREFIX)
    if kind == "zset":
        return jobs.rq_failed_queue(name) is not None or retries.is_schedule(key)
    return False


class KeyScanner:
    """The interesting keys of one database, kept current by bounded SCAN steps (see module doc)."""

    def __init__(self, patterns: list[str], limit: int) -> None:
        self.patterns = ["*"] if "*" in patterns else list(dict.fromkeys(patterns)) or ["*"]
        self.limit = max(limit, 10)
        self._cursor = dict.fromkeys(self.patterns, 0)
        self._partial: dict[str, dict[bytes, str]] = {p: {} for p in self.patterns}
        self._complete: dict[str, dict[bytes, str]] = {p: {} for p in self.patterns}
        self._passes = dict.fromkeys(self.patterns, 0)
        self._scanned = dict.fromkeys(self.patterns, 0)
        self.found = 0
        """Interesting keys known at the last step, before `known` kept the first `limit` of them."""
        self._lock = asyncio.Lock()

    async def step(self, client: Redis) -> dict[bytes, str]:
        """Advance the scan by at most `limit` keys and return every key known now with its type."""
        async with self._lock:
            budget = max(self.limit // len(self.patterns), 10)
            for pattern in self.patterns:
                await self._advance(client, pattern, budget)
            return self.known()

    async def _advance(self, client: Redis, pattern: str, budget: int) -> None:
        partial = self._partial[pattern]
        while budget > 0:
            count = min(budget, SCAN_BATCH)
            cursor, replies = await client.scan(self._cursor[pattern], match=pattern, count=count)
            keys = as_bytes(replies)
            budget -= count
            self._scanned[pattern] += count
            if keys:
                pipe = client.pipeline(transaction=False)
                for key in keys:
                    pipe.type(key)
                for key, kind in zip(keys, await pipe.execute(), strict=True):
                    kind = text(kind)
                    if _interesting(key, kind):
                        partial[key] = kind
                    else:
                        partial.pop(key, None)
            self._cursor[pattern] = int(cursor)
            if int(cursor) == 0:
                self._complete[pattern] = partial
                self._partial[pattern] = {}
                self._passes[pattern] += 1
                self._scanned[pattern] = 0
                return

    @property
    def scanned_all(self) -> bool:
        """Every pattern's SCAN went round the whole keyspace at least once."""
        return all(self._passes.values())

    @property
    def scanned(self) -> int:
        """Keys examined (SCAN COUNT hints, so about) by the passes not complete yet."""
        return sum(n for pattern, n in self._scanned.items() if not self._passes[pattern])

    def known(self) -> dict[bytes, str]:
        """Every interesting key found; past `limit` of them, the first `limit` by name (bounded polls)."""
        merged: dict[bytes, str] = {}
        for pattern in self.patterns:
            merged.update(self._complete[pattern])
            merged.update(self._partial[pattern])
        self.found = len(merged)
        if len(merged) > self.limit:
            merged = dict(sorted(merged.items())[: self.limit])
        return merged

    def forget(self, key: bytes) -> None:
        """The key is gone (a read found nothing): drop it now rather than at the end of the pass."""
        for pattern in self.patterns:
            self._complete[pattern].pop(key, None)
            self._partial[pattern].pop(key, None)

    def note(self, key: bytes, kind: str) -> None:
        """A key we just created (publish): known at once, without waiting for the scan to reach it."""
        if _interesting(key, kind) and glob_match(text(key), self.patterns):
            self._partial[self.patterns[0]][key] = kind
