"""`mqtui` with no command opens the console; with a bad config or profile it must not even try.

A bad config, a missing file or an unknown profile ends before any screen is drawn and before the
demo's brokers are started: one line on stderr, exit code 2, nothing on stdout (no escape sequence
of a half-started console), no demo state written.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mqtui import demo
from mqtui.cli import main
from mqtui.errors import MqtuiError
from tests.helpers import CliResult, run_mqtui, write_config


def assert_refused_before_the_console(result: CliResult, *fragments: str) -> None:
    assert result.code == 2, result
    assert result.out == ""  # no screen was drawn
    [line] = result.err.splitlines()
    assert line.startswith("mqtui: error: ") and "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in line, line
    assert demo.running_demo() is None
    state = Path(os.environ["MQTUI_STATE_DIR"])
    assert not state.exists() or not any(state.iterdir())  # the demo wrote nothing


def test_missing_config_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    assert_refused_before_the_console(run_mqtui("--config", str(missing)), str(missing), "config file not found")


def test_config_with_a_syntax_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[profiles.prod\nreadonly = true\n")
    assert_refused_before_the_console(run_mqtui("--config", str(bad)), str(bad), "TOML syntax error")


def test_config_with_an_unknown_key_in_its_only_profile(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[profiles.prod]\nreadonly = true\n[[profiles.prod.brokers]]\nname = "r"\nkind = "redis"\n'
                   'url = "redis://127.0.0.1:1/0"\ncolour = "red"\n')  # fmt: skip
    assert_refused_before_the_console(run_mqtui("--config", str(bad)), "profile 'prod'", "brokers[0].colour")


def test_unknown_profile(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", {"prod": {"brokers": []}})
    result = run_mqtui("--config", str(config), "--profile", "nosuch")
    assert_refused_before_the_console(result, "unknown profile 'nosuch'", "prod", "demo")


def test_default_profile_that_does_not_exist(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", {"prod": {"brokers": []}, "dev": {"brokers": []}},
                          default_profile="staging")  # fmt: skip
    assert_refused_before_the_console(run_mqtui("--config", str(config)), "unknown profile 'staging'")


class DemoWouldStart(MqtuiError):
    exit_code = 99


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=120))
def test_generated_config_text_at_the_console_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    """Whatever the file says: one line and exit 2, or (a valid file) the demo or the console would open."""
    from mqtui.ui.app import MqtuiApp

    def no_demo(**_kwargs: object) -> None:
        raise DemoWouldStart("the demo would start")

    opened: list[MqtuiApp] = []
    monkeypatch.setattr(demo, "ensure_running", no_demo)
    monkeypatch.setattr(MqtuiApp, "run", lambda self, **_kw: opened.append(self))
    path = tmp_path / "gen.toml"
    try:
        path.write_text(text, encoding="utf-8")
    except UnicodeEncodeError:
        return
    code = main(["--config", str(path)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "internal error" not in captured.err
    if code == 2:
        assert len(captured.err.splitlines()) == 1 and not opened
    else:
        assert code in (0, 99), captured.err  # a valid file: the console (stubbed) or the demo (refused)
