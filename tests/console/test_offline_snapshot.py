"""How the console looks opened offline on an incident snapshot (pytest-textual-snapshot): the header
says whose snapshot and when, READ-ONLY, and the panes hold what was recorded, the hostile names as text."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot

from tests.console.offline_fixtures import fixed_snapshot_file, offline_app
from tests.console.pilot import console_screen


async def drawn(pilot: Pilot) -> None:  # type: ignore[type-arg]
    """Until the recorded snapshots are drawn (no fixed sleep: the data is fixed)."""
    screen = console_screen(pilot.app)
    for _ in range(200):
        delivered = len(screen.snapshots) == 3 and all(s.polled_at or s.error for s in screen.snapshots.values())
        if delivered and screen.drawn:
            break
        await pilot.pause(0.02)
    await pilot.press("2")
    await pilot.pause()


def test_offline_console(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app = offline_app(fixed_snapshot_file(tmp_path / "incident.json"))
    assert snap_compare(app, terminal_size=(120, 36), run_before=drawn)
