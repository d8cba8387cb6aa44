"""The checks behind the config's keys: URLs of every broker kind, Redis URL options, counts.

Each raises the ValueError of one key (`invalid`), which config loading turns into a line naming the
file, the profile and the key. No message quotes a URL or a piece of it: it may hold a password.
"""

from __future__ import annotations

import math
import re
import ssl
from collections.abc import Callable
from urllib.parse import parse_qsl, urlsplit

NATS_SCHEMES = ("nats", "tls", "ws", "wss")
SCHEMES = {"rabbitmq": ("amqp", "amqps"), "redis": ("redis", "rediss", "unix"), "nats": NATS_SCHEMES}
HTTP = ("http", "https")


def invalid(key: str, problem: str) -> ValueError:
    """A validation error about one key: `_describe_validation_error` moves the key into the line's path,
    so the line says `brokers[0].url: ...`, not just `brokers[0]: ...`."""
    return ValueError(f"`{key}` {problem}")


def check_count(key: str, value: int) -> None:
    if value < 1:
        raise invalid(key, "must be a whole number of at least 1")


def check_broker_url(kind: str, url: str, *, has_context: bool = False) -> None:
    """A broker's `url`, checked at load so a mistake is one line naming the key, not a failure at run
    time. A NATS broker may leave it empty when it names a natscli context (`has_context`).

    No message quotes the URL or a piece of it: a password with an unescaped '/', '#' or '?' is cut by
    URL parsing into a "port", a "path" or a "fragment", so any quoted piece could be part of a secret.
    """
    if kind == "nats" and not url:
        if not has_context:
            raise invalid("url", "is required unless `context` names a natscli context")
        return
    _check_text("url", url)
    if kind == "kafka":
        for index, server in enumerate(url.split(","), 1):
            if "@" in server:
                raise invalid("url", "is host:port[,host:port...] and holds no credentials (use sasl = {...})")
            host, _, port = server.rpartition(":")
            if not host:
                raise invalid("url", f"must be host:port[,host:port...]: server {index} is not host:port")
            if not _is_port(port):
                raise invalid("url", f"server {index}: the port must be a number from 1 to 65535")
        return
    pieces = url.split(",") if kind == "nats" else [url]
    for piece in pieces:
        check_one_url("url", piece, SCHEMES[kind])
    if kind == "redis":
        _check_redis_url(url)


def _check_text(key: str, url: str) -> None:
    if not url:
        raise invalid(key, "must not be empty")
    if any(char.isspace() for char in url):
        raise invalid(key, "must not contain spaces or line breaks (around it or inside)")


def _is_port(text: str) -> bool:
    return text.isascii() and text.isdigit() and 1 <= int(text) <= 65535


def check_one_url(key: str, url: str, schemes: tuple[str, ...]) -> None:
    _check_text(key, url)
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in schemes:
        raise invalid(key, f"must start with {' or '.join(f'{s}://' for s in schemes)}")
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" in rest[len(authority) :]:
        raise invalid(
            key,
            "has an '@' after its host: percent-encode '/', '?', '#' and '@' in a user name or password "
            "(e.g. '/' as %2F)",
        )
    try:
        split = urlsplit(url)
        port = split.port
    except ValueError as exc:  # its text may quote a piece of a password: not shown
        if "port" in str(exc).lower():
            raise invalid(key, "has a port that is not a number from 1 to 65535") from None
        raise invalid(key, "has a malformed host (an IPv6 address goes in [brackets])") from None
    if port == 0:
        raise invalid(key, "has a port that is not a number from 1 to 65535")
    if scheme.lower() != "unix" and not split.hostname:
        raise invalid(key, "has no host")


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


REDIS_OPTIONS: dict[str, tuple[Callable[[str], bool], str]] = {
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
        raise invalid("url", "has a database that is not a number (redis://host:port/DB)")
    for index, (name, value) in enumerate(parse_qsl(split.query, keep_blank_values=True), 1):
        known = REDIS_OPTIONS.get(name)
        if known is None:  # the name is not quoted: it may be a piece of a password
            raise invalid("url", f"option {index} is not one redis-py knows ({', '.join(REDIS_OPTIONS)})")
        check, expected = known
        if not check(value):
            raise invalid("url", f"option {name} must be {expected}")
