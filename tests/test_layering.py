"""Layering is enforced, not hoped for: the import-linter contracts in pyproject.toml must hold."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint is not None
    done = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_ui_modules_never_name_a_broker_client() -> None:
    """Belt and braces for lazy imports inside functions, which the linter also sees."""
    forbidden = (
        "confluent_kafka",
        "import pika",
        "redis.asyncio",
        "import nats",
        "from nats",
        "mqtui.brokers",
    )
    for path in (ROOT / "mqtui" / "ui").rglob("*.py"):
        text = path.read_text()
        for word in forbidden:
            assert word not in text, f"{path.relative_to(ROOT)} mentions {word}"
