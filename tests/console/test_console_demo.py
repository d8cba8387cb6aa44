"""`mqtui --profile demo` in the console: it starts the local brokers and their traffic, every pane has
something true to show, and closing the console stops everything it started."""

from __future__ import annotations

from pathlib import Path

import pytest

from mqtui.demo.localbrokers import LocalRabbitMQ, installed_kinds, pid_alive
from mqtui.services.backend import LiveBackend
from tests.console.offline_fixtures import offline_console
from tests.console.pilot import console


async def test_demo_profile_fills_every_pane_and_stops_its_brokers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kinds = installed_kinds()
    monkeypatch.chdir(tmp_path)  # where S writes its incident snapshot
    async with console(None, "demo") as c:
        backend = c.app.backend
        assert isinstance(backend, LiveBackend) and backend.session.demo is not None
        processes = [p["pid"] for p in backend.session.demo.processes]  # type: ignore[attr-defined]
        expected = len(kinds)
        await c.wait(lambda: c.text("#status").startswith(f"{expected}/{expected} brokers up"), "all up", 60)
        await c.wait(
            lambda: {s.kind for s in c.screen.snapshots.values() for _ in s.dlqs} == set(kinds), "a DLQ each", 60
        )
        await c.press("2")
        rows = await c.wait_rows("#lag-table", lambda r: any(row[6] == "growing" for row in r), "a growing group", 60)
        assert {row[0] for row in rows} == {f"demo-{kind}" for kind in kinds}
        assert any(row[6] == "caught up" for row in rows)
        missing = {"kafka", "rabbitmq", "redis", "nats"} - set(kinds)
        for kind in missing:
            assert any(f"demo runs without {kind}" in note for note in c.notes)
        await c.press("S")
        await c.wait_note("snapshot written to ")
    assert processes and not any(pid_alive(pid) for pid in processes)
    [snapshot] = tmp_path.glob("mqtui-snapshot-demo-*.json")  # reopens with every broker stopped
    async with offline_console(snapshot) as c:
        await c.press("2")
        offline = await c.wait_rows("#lag-table", lambda r: any(row[6] == "growing" for row in r), "recorded rows")
        assert {row[0] for row in offline} == {f"demo-{kind}" for kind in kinds}
        assert c.text("#offline").startswith("offline snapshot of demo taken at ")


async def test_demo_without_rabbitmq_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine without rabbitmq-server: only the lookup of its binary is faked, the rest is real."""
    monkeypatch.setattr(LocalRabbitMQ, "binary", staticmethod(lambda: None))
    async with console(None, "demo") as c:
        note = await c.wait_note("demo runs without rabbitmq")
        assert note == "demo runs without rabbitmq: install rabbitmq-server (apt) to add it"
        assert "demo runs without rabbitmq" in c.text("#status")  # and it stays on the status line
        assert "demo-rabbitmq" not in c.screen.snapshots
        expected = len(installed_kinds())
        await c.wait(lambda: c.text("#status").startswith(f"{expected}/{expected} brokers up"), "the others up", 60)
