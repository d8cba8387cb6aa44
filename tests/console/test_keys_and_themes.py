"""Keys, the palette and themes: remapping from the config, every command in the palette, both themes."""

from __future__ import annotations

from pathlib import Path

from textual.notifications import Notify

from mqtui.model import Detail, DetailSection
from mqtui.ui import themes
from mqtui.ui.app import MqtuiApp, MqtuiCommands, dialog_commands
from mqtui.ui.screens.common import DetailScreen
from mqtui.ui.screens.console import GLOBAL_COMMANDS, PANES
from tests.console.fixtures import static_backend
from tests.console.pilot import console_screen


def all_commands() -> list[str]:
    return [c.id for c in GLOBAL_COMMANDS] + [c.id for _id, _title, cls in PANES for c in cls.KEY_COMMANDS]


def test_every_binding_has_a_unique_id() -> None:
    ids = all_commands() + [command.id for _where, command in dialog_commands()]
    assert len(ids) == len(set(ids)) == 46 + 24


async def test_config_keys_remap_bindings_everywhere() -> None:
    app = MqtuiApp(static_backend(keys={"view.lag": "L", "tail.pause": "p", "nonsense.id": "z"}))
    notes: list[str] = []
    async with app.run_test(
        size=(120, 36), message_hook=lambda m: isinstance(m, Notify) and notes.append(m.notification.message)
    ) as pilot:  # type: ignore[func-returns-value]
        await pilot.pause(0.3)
        screen = console_screen(app)
        await pilot.press("L")
        await pilot.pause()
        assert screen.current_pane is not None and screen.current_pane.id == "lag"
        await pilot.press("1", "2")  # the old key is gone for that binding
        assert screen.current_pane.id == "destinations"
        assert any("unknown binding ids: nonsense.id" in n for n in notes)
        await pilot.press("question_mark")
        await pilot.pause()
        table = app.screen.query_one("DataTable")
        rows = {str(row[2]): str(row[0]) for row in (table.get_row_at(i) for i in range(table.row_count))}  # type: ignore[attr-defined]
        assert rows["view.lag"] == "L" and rows["tail.pause"] == "p" and rows["dlq.replay"] == "r"
        assert len(rows) - 1 == len(all_commands()) + len(dialog_commands())  # less the group titles' ""
        hint = app.screen.query("Label").last()
        assert str(hint.content).startswith("remap with [keys] in the config")  # not eaten as markup


async def test_palette_holds_every_command_and_runs_it_on_its_pane() -> None:
    app = MqtuiApp(static_backend())
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.3)
        provider = MqtuiCommands(app.screen)
        titles = [hit.text async for hit in provider.discover()]  # type: ignore[attr-defined]
        assert len(titles) == len(all_commands())
        assert "Dead letters: Replay" in titles and "Tail: Pause" in titles
        hits = [hit async for hit in provider.search("lag filter")]
        best = max(hits, key=lambda h: h.score)
        await best.command()  # type: ignore[misc]
        await pilot.pause()
        screen = console_screen(app)
        assert screen.current_pane is not None and screen.current_pane.id == "lag"
        assert screen.current_pane.has_class("-filtering")


async def test_a_palette_command_for_another_pane_acts_on_its_selected_row() -> None:
    """From the Destinations pane, "Move all" switches to Dead letters and refuses for the broker of the
    highlighted DLQ, which cannot move a whole queue: it said nothing and did nothing before."""
    app = MqtuiApp(static_backend())
    notes: list[str] = []
    async with app.run_test(
        size=(120, 36), message_hook=lambda m: isinstance(m, Notify) and notes.append(m.notification.message)
    ) as pilot:  # type: ignore[func-returns-value]
        await pilot.pause(0.3)
        screen = console_screen(app)
        assert screen.current_pane is not None and screen.current_pane.id == "destinations"
        provider = MqtuiCommands(app.screen)
        [hit] = [hit async for hit in provider.search("dead letters: move all") if hit.score > 0.9]
        await hit.command()  # type: ignore[misc]
        await pilot.pause()
        assert screen.current_pane.id == "dlq"
        assert notes[-1].endswith("cannot move a whole queue (a RabbitMQ shovel does; r replays dead letters)")


async def test_theme_toggle_and_fallback_for_an_unknown_theme(tmp_path: Path) -> None:
    app = MqtuiApp(static_backend(theme="no-such-theme"))
    notes: list[str] = []
    async with app.run_test(
        size=(120, 36), message_hook=lambda m: isinstance(m, Notify) and notes.append(m.notification.message)
    ) as pilot:  # type: ignore[func-returns-value]
        await pilot.pause(0.3)
        assert app.theme == themes.DARK
        assert any("unknown theme 'no-such-theme'" in n for n in notes)
        await pilot.press("T")
        assert app.theme == themes.LIGHT
        assert app.theme_variables["lag-critical"] == "#c4161c"


def test_theme_files_load_with_every_console_variable() -> None:
    loaded = {theme.name: theme for theme in themes.load_themes([themes.PACKAGED])}
    assert set(loaded) == {themes.DARK, themes.LIGHT}
    for theme in loaded.values():
        assert set(theme.variables) == set(themes.VARIABLE_DEFAULTS)
    assert loaded[themes.DARK].dark and not loaded[themes.LIGHT].dark


def test_a_broken_theme_file_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text("name = 'x'\nprimary = [\n")
    (tmp_path / "nocolour.toml").write_text("name = 'y'\n")
    (tmp_path / "ok.toml").write_text("name = 'mine'\nprimary = '#123456'\n[variables]\nlag-ok = '#00ff00'\n")
    assert [t.name for t in themes.load_themes([tmp_path])] == ["mine"]


async def test_details_pan_wide_tables_sideways_without_focusing_one() -> None:
    """At 100 columns a NATS consumer table hid its last columns, and right arrow did nothing."""
    columns = tuple(f"column-{i}" for i in range(14))
    detail = Detail("b", "n", sections=(DetailSection("Consumers", columns, (tuple("v" * 8 for _ in columns),)),))
    app = MqtuiApp(static_backend())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.3)
        app.push_screen(DetailScreen("wide", detail=detail))
        await pilot.pause(0.3)
        table = app.screen.query_one("DataTable.section")
        assert table.max_scroll_x > 0 and table.scroll_x == 0  # type: ignore[attr-defined]
        await pilot.press("right", "right")
        await pilot.pause()
        assert table.scroll_x == 16  # type: ignore[attr-defined]
        await pilot.press("left")
        await pilot.pause()
        assert table.scroll_x == 8  # type: ignore[attr-defined]
