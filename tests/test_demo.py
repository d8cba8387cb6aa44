"""The demo profile: brokers and traffic start on demand and never outlive the console that owns them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from mqtui.demo.localbrokers import pid_alive
from tests.support import wait_for

OWNER = """
import sys, time
from mqtui import demo
run = demo.ensure_running(detached=False)
print("READY", flush=True)
time.sleep(600)
"""


def test_demo_stops_itself_when_its_owner_is_killed(tmp_path: Path) -> None:
    env = {**os.environ, "MQTUI_STATE_DIR": str(tmp_path)}
    owner = subprocess.Popen([sys.executable, "-c", OWNER], env=env, stdout=subprocess.PIPE, text=True)
    assert owner.stdout is not None
    assert owner.stdout.readline().strip() == "READY"
    state = json.loads((tmp_path / "demo" / "state.json").read_text())
    pids = [process["pid"] for process in state["processes"]]
    kinds = [broker["kind"] for broker in state["brokers"]]
    assert {"kafka", "redis", "nats"} <= set(kinds)
    assert len(pids) >= len(kinds) + 1  # every broker plus the traffic generator
    assert all(pid_alive(pid) for pid in pids)

    owner.send_signal(signal.SIGKILL)  # a closed terminal or a crash: no chance to clean up
    owner.wait()

    def all_ended() -> bool:
        alive = [pid for pid in pids if pid_alive(pid)]
        assert alive == [], f"still running: {alive}"
        return True

    wait_for(all_ended, what="every demo process to end", timeout=60, interval=0.5, ignoring=(AssertionError,))
    assert not (tmp_path / "demo" / "state.json").exists()
