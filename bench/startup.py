"""Start-up: `mqtui --help` and the console's first frame, each against a baseline measured in the same run.

`mqtui --help` and `--version`: wall time of the process against `python -c pass` (RUNS each, median).
Target: under 150 ms.

Console first frame: the time from spawning `mqtui --config FILE -p bench` on a pseudo-terminal of
120x36 until the terminal has received the first painted frame, recognised by the pane tab titles
("Destinations", "Dead letters") in what the app wrote. That is what a user sees: process start,
imports, config, compose, mount and the first paint, with nothing added to the app. The profile holds
4 brokers (Kafka, RabbitMQ, Redis, NATS) started beforehand, so the first polls run while the
console starts. Baseline: a bare Textual app (one Static holding the same words) on the same terminal.
Each app is then closed with its quit key. Target: under 1 s.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

from common import PYTHON, figure, header, interleaved, local_brokers, mqtui_env, note, write_profile

RUNS = 15
FRAME_RUNS = 5
SIZE = (36, 120)
MARKERS = (b"Destinations", b"Dead letters")
BARE_APP = """
from textual.app import App
from textual.widgets import Static

class Bare(App):
    def compose(self):
        yield Static("1 Destinations  2 Lag  3 Tail  4 Dead letters")

Bare().run()
"""


def wall_ms(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - started) * 1000


def first_frame_ms(args: list[str], env: dict[str, str], quit_key: bytes) -> float:
    """Milliseconds from spawning `args` on a fresh pty until every marker has been written to it."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[0], SIZE[1], 0, 0))
    started = time.perf_counter()
    process = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env={**env, "TERM": "xterm-256color"},
                               start_new_session=True)  # fmt: skip
    os.close(slave)
    seen = b""
    painted: float | None = None
    try:
        deadline = started + 30
        while painted is None and time.perf_counter() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                seen += os.read(master, 1 << 16)
            except OSError:
                break
            if all(marker in seen for marker in MARKERS):
                painted = (time.perf_counter() - started) * 1000
        if painted is None:
            raise RuntimeError(f"no first frame from {args[-3:]}: {seen[-300:]!r}")
        os.write(master, quit_key)
        quit_by = time.perf_counter() + 20
        while process.poll() is None and time.perf_counter() < quit_by:  # keep reading: a full pty blocks it
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                with contextlib.suppress(OSError):
                    os.read(master, 1 << 16)
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        os.close(master)
    return painted


def main() -> None:
    header("start-up: mqtui --help and the console's first frame")
    samples = interleaved(
        RUNS,
        baseline=lambda: wall_ms([PYTHON, "-c", "pass"]),
        help=lambda: wall_ms([PYTHON, "-m", "mqtui", "--help"]),
        version=lambda: wall_ms([PYTHON, "-m", "mqtui", "--version"]),
    )
    base = statistics.median(samples["baseline"])
    for name in ("help", "version"):
        value = statistics.median(samples[name])
        figure(f"mqtui --{name}", f"{value:6.1f} ms", f"python -c pass {base:6.1f} ms", value / base, "<150 ms",
               value < 150)  # fmt: skip

    with (
        tempfile.TemporaryDirectory(prefix="mqtui-bench-") as scratch,
        local_brokers("kafka", "rabbitmq", "redis", "nats") as brokers,
    ):
        home = Path(scratch)
        config = write_profile(home / "config.toml", [b.broker_config() for b in brokers.values()])
        env = mqtui_env(home)
        console = [PYTHON, "-m", "mqtui", "--config", str(config), "-p", "bench"]
        bare = [PYTHON, "-c", BARE_APP]
        frames = interleaved(
            FRAME_RUNS,
            mqtui=lambda: first_frame_ms(console, env, b"q"),
            bare=lambda: first_frame_ms(bare, env, b"\x11"),  # ctrl+q
        )
        for name, values in frames.items():
            note(f"{name}: first frame {', '.join(f'{v:.0f}' for v in values)} ms")
        mine, theirs = statistics.median(frames["mqtui"]), statistics.median(frames["bare"])
        figure("console first frame, 4 brokers", f"mqtui {mine:6.0f} ms", f"bare Textual app {theirs:6.0f} ms",
               mine / theirs, "<1000 ms", mine < 1000)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
