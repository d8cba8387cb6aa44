"""What a config file may hold: the profiles, their brokers (one struct per kind) and their checks.

Validation is strict on purpose: a misspelt key in an ops tool's config silently falls back to a default
at the worst moment. Unknown keys are refused; each value is checked when its struct is built.
"""

from __future__ import annotations

import math
import re
from typing import Literal

import msgspec

from mqtui.config.alerts import AlertRule, effective_rules, parse_duration
from mqtui.config.credentials import URL_KEYS, redact_url, url_credentials
from mqtui.config.decoding import LocalSchema, SchemaRegistryConfig
from mqtui.config.urls import HTTP, check_broker_url, check_count, check_one_url, invalid
from mqtui.errors import ConfigError

DEMO_PROFILE = "demo"
_MAX_TIMEOUT = 3600.0
_MAX_POLL_INTERVAL = 86400.0
_FILTER_NAME = re.compile(r"[A-Za-z_][\w-]*")


class _Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    pass


class TLSConfig(_Strict, kw_only=True, frozen=True):
    """TLS beside the URL scheme: a private CA and, for mutual TLS, a client certificate."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    verify: bool = True


class SASLConfig(_Strict, kw_only=True, frozen=True):
    mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    username: str
    password: str

    def __repr__(self) -> str:
        return f"SASLConfig(mechanism={self.mechanism!r}, username={self.username!r}, password='***')"


class BrokerConfig(_Strict, kw_only=True, tag_field="kind", frozen=True):
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
    schema_registry: SchemaRegistryConfig | None = None
    """Where framed (magic byte 0) payloads' schemas are; the profile's is used when not given."""
    schemas: list[LocalSchema] | None = None
    """Local schemas by destination glob, tried after the broker's own, then the profile's."""

    def __post_init__(self) -> None:
        if not self.name or not self.name.strip():
            raise invalid("name", "must not be empty")
        if not (math.isfinite(self.timeout) and 0 < self.timeout <= _MAX_TIMEOUT):  # NaN fails every comparison
            raise invalid("timeout", f"must be a number of seconds above 0 and at most {_MAX_TIMEOUT:g}")
        check_broker_url(self.kind, self.url, has_context=getattr(self, "context", None) is not None)
        for index, pattern in enumerate(self.dlq_patterns or ()):
            if "{name}" not in pattern:
                raise invalid(f"dlq_patterns[{index}]", f"{pattern!r} must contain {{name}}")

    @property
    def kind(self) -> str:
        return type(self).__struct_config__.tag  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, url={redact_url(self.url)!r})"


class KafkaConfig(BrokerConfig, kw_only=True, tag="kafka", frozen=True):
    client_id: str = "mqtui"
    sasl: SASLConfig | None = None
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] | None = None
    """Derived from `sasl` and `tls` when not given."""
    replay_group: str = "mqtui-replay"
    """Consumer group that records which dead letters were replayed (Kafka cannot delete them)."""
    show_internal: bool = False


class RabbitMQConfig(BrokerConfig, kw_only=True, tag="rabbitmq", frozen=True):
    management_url: str | None = None
    """http(s)://host:15672; derived from the AMQP host when not given."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.management_url is not None:
            check_one_url("management_url", self.management_url, HTTP)


class RedisConfig(BrokerConfig, kw_only=True, tag="redis", frozen=True):
    key_patterns: list[str] = msgspec.field(default_factory=lambda: ["*"])
    scan_limit: int = 10_000
    """Keys examined per poll: bounds the work on databases with millions of keys."""
    max_deliveries: int = 5
    """Stream entries delivered this many times or more are shown as dead letters."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_count("scan_limit", self.scan_limit)
        check_count("max_deliveries", self.max_deliveries)


class NatsConfig(BrokerConfig, kw_only=True, tag="nats", frozen=True):
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
            check_one_url("monitor_url", self.monitor_url, HTTP)


AnyBrokerConfig = KafkaConfig | RabbitMQConfig | RedisConfig | NatsConfig


class Profile(_Strict, kw_only=True, frozen=True):
    brokers: list[AnyBrokerConfig] = msgspec.field(default_factory=list)
    readonly: bool = False
    production: bool = False
    poll_interval: float = 2.0
    theme: str | None = None
    stall_polls: int = 5
    """Polls without progress while lag > 0 before a consumer is called stalled."""
    schema_registry: SchemaRegistryConfig | None = None
    """The schema registry of every broker that names none of its own."""
    schemas: list[LocalSchema] = msgspec.field(default_factory=list)
    """Local schemas for every broker (after each broker's own `schemas`)."""
    alerts: list[AlertRule] = msgspec.field(default_factory=list)
    """`[[profiles.X.alerts]]`: one condition each (`config/alerts.py`)."""
    default_alerts: bool = True
    """The 5-minute idle rule and `broker_down`, on unless set false."""
    alert_bell: bool = True
    """Ring the terminal bell when the console opens a new alert."""
    history: bool = True
    """Keep lag history in a SQLite file in the user data directory (charts, sparklines after a restart)."""
    history_retention: str = "24h"
    """How long history is kept, a duration such as "24h" or "90m"; older rows are deleted."""
    history_interval: float = 10.0
    """Seconds between the samples history keeps of a broker (0: every poll): at 2 s polls a day of every
    poll is 5 times the rows, for charts that show at most a few hundred points."""
    filters: dict[str, str] = msgspec.field(default_factory=dict)
    """`[profiles.X.filters]`: saved search expressions by name (`big = '.value.amount > 1000'`), used as
    `@big` wherever an expression is asked for (`search --where`, `dlq ... --where`, the console)."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.poll_interval) and 0.1 <= self.poll_interval <= _MAX_POLL_INTERVAL):
            raise invalid("poll_interval", f"must be a number of seconds from 0.1 to {_MAX_POLL_INTERVAL:g}")
        check_count("stall_polls", self.stall_polls)
        if not (math.isfinite(self.history_interval) and 0 <= self.history_interval <= _MAX_POLL_INTERVAL):
            raise invalid("history_interval", f"must be a number of seconds from 0 to {_MAX_POLL_INTERVAL:g}")
        try:
            parse_duration(self.history_retention)
        except ValueError as exc:
            raise invalid("history_retention", str(exc)) from None
        for name in self.filters:
            if not _FILTER_NAME.fullmatch(name):
                raise invalid("filters", f"{name!r} is not a filter name (letters, digits, _ and -)")
        names = [broker.name for broker in self.brokers]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise invalid("brokers", f"names must be unique: {', '.join(duplicates)}")
        if self.readonly:  # adapters see only their broker's config, so it carries the flag (copies: shared safely)
            brokers = [
                msgspec.structs.replace(b, profile_readonly=True) if isinstance(b, NatsConfig) else b
                for b in self.brokers
            ]
            msgspec.structs.force_setattr(self, "brokers", brokers)

    @property
    def history_retention_s(self) -> float:
        return parse_duration(self.history_retention)

    def alert_rules(self) -> tuple[AlertRule, ...]:
        """The rules in force: the defaults (unless turned off or replaced) and the profile's own."""
        return effective_rules(self.alerts, self.default_alerts)

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


class Config(_Strict, kw_only=True, frozen=True):
    default_profile: str | None = None
    theme: str = "mqtui-dark"
    keys: dict[str, str] = msgspec.field(default_factory=dict)
    """Key remapping by binding id, e.g. {"tail.pause" = "p"}."""
    profiles: dict[str, Profile] = msgspec.field(default_factory=dict)


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
    registry = broker.schema_registry
    if registry is not None:
        found.extend(filter(None, [registry.password, *url_credentials(registry.url)]))
    for key in sorted(URL_KEYS):
        url = getattr(broker, key, None)
        if url:
            found.extend(url_credentials(url))  # what the client sends, and a server may quote back
    return found
