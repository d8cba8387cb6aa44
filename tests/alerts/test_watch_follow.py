"""`mqtui watch` following, as a user runs it: a line per alert as it opens, until Ctrl-C (exit 130, no
traceback). A broker nobody listens for is down from the first poll, so nothing needs starting."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.helpers import write_config


def test_watch_prints_each_alert_as_it_opens_until_ctrl_c(tmp_path: Path) -> None:
    down = {"name": "gone", "kind": "redis", "url": "redis://127.0.0.1:1/0", "timeout": 1.0}
    config = write_config(tmp_path / "config.toml", {"k": {"brokers": [down]}})
    process = subprocess.Popen(
        [sys.executable, "-m", "mqtui", "--config", str(config), "-p", "k", "watch", "--json", "--interval", "0.5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        opened = json.loads(process.stdout.readline())  # blocks until the first poll failed
        assert (opened["event"], opened["condition"], opened["broker"]) == ("opened", "broker_down", "gone")
        assert opened["value"].startswith("gone: ")
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130 and "Traceback" not in err
