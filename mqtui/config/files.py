"""Finding, reading and validating the config file, with every mistake reported as one line.

Each line names the file, the profile and the key ("profile 'prod': brokers[0].url: has no host");
`${ENV}` references are filled in first, and every credential is registered for masking before any
error can quote it.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from pathlib import Path
from typing import Any

import msgspec

from mqtui import secrets
from mqtui.config.credentials import credentials_in
from mqtui.config.schema import Config, Profile
from mqtui.errors import ConfigError

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def permission_warning(path: Path) -> str | None:
    """A warning when the config file is readable by other users and holds a secret written in it.

    A secret that only comes from `${ENV}` is not in the file, so such a file gets no warning."""
    try:
        if not path.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH):
            return None
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    if any(_ENV_REF.sub("", secret) for secret in credentials_in(raw)):
        return f"warning: {path} holds credentials and is readable by other users (chmod 600 {path})"
    return None


def config_search_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Where the config is: --config, else $MQTUI_CONFIG, else the platform's user config dir."""
    if explicit:
        return Path(explicit).expanduser()
    from_env = os.environ.get("MQTUI_CONFIG")
    if from_env:
        return Path(from_env).expanduser()
    from platformdirs import user_config_path

    return user_config_path("mqtui") / "config.toml"


def load_config(path: str | os.PathLike[str] | None = None) -> tuple[Config, Path]:
    """Read and validate the config; a missing file at the default place is an empty config."""
    location = config_search_path(path)
    explicit = bool(path) or bool(os.environ.get("MQTUI_CONFIG"))
    if not location.exists():
        if explicit:
            raise ConfigError(f"{location}: config file not found")
        return Config(), location
    try:
        raw = tomllib.loads(location.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{location}: TOML syntax error: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{location}: cannot read config: {exc}") from None
    return parse_config(raw, location), location


def parse_config(raw: dict[str, Any], location: Path) -> Config:
    """Validate the top level, then each profile on its own so an error can name its profile.

    Every credential is registered for masking first, so no error line below can show one."""
    expanded = _expand_env(raw, location, ())
    secrets.register(*credentials_in(expanded))
    profiles_raw = expanded.pop("profiles", {})
    try:
        top = msgspec.convert(expanded, Config)
    except msgspec.ValidationError as exc:
        raise ConfigError(_describe_validation_error(location, (), str(exc))) from None
    if not isinstance(profiles_raw, dict):
        raise ConfigError(f"{location}: profiles: expected a table of profiles")
    profiles: dict[str, Profile] = {}
    for name, body in profiles_raw.items():
        try:
            profiles[name] = msgspec.convert(body, Profile)
        except msgspec.ValidationError as exc:
            raise ConfigError(_describe_validation_error(location, ("profiles", name), str(exc))) from None
    return msgspec.structs.replace(top, profiles=profiles)


def _expand_env(value: Any, location: Path, path: tuple[str, ...]) -> Any:
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise ConfigError(f"{location}: {_describe_path(path)}: environment variable {name} is not set")
            return os.environ[name]

        return _ENV_REF.sub(replace, value)
    if isinstance(value, dict):
        return {key: _expand_env(item, location, (*path, str(key))) for key, item in value.items()}
    if isinstance(value, list):
        return [_expand_env(item, location, (*path, f"[{index}]")) for index, item in enumerate(value)]
    return value


def _describe_path(path: tuple[str, ...]) -> str:
    """('profiles', 'prod', 'brokers', '[0]', 'url') -> "profile 'prod': brokers[0].url"."""
    if len(path) >= 2 and path[0] == "profiles":
        rest = ".".join(path[2:]).replace(".[", "[")
        return f"profile {path[1]!r}: {rest}" if rest else f"profile {path[1]!r}"
    return ".".join(path).replace(".[", "[") or "top level"


_MSGSPEC_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")


def _describe_validation_error(location: Path, prefix: tuple[str, ...], message: str) -> str:
    match = _MSGSPEC_PATH.search(message)
    text = message[: match.start()] if match else message
    pieces = prefix
    if match:
        pieces = (
            *prefix,
            *(p for p in re.split(r"\.|(?=\[)", match.group("path").replace("[...]", "[*]")) if p),
        )
    unknown = re.match(r"Object contains unknown field `(?P<key>[^`]+)`", text)
    if unknown:
        pieces = (*pieces, unknown.group("key"))
        text = "unknown key"
    elif text.startswith("Invalid value") and pieces and pieces[-1] == "kind":
        text = f"unknown broker kind ({text.split(' ', 2)[2]}); expected kafka, rabbitmq, redis or nats"
    elif text.startswith("Object missing required field"):
        key = re.search(r"`([^`]+)`", text)
        if key:
            pieces = (*pieces, key.group(1))
        text = "required key is missing"
    keyed = re.fullmatch(r"`(?P<key>[A-Za-z_][\w\[\]]*)` (?P<problem>.*)", text)
    if keyed:  # one of ours (`_invalid`): the key joins the path
        pieces = (*pieces, *(p for p in re.split(r"(?=\[)", keyed.group("key")) if p))
        text = keyed.group("problem")
    text = text[0].lower() + text[1:] if text else text
    return f"{location}: {_describe_path(pieces)}: {text}"
