"""Console themes from TOML files: the packaged ones, then the user's own (same name wins later).

A theme file holds Textual's theme colours at the top level and the console's own colours (lag states,
broker health, the production header) in `[variables]`, so the CSS never holds a hex literal.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from textual.theme import Theme

log = logging.getLogger("mqtui.themes")

PACKAGED = Path(__file__).resolve().parent.parent / "themes"
DARK = "mqtui-dark"
LIGHT = "mqtui-light"

#: Fallbacks for a theme that leaves a variable out (Textual refuses CSS naming an unknown variable).
VARIABLE_DEFAULTS = {
    "lag-ok": "#46a758",
    "lag-draining": "#3b8eea",
    "lag-growing": "#e5a50a",
    "lag-critical": "#ff5c5c",
    "status-connected": "#46a758",
    "status-degraded": "#e5a50a",
    "status-unreachable": "#ff5c5c",
    "status-connecting": "#8b93a1",
    "production": "#b3261e",
    "readonly": "#7a5c00",
    "muted": "#8b93a1",
}

_FIELDS = ("primary", "secondary", "warning", "error", "success", "accent", "foreground", "background",
           "surface", "panel", "boost")  # fmt: skip


def theme_dirs() -> list[Path]:
    from platformdirs import user_config_path

    return [PACKAGED, user_config_path("mqtui") / "themes"]


def load_theme(path: Path) -> Theme:
    """One theme file; raises ValueError with the file named when it is not a usable theme."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    name = raw.get("name") or path.stem
    if not isinstance(raw.get("primary"), str):
        raise ValueError(f"{path}: a theme needs a primary colour")
    variables = raw.get("variables", {})
    if not isinstance(variables, dict):
        raise ValueError(f"{path}: [variables] must be a table")
    colours: dict[str, Any] = {key: str(raw[key]) for key in _FIELDS if key in raw}
    return Theme(
        name=str(name),
        dark=bool(raw.get("dark", True)),
        variables={str(k): str(v) for k, v in variables.items()},
        **colours,
    )


def load_themes(directories: Iterable[Path] | None = None) -> list[Theme]:
    """Every readable theme file; a broken one is skipped with a log line, never fatal at start."""
    themes: dict[str, Theme] = {}
    for directory in theme_dirs() if directories is None else directories:
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.toml")):
            try:
                theme = load_theme(path)
            except ValueError as exc:
                log.warning("skipping theme: %s", exc)
                continue
            themes[theme.name] = theme
    return list(themes.values())
