"""Connecting to NATS within a deadline, and turning nats-py's errors into one-line `mqtui.errors`.

nats-py retries forever by default and reports a wrong password only to its error callback while it
keeps retrying; an ops console needs the opposite: a bounded start that says "wrong credentials" at
once and "unreachable" within the profile's timeout. Connection settings come from the profile, with a
natscli context file (config.context) filling in whatever the profile leaves unset.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import nats.errors
import nats.js.errors
import nkeys
import orjson
from nats.aio.client import Client

from mqtui.config import NatsConfig, redact_url
from mqtui.errors import AuthenticationFailed, BrokerError, BrokerUnavailable, NotFound, Unsupported

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


async def api_request(nc: Client, subject: str, body: dict[str, Any] | None, timeout: float) -> dict[str, Any]:
    """One JetStream JSON API call ($JS.API.<subject>), answered as a dict or a JetStreamApiError."""
    payload = orjson.dumps(body) if body is not None else b""
    try:
        reply = await nc.request(f"$JS.API.{subject}", payload, timeout=timeout)
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


# -- connection settings ---------------------------------------------------------------------------------
def load_context(reference: str) -> dict[str, Any]:
    """A natscli context: a path to its JSON file, or a name under ~/.config/nats/context/."""
    path = Path(reference).expanduser()
    if not path.suffix and not path.exists():
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
        path = base / "nats" / "context" / f"{reference}.json"
    try:
        data = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise BrokerError(f"cannot read nats context {path}: {exc.strerror}") from None
    except orjson.JSONDecodeError:
        raise BrokerError(f"nats context {path} is not valid JSON") from None
    if not isinstance(data, dict):
        raise BrokerError(f"nats context {path} is not a JSON object")
    return data


def _check_key_file(broker: str, label: str, file: str) -> Path:
    """The key file's path, once it holds a valid user seed (and, for .creds, a JWT).

    nats-py reads these files inside `connect`, where a malformed seed escapes as an nkeys exception;
    checked here, the error names the file and never its content.
    """
    path = Path(file.removeprefix("file://")).expanduser()
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise BrokerError(f"{broker}: {label} {path}: {exc.strerror or type(exc).__name__}") from None
    lines = [line.strip() for line in content.splitlines()]
    if label == "creds_file":
        found = [lines[i + 1] for i, line in enumerate(lines[:-1]) if b"BEGIN USER NKEY SEED" in line]
        if not any(b"BEGIN NATS USER JWT" in line for line in lines) or not found:
            raise BrokerError(f"{broker}: {label} {path} is not a NATS .creds file (user JWT and seed)")
        seed = bytearray(found[0])
    else:
        seed = bytearray(content.strip())
    try:
        nkeys.from_seed(seed).wipe()
    except Exception:  # nkeys raises its own errors, binascii's and nacl's for a damaged seed
        raise BrokerError(f"{broker}: {label} {path} holds no valid NKEY user seed") from None
    finally:
        seed[:] = b"\0" * len(seed)
    return path


def _tls_context(config: NatsConfig, context: dict[str, Any]) -> ssl.SSLContext | None:
    tls = config.tls
    ca = (tls.ca_file if tls else None) or context.get("ca") or None
    cert = (tls.cert_file if tls else None) or context.get("cert") or None
    key = (tls.key_file if tls else None) or context.get("key") or None
    wants_tls = (
        tls is not None
        or bool(ca or cert)
        or any(urlsplit(u.strip()).scheme in ("tls", "wss") for u in config.url.split(","))
    )
    if not wants_tls:
        return None
    try:
        ctx = ssl.create_default_context(cafile=ca)
        if cert:
            ctx.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise BrokerError(f"{config.name}: cannot load TLS files: {exc}") from None
    if tls is not None and not tls.verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def monitor_tls(config: NatsConfig) -> ssl.SSLContext | None:
    """TLS for an https `monitor_url`: the same CA, client certificate and verify flag as the client
    connection (nats-server serves https monitoring with its client TLS settings); None: system CAs."""
    if not config.monitor_url or urlsplit(config.monitor_url).scheme != "https":
        return None
    return _tls_context(config, load_context(config.context) if config.context else {})


def connect_options(config: NatsConfig) -> dict[str, Any]:
    """Keyword arguments for `Client.connect`: servers, credentials and TLS, never logged."""
    context = load_context(config.context) if config.context else {}
    servers = [u.strip() for u in config.url.split(",") if u.strip()]
    options: dict[str, Any] = {"servers": servers, "name": "mqtui"}
    user = config.username or context.get("user") or None
    password = config.password or context.get("password") or None
    token = config.token or context.get("token") or None
    if user:
        options["user"] = user
        options["password"] = password or ""
    if token:
        options["token"] = token
    creds = config.creds_file or context.get("creds") or None
    seed = config.nkey_seed_file or context.get("nkey") or None
    if creds:
        options["user_credentials"] = str(_check_key_file(config.name, "creds_file", creds))
    elif seed:
        options["nkeys_seed"] = str(_check_key_file(config.name, "nkey_seed_file", seed))
    tls = _tls_context(config, context)
    if tls is not None:
        options["tls"] = tls
    inbox_prefix = context.get("inbox_prefix")
    if inbox_prefix:
        options["inbox_prefix"] = inbox_prefix
    return options


async def open_connection(config: NatsConfig, error_counter: dict[str, int]) -> Client:
    """Connect within `config.timeout`: wrong credentials fail at once, an unreachable server in time.

    Reconnects stay on after the start (bounded), so a short broker restart heals itself; once nats-py
    gives up, every call raises BrokerUnavailable and the console makes a fresh adapter.
    """
    options = connect_options(config)
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
                reconnect_time_wait=wait,
                max_reconnect_attempts=max(2, int(60 / wait)),
                allow_reconnect=True,
            ),
            timeout=config.timeout,
        )
    except AuthenticationFailed:
        await _quiet_close(nc)
        raise
    except (TimeoutError, nats.errors.Error, OSError) as exc:
        await _quiet_close(nc)
        if isinstance(exc, nats.errors.Error) and _is_auth_error(exc):
            raise AuthenticationFailed(f"{config.name}: the server rejected the credentials ({exc})") from None
        where = redact_url(config.url)
        why = f" (last error: {last_error[0]})" if last_error else ""
        raise BrokerUnavailable(f"{config.name}: cannot connect to {where} within {config.timeout:g}s{why}") from None
    starting = False
    return nc


async def _quiet_close(nc: Client) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(nc.close(), timeout=2)
