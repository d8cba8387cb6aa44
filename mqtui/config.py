"""Profiles: where the config file is, what it may hold, and how its mistakes are reported.

Validation is strict on purpose: a misspelt key in an ops tool's config silently falls back to a default
at the worst moment. Every error is one line naming the file, the profile and the key.
"""

from __future__ import annotations

import math
import os
import re
import ssl
import stat
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

import msgspec

from mqtui import secrets
from mqtui.errors import ConfigError

DEMO_PROFILE = "demo"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SECRET_KEYS = frozenset({"password", "token"})
"""Keys whose string value is a secret wherever they appear (`sasl.password` included)."""
_URL_KEYS = frozenset({"url", "management_url", "monitor_url"})
"""Keys holding URLs, whose user-info may carry a password (or, for NATS, a token)."""
_NATS_SCHEMES = ("nats", "tls", "ws", "wss")
_SCHEMES = {"rabbitmq": ("amqp", "amqps"), "redis": ("redis", "rediss", "unix"), "nats": _NATS_SCHEMES}
_HTTP = ("http", "https")
_MAX_TIMEOUT = 3600.0
_MAX_POLL_INTERVAL = 86400.0


class _Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    pass


class TLSConfig(_Strict, kw_only=True):
    """TLS beside the URL scheme: a private CA and, for mutual TLS, a client certificate."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    verify: bool = True


class SASLConfig(_Strict, kw_only=True):
    mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    username: str
    password: str

    def __repr__(self) -> str:
        return f"SASLConfig(mechanism={self.mechanism!r}, username={self.username!r}, password='***')"


class BrokerConfig(_Strict, kw_only=True, tag_field="kind"):
    """Keys every broker kind accepts; each kind adds its own beside these."""

    name: str
    url: str
    username: str | None = None
    password: str | None = None
    tls: TLSConfig | None = None
    timeout: float = 5.0
    """Seconds to wait for a connection or an admin answer before calling the broker unreachable."""
    dlq_patterns: list[str] | None = None
    """Naming rules for dead-letter destinations, e.g. "{name}.DLQ"; None means the broker's defaults."""

    def __post_init__(self) -> None:
        if not self.name or not self.name.strip():
            raise _invalid("name", "must not be empty")
        if not (math.isfinite(self.timeout) and 0 < self.timeout <= _MAX_TIMEOUT):  # NaN fails every comparison
            raise _invalid("timeout", f"must be a number of seconds above 0 and at most {_MAX_TIMEOUT:g}")
        _check_url(self)
        for index, pattern in enumerate(self.dlq_patterns or ()):
            if "{name}" not in pattern:
                raise _invalid(f"dlq_patterns[{index}]", f"{pattern!r} must contain {{name}}")

    @property
    def kind(self) -> str:
        return type(self).__struct_config__.tag  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, url={redact_url(self.url)!r})"


class KafkaConfig(BrokerConfig, kw_only=True, tag="kafka"):
    client_id: str = "mqtui"
    sasl: SASLConfig | None = None
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] | None = None
    """Derived from `sasl` and `tls` when not given."""
    replay_group: str = "mqtui-replay"
    """Consumer group that records which dead letters were replayed (Kafka cannot delete them)."""
    show_internal: bool = False


class RabbitMQConfig(BrokerConfig, kw_only=True, tag="rabbitmq"):
    management_url: str | None = None
    """http(s)://host:15672; derived from the AMQP host when not given."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.management_url is not None:
            _check_one_url("management_url", self.management_url, _HTTP)


class RedisConfig(BrokerConfig, kw_only=True, tag="redis"):
    key_patterns: list[str] = msgspec.field(default_factory=lambda: ["*"])
    scan_limit: int = 10_000
    """Keys examined per poll: bounds the work on databases with millions of keys."""
    max_deliveries: int = 5
    """Stream entries delivered this many times or more are shown as dead letters."""

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_count("scan_limit", self.scan_limit)
        _check_count("max_deliveries", self.max_deliveries)


class NatsConfig(BrokerConfig, kw_only=True, tag="nats"):
    url: str = ""
    """Comma-separated servers; may be left out when `context` names them."""
    monitor_url: str | None = None
    token: str | None = None
    creds_file: str | None = None
    nkey_seed_file: str | None = None
    context: str | None = None
    """A natscli context to fill in what these keys leave unset: its JSON file, its name, or "" for the
    one `nats context select` chose."""
    dlq_stream: str | None = None
    """Stream that captures max-deliveries and terminated advisories."""
    create_dlq_stream: bool = False
    """Create `dlq_stream` on connect when no stream captures the advisories (never in a readonly profile)."""
    profile_readonly: bool = False
    """Copied from the profile's `readonly` when the profile is built (set `readonly` there, not this):
    the adapter then makes no write of its own, such as creating the DLQ stream."""

    def __repr__(self) -> str:
        return f"NatsConfig(name={self.name!r}, url={redact_url(self.url)!r})"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.monitor_url is not None:
            _check_one_url("monitor_url", self.monitor_url, _HTTP)


AnyBrokerConfig = KafkaConfig | RabbitMQConfig | RedisConfig | NatsConfig


class Profile(_Strict, kw_only=True):
    brokers: list[AnyBrokerConfig] = msgspec.field(default_factory=list)
    readonly: bool = False
    production: bool = False
    poll_interval: float = 2.0
    theme: str | None = None
    stall_polls: int = 5
    """Polls without progress while lag > 0 before a consumer is called stalled."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.poll_interval) and 0.1 <= self.poll_interval <= _MAX_POLL_INTERVAL):
            raise _invalid("poll_interval", f"must be a number of seconds from 0.1 to {_MAX_POLL_INTERVAL:g}")
        _check_count("stall_polls", self.stall_polls)
        names = [broker.name for broker in self.brokers]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise _invalid("brokers", f"names must be unique: {', '.join(duplicates)}")
        if self.readonly:  # adapters see only their broker's config, so it carries the flag (copies: shared safely)
            brokers = [
                msgspec.structs.replace(b, profile_readonly=True) if isinstance(b, NatsConfig) else b
                for b in self.brokers
            ]
            msgspec.structs.force_setattr(self, "brokers", brokers)

    def readonly_notices(self) -> list[str]:
        """Settings that would write on their own and that the readonly flag turns off, one line each."""
        return [
            f"warning: broker {b.name!r}: create_dlq_stream = true is ignored in a readonly profile "
            "(no DLQ stream is created)"
            for b in self.brokers
            if isinstance(b, NatsConfig) and b.create_dlq_stream and b.profile_readonly
        ]

    def broker(self, name: str) -> AnyBrokerConfig:
        for broker in self.brokers:
            if broker.name == name:
                return broker
        known = ", ".join(b.name for b in self.brokers) or "none"
        raise ConfigError(f"unknown broker {name!r} (this profile has: {known})")


class Config(_Strict, kw_only=True):
    default_profile: str | None = None
    theme: str = "mqtui-dark"
    keys: dict[str, str] = msgspec.field(default_factory=dict)
    """Key remapping by binding id, e.g. {"tail.pause" = "p"}."""
    profiles: dict[str, Profile] = msgspec.field(default_factory=dict)


def _invalid(key: str, problem: str) -> ValueError:
    """A validation error about one key: `_describe_validation_error` moves the key into the line's path,
    so the line says `brokers[0].url: ...`, not just `brokers[0]: ...`."""
    return ValueError(f"`{key}` {problem}")


def _check_count(key: str, value: int) -> None:
    if value < 1:
        raise _invalid(key, "must be a whole number of at least 1")


def _check_url(broker: BrokerConfig) -> None:
    """The broker's URL, checked at load so a mistake is one line naming the key, not a failure at run time.

    No message quotes the URL or a piece of it: a password with an unescaped '/', '#' or '?' is cut by
    URL parsing into a "port", a "path" or a "fragment", so any quoted piece could be part of a secret.
    """
    url, kind = broker.url, broker.kind
    if kind == "nats" and not url:
        if getattr(broker, "context", None) is None:
            raise _invalid("url", "is required unless `context` names a natscli context")
        return
    _check_text("url", url)
    if kind == "kafka":
        for index, server in enumerate(url.split(","), 1):
            if "@" in server:
                raise _invalid("url", "is host:port[,host:port...] and holds no credentials (use sasl = {...})")
            host, _, port = server.rpartition(":")
            if not host:
                raise _invalid("url", f"must be host:port[,host:port...]: server {index} is not host:port")
            if not _is_port(port):
                raise _invalid("url", f"server {index}: the port must be a number from 1 to 65535")
        return
    pieces = url.split(",") if kind == "nats" else [url]
    for piece in pieces:
        _check_one_url("url", piece, _SCHEMES[kind])
    if kind == "redis":
        _check_redis_url(url)


def _check_text(key: str, url: str) -> None:
    if not url:
        raise _invalid(key, "must not be empty")
    if any(char.isspace() for char in url):
        raise _invalid(key, "must not contain spaces or line breaks (around it or inside)")


def _is_port(text: str) -> bool:
    return text.isascii() and text.isdigit() and 1 <= int(text) <= 65535


def _check_one_url(key: str, url: str, schemes: tuple[str, ...]) -> None:
    _check_text(key, url)
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in schemes:
        raise _invalid(key, f"must start with {' or '.join(f'{s}://' for s in schemes)}")
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" in rest[len(authority) :]:
        raise _invalid(
            key,
            "has an '@' after its host: percent-encode '/', '?', '#' and '@' in a user name or password "
            "(e.g. '/' as %2F)",
        )
    try:
        split = urlsplit(url)
        port = split.port
    except ValueError as exc:  # its text may quote a piece of a password: not shown
        if "port" in str(exc).lower():
            raise _invalid(key, "has a port that is not a number from 1 to 65535") from None
        raise _invalid(key, "has a malformed host (an IPv6 address goes in [brackets])") from None
    if port == 0:
        raise _invalid(key, "has a port that is not a number from 1 to 65535")
    if scheme.lower() != "unix" and not split.hostname:
        raise _invalid(key, "has no host")


def _whole_number(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _seconds(text: str) -> bool:
    try:
        value = float(text)
    except ValueError:
        return False
    return math.isfinite(value) and value > 0


def _verify_flags(text: str) -> bool:
    names = [name.strip() for name in text.replace("[", "").replace("]", "").split(",")]
    return all(name in ssl.VerifyFlags.__members__ for name in names)


_REDIS_OPTIONS: dict[str, tuple[Callable[[str], bool], str]] = {
    # Query options redis-py's `parse_url` knows (redis.asyncio.connection.URL_QUERY_ARGUMENT_PARSERS; a
    # test checks it still knows each). redis-py passes any other one on to the connection, which fails.
    **dict.fromkeys(("db", "socket_read_size", "max_connections", "health_check_interval", "ssl_min_version",
                     "protocol"), (_whole_number, "a whole number")),
    **dict.fromkeys(("socket_timeout", "socket_connect_timeout", "timeout"), (_seconds, "a number above 0")),
    **dict.fromkeys(("socket_keepalive", "retry_on_timeout", "ssl_check_hostname", "legacy_responses"),
                    (lambda _text: True, "")),
    **dict.fromkeys(("ssl_include_verify_flags", "ssl_exclude_verify_flags"),
                    (_verify_flags, "a list of ssl.VerifyFlags names")),
}  # fmt: skip


def _check_redis_url(url: str) -> None:
    """The database and the query options, which redis-py would otherwise ignore or fail on at connect."""
    split = urlsplit(url)
    if split.scheme.lower() != "unix" and split.path not in ("", "/") and not re.fullmatch(r"/[0-9]+", split.path):
        raise _invalid("url", "has a database that is not a number (redis://host:port/DB)")
    for index, (name, value) in enumerate(parse_qsl(split.query, keep_blank_values=True), 1):
        known = _REDIS_OPTIONS.get(name)
        if known is None:  # the name is not quoted: it may be a piece of a password
            raise _invalid("url", f"option {index} is not one redis-py knows ({', '.join(_REDIS_OPTIONS)})")
        check, expected = known
        if not check(value):
            raise _invalid("url", f"option {name} must be {expected}")


def _url_pieces(url: str) -> list[str]:
    """The URLs of a comma-separated list, cut only where a new `scheme://` starts, so that a comma in a
    password (legal in a URL) does not split it; a scheme-less list (Kafka) is cut at every comma."""
    if "://" not in url:
        return url.split(",")
    return re.split(r",(?=[A-Za-z][A-Za-z0-9+.-]*://)", url)


def _userinfo(piece: str) -> tuple[str, str, str, str | None, str] | None:
    """(scheme, separator, user, password or None, host and the rest) of a URL with an '@', read leniently:
    the user-info runs to the last '@', wherever an unescaped '/', '?' or '#' in a password put it."""
    scheme, sep, rest = piece.strip().partition("://")
    if not sep:
        scheme, rest = "", piece.strip()
    userinfo, at, host = rest.rpartition("@")
    if not at:
        return None
    user, colon, password = userinfo.partition(":")
    return scheme, sep, user, password if colon else None, host


def url_credentials(url: str) -> list[str]:
    """Every secret in a URL's user-info, as written and percent-decoded: the password, or for NATS a
    token given alone (`nats://TOKEN@host`). Works on URLs too broken to parse, so a bad one can be
    masked before the error about it is shown."""
    found: list[str] = []
    pieces = _url_pieces(url)
    if "://" not in url:  # a Kafka list is cut at every comma, so also read it whole
        pieces.append(url)
    for piece in pieces:
        info = _userinfo(piece)
        if info is None:
            continue
        scheme, _sep, user, password, _host = info
        secret = password if password is not None else (user if scheme.lower() in _NATS_SCHEMES else None)
        if secret:
            found += [secret, unquote(secret)]
    return found


def redact_url(url: str) -> str:
    """The URL with any password (or NATS token) replaced, fit for screens, logs and errors."""
    parts = []
    for piece in _url_pieces(url):
        info = _userinfo(piece)
        if info is None:
            parts.append(piece.strip())
            continue
        scheme, sep, user, password, host = info
        if password is not None:
            parts.append(f"{scheme}{sep}{user}:***@{host}")
        elif scheme.lower() in _NATS_SCHEMES:
            parts.append(f"{scheme}{sep}***@{host}")
        else:
            parts.append(piece.strip())
    return ",".join(parts)


def credentials_in(raw: Any) -> list[str]:
    """Every credential in a raw (parsed, not yet validated) config: the values of password and token
    keys at any depth, and the secrets in the user-info of every URL key. Read before validation, so
    they are masked before any error about them can be printed."""
    found: list[str] = []

    def walk(value: Any, key: str | None) -> None:
        if isinstance(value, dict):
            for name, item in value.items():
                walk(item, str(name))
        elif isinstance(value, list):
            for item in value:
                walk(item, key)
        elif isinstance(value, str) and key in _SECRET_KEYS:
            found.append(value)
        elif isinstance(value, str) and key in _URL_KEYS:
            found.extend(url_credentials(value))

    walk(raw, None)
    return found


def secrets_of(broker: BrokerConfig) -> list[str]:
    """Every secret string a broker's config holds, so outputs can be scrubbed of them."""
    found: list[str] = []
    for name in ("password", "token"):
        value = getattr(broker, name, None)
        if value:
            found.append(value)
    sasl = getattr(broker, "sasl", None)
    if sasl is not None:
        found.append(sasl.password)
    for key in sorted(_URL_KEYS):
        url = getattr(broker, key, None)
        if url:
            found.extend(url_credentials(url))  # what the client sends, and a server may quote back
    return found


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
