"""Python's garbage collector, kept out of the way of keys: full collections when nobody is typing.

A console of 10,000 rows holds a few hundred thousand objects, and Textual leaves each frame's lines
behind in reference cycles, which only the cycle collector frees. Left to its own thresholds, it walked
every live object two or three times a minute, each time holding the UI for 120-200 ms, and young
collections of 400,000 objects held it for 65 ms. So: the objects alive after the first frame (modules,
widgets) are frozen out of collection; young collections run every 10,000 allocations (a few ms).
Neither older generation is left to the thresholds: a collection holds the interpreter's lock in
whichever thread sets it off, and one of the middle generation (20-40 ms at 10,000 rows) set off by a
thread building rows held a key back before the console had even read it. `IdleCollector` runs them
instead: the middle generation once `MIDDLE` young collections have run since its last, at a quiet
moment or just after a key's answer is painted (the operator reads it); the full collection once a
while has passed with no key or click (`QUIET`), no more often than every `EVERY` seconds, and not
while a poll's rows are being drawn (`DRAWN`); each at the latest (`LATEST`, `MIDDLE_LATEST`) whatever
the operator does, so cyclic garbage stays bounded. What it costs is paid when nobody waits: after a
minute of keys without a pause (bench/scale_console.py), the full collection that follows holds the
UI for a few hundred ms.

While a key is answered (from the key until its answer is painted) no collection runs at all: a pane's
first frame allocates enough to set off a young collection, and what the key left is collected once
its answer is on screen.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

#: Young collections every this many allocations (net).
YOUNG = 10_000
#: The older generations' own thresholds, set out of reach: `IdleCollector` collects them.
NEVER = 1_000_000


def tune_garbage_collector() -> None:
    """Freeze what lives after the first frame and take the older generations away from the thresholds."""
    gc.freeze()
    gc.set_threshold(YOUNG, NEVER, NEVER)


def release_garbage_collector() -> None:
    """The collector as it was before the console (when it closes, in a process that goes on)."""
    gc.enable()
    gc.unfreeze()
    gc.set_threshold(*DEFAULT)


#: The interpreter's own thresholds.
DEFAULT = gc.get_threshold()


class IdleCollector:
    """Runs the older generations' collections at a quiet moment: `input_seen` on every key or click,
    `busy` when a poll's snapshots arrive (they are drawn in the next few hundred ms), `tick` every
    second, `answered` once a key's answer is painted. Between `pause` (a key pressed) and `resume` (its
    answer painted) nothing is collected, for `HELD_LONGEST` at most."""

    EVERY = 5.0
    QUIET = 1.0
    DRAWN = 0.5
    """Seconds after snapshots arrive before a collection may run: their rows are built and drawn by then."""
    LATEST = 90.0
    PROMOTED = 3
    """Middle-generation collections since the last full one before a quiet moment is used: a console
    left alone, polled every few seconds, collects about every minute, not every `EVERY` seconds."""
    MIDDLE = 5
    """Young collections since the middle generation's last before it is collected (at 10,000 rows,
    a poll's rows built are about five)."""
    MIDDLE_LATEST = 4 * MIDDLE
    HELD_LONGEST = 1.0
    """Seconds collection stays paused at most: a key's answer may never be seen painted (its screen
    closed), and keys pressed without a pause must not leave garbage uncollected."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        collect: Callable[[], object] = gc.collect,
        promoted: Callable[[], int] = lambda: gc.get_count()[2],
        collect_middle: Callable[[], object] = lambda: gc.collect(1),
        young: Callable[[], int] = lambda: gc.get_count()[1],
        pause: Callable[[], None] = gc.disable,
        resume: Callable[[], None] = gc.enable,
    ) -> None:
        """`promoted`: how many middle-generation collections moved objects to the old generation since
        the last full one (nothing new there: a full collection would find what the last one left);
        `young`: how many young collections moved objects to the middle generation since its last."""
        self._clock = clock
        self._collect, self._collect_middle = collect, collect_middle
        self._promoted, self._young = promoted, young
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

    def answered(self) -> None:
        """Just after a key's answer is painted, the operator reading it: what is due is collected now,
        unless another key is being answered already."""
        if self.paused_at is None:
            self._collect_due(quiet=False, middle_from=self.MIDDLE)

    def tick(self) -> bool:
        """Collect now if it is time; whether the full collection ran."""
        now = self._clock()
        if self.paused_at is not None:
            if now - self.paused_at < self.HELD_LONGEST:
                return False  # a key is being answered
            self.resume()
        quiet = now - self.last_input >= self.QUIET and now - self.last_busy >= self.DRAWN
        return self._collect_due(quiet=quiet, middle_from=self.MIDDLE if quiet else self.MIDDLE_LATEST)

    def _collect_due(self, *, quiet: bool, middle_from: int) -> bool:
        """The full collection if it is due (`quiet`: no key for a while, no poll being drawn), else the
        middle generation's once `middle_from` young collections have run since its last; whether the
        full one ran."""
        since = self._clock() - self.last_full
        promoted = self._promoted()  # none: an idle console, nothing reached the old generation
        if promoted and (since >= self.LATEST or (since >= self.EVERY and quiet and promoted >= self.PROMOTED)):
            self._collect()
            self.last_full = self._clock()
            return True
        if self._young() >= middle_from:
            self._collect_middle()
        return False
