"""Profiles: where the config file is, what it may hold, and how its mistakes are reported.

Validation is strict on purpose: a misspelt key in an ops tool's config silently falls back to a default
at the worst moment. Every error is one line naming the file, the profile and the key.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit, urlunsplit

import msgspec

from mqtui.errors import ConfigError

DEMO_PROFILE = "demo"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SECRET_KEYS = frozenset({"password", "token", "nkey_seed", "sasl_password"})


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
            raise ValueError("broker name must not be empty")
        if self.timeout <= 0:
            raise ValueError("timeout must be positive")
        _check_url(self)
        for pattern in self.dlq_patterns or ():
            if "{name}" not in pattern:
                raise ValueError(f"dlq pattern {pattern!r} must contain {{name}}")

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
        if self.management_url is not None and urlsplit(self.management_url).scheme not in ("http", "https"):
            raise ValueError("management_url must be an http:// or https:// URL")


class RedisConfig(BrokerConfig, kw_only=True, tag="redis"):
    key_patterns: list[str] = msgspec.field(default_factory=lambda: ["*"])
    scan_limit: int = 10_000
    """Keys examined per poll: bounds the work on databases with millions of keys."""
    max_deliveries: int = 5
    """Stream entries delivered this many times or more are shown as dead letters."""


class NatsConfig(BrokerConfig, kw_only=True, tag="nats"):
    monitor_url: str | None = None
    token: str | None = None
    creds_file: str | None = None
    nkey_seed_file: str | None = None
    context: str | None = None
    """A natscli context file (or context name) to take the connection settings from."""
    dlq_stream: str | None = None
    """Stream that captures max-deliveries and terminated advisories."""
    create_dlq_stream: bool = False
    """Create `dlq_stream` on connect when no stream captures the advisories (never in a readonly profile)."""
    profile_readonly: bool = False
    """Copied from the profile's `readonly` when the profile is built (set `readonly` there, not this):
    the adapter then makes no write of its own, such as creating the DLQ stream."""

    def __repr__(self) -> str:
        return f"NatsConfig(name={self.name!r}, url={redact_url(self.url)!r})"


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
        if self.poll_interval < 0.1:
            raise ValueError("poll_interval must be at least 0.1 seconds")
        names = [broker.name for broker in self.brokers]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"broker names must be unique: {', '.join(duplicates)}")
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


def _check_url(broker: BrokerConfig) -> None:
    url = broker.url.strip()
    if not url:
        raise ValueError("url must not be empty")
    kind = broker.kind
    if kind == "kafka":
        for server in url.split(","):
            host, _, port = server.strip().rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"kafka url must be host:port[,host:port...], not {server.strip()!r}")
        return
    schemes = {
        "rabbitmq": ("amqp", "amqps"),
        "redis": ("redis", "rediss", "unix"),
        "nats": ("nats", "tls", "ws", "wss"),
    }[kind]
    for part in url.split(",") if kind == "nats" else [url]:
        try:
            parsed = urlsplit(part.strip())
            parsed.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as exc:
            raise ValueError(f"bad url: {exc}") from None
        if parsed.scheme not in schemes or (parsed.scheme != "unix" and not parsed.hostname):
            raise ValueError(f"{kind} url must look like {schemes[0]}://host:port, not {redact_url(part)!r}")


def redact_url(url: str) -> str:
    """The URL with any password replaced, fit for screens, logs and errors."""
    parts = []
    for piece in url.split(","):
        try:
            split = urlsplit(piece.strip())
        except ValueError:
            parts.append(piece)
            continue
        if split.password is None and not (split.username and "@" in split.netloc and split.scheme == "nats"):
            parts.append(piece.strip())
            continue
        host = split.hostname or ""
        if split.port:
            host = f"{host}:{split.port}"
        user = split.username or ""
        netloc = f"{user}:***@{host}" if split.password is not None else f"***@{host}"
        parts.append(urlunsplit((split.scheme, netloc, split.path, split.query, split.fragment)))
    return ",".join(parts)


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
    for url in broker.url.split(","):
        try:
            password = urlsplit(url.strip()).password
        except ValueError:
            password = None
        if password:
            found.append(password)
            found.append(unquote(password))  # what the client sends, and a server may quote back
    return found


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
    """Validate the top level, then each profile on its own so an error can name its profile."""
    expanded = _expand_env(raw, location, ())
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
    text = text[0].lower() + text[1:] if text else text
    return f"{location}: {_describe_path(pieces)}: {text}"


def is_secret_key(name: str) -> bool:
    return name in _SECRET_KEYS
