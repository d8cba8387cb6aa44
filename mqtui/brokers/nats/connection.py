"""Connecting to NATS within a deadline, and turning nats-py's errors into one-line `mqtui.errors`.

nats-py retries forever by default and reports a wrong password only to its error callback while it
keeps retrying; an ops console needs the opposite: a bounded start that says "wrong credentials" at
once and "unreachable" within the profile's timeout. What to connect to comes from `settings`.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Iterator
from typing import Any

import nats.errors
import nats.js.errors
import orjson
from nats.aio.client import Client

from mqtui.brokers.nats.settings import API_PREFIX, Settings
from mqtui.config import NatsConfig
from mqtui.errors import AuthenticationFailed, BrokerError, BrokerUnavailable, NotFound, Unsupported

#: The JetStream API prefix of each open connection (see `settings.Settings.api_prefix`).
_api_prefixes: weakref.WeakKeyDictionary[Client, str] = weakref.WeakKeyDictionary()
#: JetStream API error codes (err_code) that mean "no such thing" (10057: a sequence past the end).
NOT_FOUND_CODES = frozenset({10059, 10014, 10037, 10057})
_AUTH_WORDS = ("authorization violation", "authentication", "user authentication expired", "permissions violation")


class JetStreamApiError(Exception):
    """An error answer of the JetStream JSON API (kept apart from transport errors)."""

    def __init__(self, code: int, err_code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.err_code = err_code
        self.description = description

    @property
    def not_found(self) -> bool:
        return self.code == 404 or self.err_code in NOT_FOUND_CODES


class JetStreamDisabled(Exception):
    """Nobody answers on $JS.API: JetStream is off on the server (or for this account)."""


def _is_auth_error(error: BaseException) -> bool:
    text = str(error).lower()
    return isinstance(error, nats.errors.AuthorizationError) or any(word in text for word in _AUTH_WORDS)


@contextlib.contextmanager
def broker_errors(name: str, what: str, timeout: float) -> Iterator[None]:
    """Re-raise whatever nats-py or the JetStream API throws as one line naming the broker."""
    try:
        yield
    except BrokerError:
        raise
    except JetStreamApiError as exc:
        if exc.not_found:
            raise NotFound(f"{name}: {what}: {exc.description}") from None
        raise BrokerError(f"{name}: {what}: {exc.description} (error {exc.err_code})") from None
    except JetStreamDisabled:
        raise Unsupported(f"{name}: JetStream is not enabled on this server ({what})") from None
    except nats.js.errors.APIError as exc:
        if exc.code == 404 or exc.err_code in NOT_FOUND_CODES:
            raise NotFound(f"{name}: {what}: {exc.description or 'not found'}") from None
        raise BrokerError(f"{name}: {what}: {exc.description} (error {exc.err_code})") from None
    except (TimeoutError, nats.errors.TimeoutError):
        raise BrokerUnavailable(f"{name}: no answer within {timeout:g}s ({what})") from None
    except nats.errors.NoRespondersError:
        raise NotFound(f"{name}: {what}: no responders") from None
    except (
        nats.errors.ConnectionClosedError,
        nats.errors.StaleConnectionError,
        nats.errors.ConnectionReconnectingError,
        nats.errors.OutboundBufferLimitError,
        nats.errors.NoServersError,
        OSError,
    ) as exc:
        raise BrokerUnavailable(f"{name}: connection lost ({what}): {type(exc).__name__}") from None
    except nats.errors.Error as exc:
        if _is_auth_error(exc):
            raise AuthenticationFailed(f"{name}: {exc} ({what})") from None
        raise BrokerError(f"{name}: {what}: {exc or type(exc).__name__}") from None


def api_subject(nc: Client, subject: str) -> str:
    """`$JS.API.<subject>`, or the same under the JetStream domain or API prefix of the connection's context."""
    return f"{_api_prefixes.get(nc, API_PREFIX)}.{subject}"


async def api_request(nc: Client, subject: str, body: dict[str, Any] | None, timeout: float) -> dict[str, Any]:
    """One JetStream JSON API call (`api_subject`), answered as a dict or a JetStreamApiError."""
    payload = orjson.dumps(body) if body is not None else b""
    try:
        reply = await nc.request(api_subject(nc, subject), payload, timeout=timeout)
    except nats.errors.NoRespondersError:
        raise JetStreamDisabled from None
    try:
        answer = orjson.loads(reply.data)
    except orjson.JSONDecodeError:
        raise JetStreamApiError(500, 0, "unreadable JetStream API answer") from None
    error = answer.get("error")
    if error:
        raise JetStreamApiError(
            int(error.get("code") or 0), int(error.get("err_code") or 0), str(error.get("description"))
        )
    return answer


async def paged(
    nc: Client, subject: str, key: str, timeout: float, body: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Every item of a paged list API (STREAM.LIST, CONSUMER.LIST): one request per 256 items."""
    items: list[dict[str, Any]] = []
    while True:
        answer = await api_request(nc, subject, {**(body or {}), "offset": len(items)}, timeout)
        page = answer.get(key) or []
        items.extend(page)
        if not page or len(items) >= int(answer.get("total") or 0):
            return items


async def open_connection(config: NatsConfig, settings: Settings, error_counter: dict[str, int]) -> Client:
    """Connect within `config.timeout`: wrong credentials fail at once, an unreachable server in time.

    Reconnects stay on after the start (bounded), so a short broker restart heals itself; once nats-py
    gives up, every call raises BrokerUnavailable and the console makes a fresh adapter.
    """
    options = settings.options
    starting = True
    last_error: list[str] = []

    async def on_error(error: Exception) -> None:
        last_error[:] = [type(error).__name__]
        if isinstance(error, nats.errors.SlowConsumerError):
            error_counter["slow_consumers"] = error_counter.get("slow_consumers", 0) + 1
        else:
            error_counter["errors"] = error_counter.get("errors", 0) + 1
        if starting and _is_auth_error(error):
            raise AuthenticationFailed(f"{config.name}: the server rejected the credentials ({error})")

    nc = Client()
    wait = min(1.0, config.timeout / 4)
    try:
        await asyncio.wait_for(
            nc.connect(
                **options,
                error_cb=on_error,
                connect_timeout=max(1, int(config.timeout)),
                reconnect_time_wait=wait,  # type: ignore[arg-type]  # annotated int; nats-py sleeps a float fine
                max_reconnect_attempts=max(2, int(60 / wait)),
                allow_reconnect=True,
            ),
            timeout=config.timeout,
        )
    except AuthenticationFailed:
        await quiet_close(nc)
        raise
    except (TimeoutError, nats.errors.Error, OSError) as exc:
        await quiet_close(nc)
        if isinstance(exc, nats.errors.Error) and _is_auth_error(exc):
            raise AuthenticationFailed(f"{config.name}: the server rejected the credentials ({exc})") from None
        where = settings.shown
        why = f" (last error: {last_error[0]})" if last_error else ""
        raise BrokerUnavailable(f"{config.name}: cannot connect to {where} within {config.timeout:g}s{why}") from None
    starting = False
    _api_prefixes[nc] = settings.api_prefix
    return nc


async def quiet_close(nc: Client) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(nc.close(), timeout=2)
