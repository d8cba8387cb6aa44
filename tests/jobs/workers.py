"""Real job-framework workers for the tests: a module of tasks written into a temporary folder, and the
framework's own worker command (from the venv) run on it as a subprocess that is always stopped.

Each task fails the first time it sees an argument (a Redis set remembers which it saw) and records the
argument on its second run, so a test can assert that every job finished exactly once after mqtui's retry.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

BIN = Path(sys.executable).parent
SEEN, DONE = "test:seen", "test:done"


def write_module(folder: Path, name: str, source: str) -> Path:
    (folder / f"{name}.py").write_text(source)
    return folder


@contextlib.contextmanager
def worker(
    command: list[str], folder: Path, env: dict[str, str], log: Path, *, stop_signal: int = signal.SIGTERM
) -> Iterator[subprocess.Popen[bytes]]:
    """A worker process run in `folder` (its tasks module importable), stopped (then killed) on exit."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=folder,
            env={**os.environ, "PYTHONPATH": str(folder), **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            stop(process, stop_signal)


def stop(process: subprocess.Popen[bytes], stop_signal: int = signal.SIGTERM) -> None:
    """Signal the worker's process group, then SIGKILL it if it has not gone within 5 s."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, stop_signal)
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)
