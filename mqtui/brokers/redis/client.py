"""Opening a redis.asyncio client from a profile entry, and naming what went wrong in one line.

Retries are switched off on purpose: redis-py's default retries a failed command up to three times with
backoff, which would stretch an unreachable broker's error far past the configured timeout and could
run a write twice after a lost reply. A connection left dead by a broker restart is not a problem: the
pool checks a connection before handing it out and reconnects it, so the next call works again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, cast

from mqtui.config import RedisConfig, redact_url
from mqtui.errors import AuthenticationFailed, BrokerError, BrokerUnavailable, MqtuiError

if TYPE_CHECKING:
    from redis.asyncio import Redis


def as_bytes(replies: Iterable[object]) -> list[bytes]:
    """Replies of a client made here as what they are: it never decodes (no `decode_responses`), while
    redis-py types every reply `bytes | str` (members of a sorted set, more) whichever way a client is set up."""
    return cast("list[bytes]", replies if isinstance(replies, list) else list(replies))


def build_client(config: RedisConfig) -> Redis:
    """A client for redis://, rediss:// or unix:// URLs; `username`/`password`/`tls` override the URL."""
    from redis.asyncio import ConnectionPool, Redis
    from redis.asyncio.connection import SSLConnection, UnixDomainSocketConnection, parse_url
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    try:
        options: dict[str, Any] = {**parse_url(config.url)}
    except ValueError as exc:
        raise BrokerError(f"{config.name}: bad redis url {redact_url(config.url)}: {exc}") from None
    if config.username is not None:
        options["username"] = config.username
    if config.password is not None:
        options["password"] = config.password
    unix = options.get("connection_class") is UnixDomainSocketConnection
    if config.tls is not None and not unix:
        options["connection_class"] = SSLConnection
    if options.get("connection_class") is SSLConnection:
        verify = config.tls.verify if config.tls is not None else True
        if config.tls is not None:
            options.update(
                ssl_ca_certs=config.tls.ca_file,
                ssl_certfile=config.tls.cert_file,
                ssl_keyfile=config.tls.key_file,
            )
        options.update(ssl_cert_reqs="required" if verify else "none", ssl_check_hostname=verify)
    if not unix:
        options["socket_connect_timeout"] = config.timeout
    options.update(
        redis_connect_func=_handshake,
        protocol=2,  # RESP2 answers the same on every server since 2.x (redis-py 8 would pick RESP3)
        socket_timeout=config.timeout,
        retry=Retry(NoBackoff(), 0),
        client_name="mqtui",
    )
    return Redis.from_pool(ConnectionPool(**options))


async def _handshake(connection: Any) -> None:
    """The usual handshake, then CLIENT NO-TOUCH ON where the server has it (Redis 7.2+, Valkey), so
    that our own reads do not reset the idle time of the keys we watch (older servers refuse it)."""
    from redis.exceptions import ResponseError

    await connection.on_connect()
    await connection.send_command("CLIENT", "NO-TOUCH", "ON")
    with contextlib.suppress(ResponseError):
        await connection.read_response()


def one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


@contextlib.contextmanager
def translated(config: RedisConfig) -> Iterator[None]:
    """Turn redis-py and socket exceptions into mqtui errors whose one line names the broker."""
    from redis import exceptions as rx

    name = config.name
    try:
        yield
    except MqtuiError:
        raise
    except rx.AuthenticationError:
        raise AuthenticationFailed(f"{name}: authentication failed (wrong username or password?)") from None
    except rx.NoPermissionError as exc:
        raise BrokerError(f"{name}: permission denied: {one_line(exc)}") from None
    except (TimeoutError, rx.ConnectionError, rx.TimeoutError, OSError) as exc:
        reason = "no answer in time" if isinstance(exc, TimeoutError) else one_line(exc)
        raise BrokerUnavailable(f"{name}: cannot reach {redact_url(config.url)}: {reason}") from None
    except rx.RedisError as exc:
        raise BrokerError(f"{name}: {one_line(exc)}") from None


def text(data: bytes | str | int | None) -> str:
    """A key, field or id as text; bytes that are not UTF-8 become visible \\x escapes."""
    if data is None:
        return ""
    if isinstance(data, bytes):
        return data.decode("utf-8", errors="backslashreplace")
    return str(data)
