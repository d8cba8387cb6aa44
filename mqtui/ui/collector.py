"""Python's garbage collector, kept out of the way of keys: full collections when nobody is typing.

A console of 10,000 rows holds a few hundred thousand objects, and Textual leaves each frame's lines
behind in reference cycles, which only the cycle collector frees. Left to its own thresholds, it walked
every live object two or three times a minute, each time holding the UI for 120-200 ms, and young
collections of 400,000 objects held it for 65 ms. So: the objects alive after the first frame (modules,
widgets) are frozen out of collection; young collections run every 10,000 allocations and the middle
generation every 5 of them (a few ms, 20-40 ms at most); and the full collection is not left to the
thresholds but run here, once a while has passed with no key or click (`QUIET`), no more often than
every `EVERY` seconds, and not while a poll's rows are being drawn (`DRAWN`); at the latest every
`LATEST` seconds whatever the operator does, so cyclic garbage stays bounded. What it costs is paid
when nobody waits: after a minute of keys without a pause (bench/scale_console.py), the full
collection that follows holds the UI for a few hundred ms.

While a key is answered (from the key until its answer is painted) no collection runs at all: a pane's
first frame allocates enough to set off a middle-generation collection, 10-25 ms at 10,000 rows, and
what the key left is collected once its answer is on screen.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

#: Young collections every this many allocations (net), the middle generation every this many young ones.
YOUNG, MIDDLE = 10_000, 5
#: The full collection's own threshold, set out of reach: `IdleCollector` runs it.
NEVER = 1_000_000


def tune_garbage_collector() -> None:
    """Freeze what lives after the first frame and take the full collection away from the thresholds."""
    gc.freeze()
    gc.set_threshold(YOUNG, MIDDLE, NEVER)


def release_garbage_collector() -> None:
    """The collector as it was before the console (when it closes, in a process that goes on)."""
    gc.enable()
    gc.unfreeze()
    gc.set_threshold(*DEFAULT)


#: The interpreter's own thresholds.
DEFAULT = gc.get_threshold()


class IdleCollector:
    """Runs the full collection at a quiet moment: `input_seen` on every key or click, `busy` when a poll's
    snapshots arrive (they are drawn in the next few hundred ms), `tick` every second. Between
    `pause` (a key pressed) and `resume` (its answer painted) nothing is collected, for `HELD_LONGEST`
    at most."""

    EVERY = 5.0
    QUIET = 1.0
    DRAWN = 0.5
    """Seconds after snapshots arrive before a collection may run: their rows are built and drawn by then."""
    LATEST = 90.0
    PROMOTED = 3
    """Middle-generation collections since the last full one before a quiet moment is used: a console
    left alone, polled every few seconds, collects about every minute, not every `EVERY` seconds."""
    HELD_LONGEST = 1.0
    """Seconds collection stays paused at most: a key's answer may never be seen painted (its screen
    closed), and keys pressed without a pause must not leave garbage uncollected."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        collect: Callable[[], object] = gc.collect,
        promoted: Callable[[], int] = lambda: gc.get_count()[2],
        pause: Callable[[], None] = gc.disable,
        resume: Callable[[], None] = gc.enable,
    ) -> None:
        """`promoted`: how many middle-generation collections moved objects to the old generation since
        the last full one (nothing new there: a full collection would find what the last one left)."""
        self._clock = clock
        self._collect = collect
        self._promoted = promoted
        self._pause, self._resume = pause, resume
        self.last_input = self.last_full = self.last_busy = clock()
        self.paused_at: float | None = None
        """When collection was paused for a key (None: it is not)."""

    def input_seen(self) -> None:
        self.last_input = self._clock()

    def pause(self) -> None:
        if self.paused_at is None:
            self._pause()
            self.paused_at = self._clock()

    def resume(self) -> None:
        if self.paused_at is not None:
            self.paused_at = None
            self._resume()

    def busy(self) -> None:
        self.last_busy = self._clock()

    def since_input(self) -> float:
        """Seconds since the last key or click."""
        return self._clock() - self.last_input

    def tick(self) -> bool:
        """Collect now if it is time; whether it did."""
        now = self._clock()
        if self.paused_at is not None and now - self.paused_at >= self.HELD_LONGEST:
            self.resume()
        since = now - self.last_full
        promoted = self._promoted()
        if not promoted:
            return False  # an idle console: nothing reached the old generation since the last one
        quiet = now - self.last_input >= self.QUIET and now - self.last_busy >= self.DRAWN
        if since >= self.LATEST or (since >= self.EVERY and quiet and promoted >= self.PROMOTED):
            self._collect()
            self.last_full = self._clock()
            return True
        return False
