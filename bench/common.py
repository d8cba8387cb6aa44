"""What every bench script shares: brokers that are always stopped, the machine, figure lines, RSS.

Each script measures mqtui and a baseline in the same run and prints one line per figure that ends
with the ratio, so a slow or busy machine moves both sides and the ratio stays meaningful. Brokers are
started with `mqtui.demo.localbrokers` on free 127.0.0.1 ports under a temporary directory and stopped by
their pids on every way out (normal end, exception, Ctrl-C, SIGTERM).
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mqtui.demo.localbrokers import LOCAL_BROKERS, LocalBroker, start_all

PYTHON = sys.executable
QUIET = {"log_level": 0}
"""librdkafka settings for bench clients: no log lines on stderr."""


def machine() -> str:
    """One line naming the machine the figures came from (and how busy it was at the start)."""
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "?"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"nproc {os.cpu_count()}, {cpu}, RAM {ram}, Python {platform.python_version()}, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average at start {load}"
    )


def code_version() -> str:
    """The commit measured, and whether mqtui/ held uncommitted changes (the shared tree moves)."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                                check=True).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "mqtui"], cwd=root, capture_output=True,
                               text=True, check=True).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{commit}{' + uncommitted changes in mqtui/' if dirty else ''}"


def header(title: str) -> None:
    print(f"# {title}")
    print(f"# machine: {machine()}")
    print(f"# code: {code_version()}")
    sys.stdout.flush()


def figure(name: str, value: str, baseline: str, ratio: float, target: str = "", ok: bool | None = None) -> None:
    """One figure: what mqtui did, what the baseline did, the target, then the ratio last."""
    verdict = "" if ok is None else ("  ok" if ok else "  MISSED")
    goal = f"  target {target}{verdict}" if target else ""
    print(f"{name:<44} {value}  |  baseline {baseline}{goal}  |  ratio {ratio:.2f}x", flush=True)


def note(text: str) -> None:
    print(f"  . {text}", flush=True)


def _raise_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def local_brokers(*kinds: str) -> Iterator[dict[str, LocalBroker]]:
    """Start the named brokers side by side; stop them (and remove their data) whatever happens."""
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    workdir = Path(tempfile.mkdtemp(prefix="mqtui-bench-"))
    brokers = {kind: LOCAL_BROKERS[kind](workdir / kind, name=f"bench-{kind}") for kind in kinds}
    try:
        start_all(list(brokers.values()))
        yield brokers
    finally:
        for broker in brokers.values():
            broker.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def write_profile(path: Path, brokers: list[dict[str, Any]], name: str = "bench", **options: Any) -> Path:
    """A config file with one profile holding `brokers` (profile entries as `broker_config()` gives them)."""

    def value(item: Any) -> str:
        if isinstance(item, bool):
            return "true" if item else "false"
        if isinstance(item, int | float):
            return repr(item)
        return '"' + str(item).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [f'default_profile = "{name}"', f"[profiles.{name}]"]
    lines += [f"{key} = {value(item)}" for key, item in options.items()]
    for broker in brokers:
        lines.append(f"[[profiles.{name}.brokers]]")
        lines += [f"{key} = {value(item)}" for key, item in broker.items()]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def mqtui_env(home: Path) -> dict[str, str]:
    """The environment of an mqtui child: no developer config, no demo state."""
    env = {k: v for k, v in os.environ.items() if k not in ("MQTUI_CONFIG", "MQTUI_DEBUG")}
    env |= {"XDG_CONFIG_HOME": str(home / "config"), "XDG_STATE_HOME": str(home / "state"),
            "MQTUI_STATE_DIR": str(home / "state" / "mqtui"), "MQTUI_DATA_DIR": str(home / "data" / "mqtui")}  # fmt: skip
    return env


def rss_mb(pid: int | None = None) -> float:
    """Resident memory of a process (default: this one) in MB, from /proc."""
    status = Path(f"/proc/{pid or 'self'}/status").read_text()
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc status")


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def interleaved(runs: int, **candidates: Callable[[], float]) -> dict[str, list[float]]:
    """Run each candidate `runs` times, taking turns, so a burst of load hits every side alike."""
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(runs):
        for name, run in candidates.items():
            samples[name].append(run())
    return samples


def stop_process(process: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after `grace`: for children the bench started itself."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            process.wait()


def elapsed(since: float) -> float:
    return time.perf_counter() - since
