"""Profiles: where the config file is, what it may hold, and how its mistakes are reported.

`schema` holds the structs (a profile, its brokers, one struct per broker kind), `urls` the checks of
their URLs and options, `credentials` the finding and masking of secrets in them, and `files` the
reading of the file itself. Everything the rest of mqtui uses is importable from here.
"""

from __future__ import annotations

from mqtui.config.credentials import credentials_in, redact_url, url_credentials
from mqtui.config.files import config_search_path, load_config, parse_config, permission_warning
from mqtui.config.schema import (
    DEMO_PROFILE,
    AnyBrokerConfig,
    BrokerConfig,
    Config,
    KafkaConfig,
    NatsConfig,
    Profile,
    RabbitMQConfig,
    RedisConfig,
    SASLConfig,
    TLSConfig,
    secrets_of,
)

__all__ = [
    "DEMO_PROFILE",
    "AnyBrokerConfig",
    "BrokerConfig",
    "Config",
    "KafkaConfig",
    "NatsConfig",
    "Profile",
    "RabbitMQConfig",
    "RedisConfig",
    "SASLConfig",
    "TLSConfig",
    "config_search_path",
    "credentials_in",
    "load_config",
    "parse_config",
    "permission_warning",
    "redact_url",
    "secrets_of",
    "url_credentials",
]
