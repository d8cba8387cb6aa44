"""Fixtures of the trust tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from mqtui import logs


@pytest.fixture
def debug_log(tmp_path: Path) -> Iterator[Path]:
    """`logs.configure` in this process, undone afterwards (it changes the root logger)."""
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    path = logs.configure({"MQTUI_LOG": str(tmp_path / "debug.log")})
    assert path is not None
    yield path
    for handler in root.handlers[:]:
        if handler not in before:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
