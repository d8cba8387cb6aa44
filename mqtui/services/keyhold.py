"""Background threads step aside while the console answers a key.

A key's work on the UI thread (10,000 rows sorted, a pane's first frame) takes tens of milliseconds; a
poll parsed meanwhile on the backend's thread shares the interpreter's lock with it, and the key takes
up to twice as long. So the console says when it starts answering a key (`begin`) and when the answer
is painted (`end`), and the threads that poll or build rows wait at their next step in between
(`step_aside`), at most `LONGEST` each time and not at all once a hold has lasted `OVERDUE`: a key
never stops polling for long, and an `end` never seen (its screen closed) cannot slow it down.
"""

from __future__ import annotations

import threading
import time


class KeyHold:
    LONGEST = 0.25
    """Seconds a thread waits at one step for a key to be answered."""
    OVERDUE = 1.0
    """Seconds after `begin` from which threads no longer wait."""

    def __init__(self) -> None:
        self._clear = threading.Event()
        self._clear.set()
        self._began = 0.0

    @property
    def held(self) -> bool:
        """Whether a key is being answered."""
        return not self._clear.is_set()

    def begin(self) -> None:
        self._began = time.monotonic()
        self._clear.clear()

    def end(self) -> None:
        self._clear.set()

    def step_aside(self) -> None:
        """Called by a background thread between steps of its work: wait while a key is being answered."""
        if not self._clear.is_set():
            self._clear.wait(max(0.0, min(self.LONGEST, self._began + self.OVERDUE - time.monotonic())))
