"""Errors that end a command with one clear line and a chosen exit code, never a traceback."""

from __future__ import annotations


class MqtuiError(Exception):
    """Base for every error meant for the user; `str()` is the whole message, one line."""

    exit_code = 1


class ConfigError(MqtuiError):
    """Malformed config, unknown profile, missing environment variable, bad argument."""

    exit_code = 2


class UsageError(MqtuiError):
    exit_code = 2


class ReadonlyError(MqtuiError):
    """A write action was asked of a profile marked readonly."""

    exit_code = 3


class Aborted(MqtuiError):
    """The user declined a confirmation, or no terminal was there to ask."""

    exit_code = 1


class BrokerError(MqtuiError):
    """Something a broker answered or failed to answer; the message names the broker."""


class BrokerUnavailable(BrokerError):
    """Unreachable, refused or timed out."""


class AuthenticationFailed(BrokerError):
    """The broker rejected the credentials."""


class NotFound(BrokerError):
    """The named destination, group or dead-letter queue does not exist."""


class Unsupported(BrokerError):
    """The broker cannot do this (e.g. delete a message from a Kafka topic)."""

    exit_code = 2


class NotPossible(BrokerError):
    """The broker can do this, but not for this destination, from this start or with this message: a
    RabbitMQ tail of a queue only bound to the default exchange (no binding to copy), a peek at a RabbitMQ
    stream queue, a Redis hash tailed or purged, a Redis list tailed from a time, a key sent over NATS.
    Unlike `Unsupported`, the capability flag stays declared; the message says what to do instead."""

    exit_code = 2
