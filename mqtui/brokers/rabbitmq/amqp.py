"""pika plumbing for the RabbitMQ adapter: where to connect, the worker thread, errors and messages.

pika's BlockingConnection must stay on the thread that made it, and its calls block, so each adapter
runs them on its own daemon thread (`Worker`), never on the event loop. Daemon threads rather than a
ThreadPoolExecutor: a call stuck on a hung broker must not keep the process alive at exit, and the
adapter abandons such a thread (and its connections) instead of waiting for it.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import decimal
import queue
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection

from mqtui.config import RabbitMQConfig, redact_url
from mqtui.errors import AuthenticationFailed, BrokerError, BrokerUnavailable, ConfigError, NotFound, NotPossible
from mqtui.model import HeaderValue, Message

T = TypeVar("T")

#: AMQP basic properties shown beside the headers as `amqp.<name>` (the exchange comes from the delivery).
SHOWN_PROPERTIES = (
    "content_type",
    "content_encoding",
    "delivery_mode",
    "priority",
    "correlation_id",
    "reply_to",
    "expiration",
    "message_id",
    "type",
    "user_id",
    "app_id",
)


@dataclass(frozen=True)
class Endpoint:
    """Everything needed to open AMQP connections and reach the management API of one broker."""

    broker: str
    host: str
    port: int
    home_vhost: str
    username: str
    password: str
    tls: bool
    ssl_context: ssl.SSLContext | None
    management_url: str
    """Without user-info: urllib would take `user:password@host` for the host name."""
    management_username: str
    management_password: str
    timeout: float
    redacted_url: str

    @classmethod
    def from_config(cls, config: RabbitMQConfig) -> Endpoint:
        """Credentials: config.username/password win over the URL's, then RabbitMQ's guest default.

        The management API takes the user and password written in management_url when it has them (a
        monitoring user apart from the AMQP one is common), else the AMQP credentials above.
        """
        url = urlsplit(config.url)
        tls = url.scheme == "amqps"
        host = url.hostname or "localhost"
        port = url.port or (5671 if tls else 5672)
        path = url.path
        vhost = unquote(path[1:]) if path and path != "/" else "/"
        username = config.username or (unquote(url.username) if url.username else "guest")
        password = config.password or (unquote(url.password) if url.password else "guest")
        management = config.management_url or f"{'https' if tls else 'http'}://{host}:{15671 if tls else 15672}"
        management, management_username, management_password = _split_userinfo(management, username, password)
        try:
            context = _ssl_context(config) if tls or management.startswith("https") else None
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"{config.name}: cannot use the TLS files of this broker: {exc}") from None
        return cls(
            broker=config.name,
            host=host,
            port=port,
            home_vhost=vhost,
            username=username,
            password=password,
            tls=tls,
            ssl_context=context,
            management_url=management,
            management_username=management_username,
            management_password=management_password,
            timeout=config.timeout,
            redacted_url=redact_url(config.url),
        )

    def parameters(self, vhost: str, *, heartbeat: int = 0) -> pika.ConnectionParameters:
        return pika.ConnectionParameters(
            host=self.host,
            port=self.port,
            virtual_host=vhost,
            credentials=pika.PlainCredentials(self.username, self.password, erase_on_connect=False),
            ssl_options=pika.SSLOptions(self.ssl_context, server_hostname=self.host) if self.tls else None,
            heartbeat=heartbeat,
            connection_attempts=1,
            retry_delay=0,
            socket_timeout=self.timeout,
            stack_timeout=self.timeout,
            blocked_connection_timeout=max(self.timeout, 30.0),
            client_properties={"connection_name": "mqtui", "product": "mqtui"},
        )

    def open(self, vhost: str, *, heartbeat: int = 0) -> BlockingConnection:
        """A new connection to `vhost`, or an mqtui error within the timeout."""
        try:
            return BlockingConnection(self.parameters(vhost, heartbeat=heartbeat))
        except Exception as exc:
            raise self.error(exc, f"vhost {vhost!r}") from None

    def error(self, exc: BaseException, target: str = "") -> BrokerError:
        """One mqtui error line for anything pika (or its socket) raised."""
        if isinstance(exc, BrokerError):
            return exc
        name = self.broker
        if isinstance(exc, pika.exceptions.ProbableAuthenticationError | pika.exceptions.AuthenticationError):
            return AuthenticationFailed(f"{name}: RabbitMQ rejected the credentials of user {self.username!r}")
        if isinstance(exc, pika.exceptions.ProbableAccessDeniedError):
            text = _pika_text(exc)
            if "not found" in text:
                return NotFound(f"{name}: {target or 'vhost'} not found")
            return AuthenticationFailed(f"{name}: user {self.username!r} may not open {target or 'the vhost'}")
        closed_by_broker = pika.exceptions.ChannelClosedByBroker | pika.exceptions.ConnectionClosedByBroker
        if isinstance(exc, closed_by_broker) and (
            isinstance(exc, pika.exceptions.ChannelClosedByBroker) or exc.reply_code in (403, 404, 406, 540)
        ):
            # RabbitMQ closes the whole connection for some refusals (basic.get on a stream: 540).
            code, text = exc.reply_code, " ".join(str(exc.reply_text).split())
            if code == 404:
                return NotFound(f"{name}: {text.removeprefix('NOT_FOUND - ')}")
            if code == 403:
                return BrokerError(f"{name}: access refused: {text.removeprefix('ACCESS_REFUSED - ')}")
            if code == 540:
                return NotPossible(f"{name}: RabbitMQ cannot do this here: {text.removeprefix('NOT_IMPLEMENTED - ')}")
            return BrokerError(f"{name}: RabbitMQ refused: {text}")
        if isinstance(exc, pika.exceptions.AMQPConnectionError | OSError | EOFError):
            return BrokerUnavailable(f"{name}: AMQP connection to {self.redacted_url} failed ({_pika_text(exc)})")
        if isinstance(exc, pika.exceptions.AMQPError):
            return BrokerError(f"{name}: AMQP error: {_pika_text(exc)}")
        return BrokerError(f"{name}: {type(exc).__name__}: {' '.join(str(exc).split())}")


def _split_userinfo(url: str, username: str, password: str) -> tuple[str, str, str]:
    """(the URL without user-info, its decoded user and password); the given ones for what it lacks."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, username, password
    bare = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    user = unquote(parts.username) if parts.username else username
    secret = unquote(parts.password) if parts.password is not None else password
    return bare, user, secret


def _ssl_context(config: RabbitMQConfig) -> ssl.SSLContext:
    tls = config.tls
    context = ssl.create_default_context(cafile=tls.ca_file if tls else None)
    if tls is not None:
        if tls.cert_file:
            context.load_cert_chain(tls.cert_file, tls.key_file)
        if not tls.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    return context


def _pika_text(exc: BaseException) -> str:
    """pika nests the cause in args; the innermost readable text, on one line."""
    text = str(exc) or repr(exc)
    if "ConnectionRefusedError" in text:
        return "connection refused"
    if "timed out" in text.lower() or isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, pika.exceptions.StreamLostError):
        return "connection lost"
    if isinstance(exc, pika.exceptions.ConnectionClosedByBroker):
        return f"closed by broker: {exc.reply_text}"
    return " ".join(text.split())[:300]


def is_connection_error(exc: BaseException) -> bool:
    return isinstance(
        exc,
        pika.exceptions.AMQPConnectionError
        | pika.exceptions.ChannelWrongStateError
        | pika.exceptions.ConnectionWrongStateError
        | OSError
        | EOFError,
    )


class Cancelled(Exception):
    """The caller gave up on a job (timeout or cancellation); the job stops at its next step."""


class Progress:
    """Shared between a job on the worker thread and the coroutine waiting for it.

    The job calls `tick()` after every round trip; the waiter calls the broker unresponsive when no
    tick came within the timeout, and `cancel()`s the job, which stops at its next `check()`.
    """

    def __init__(self) -> None:
        self.last = time.monotonic()
        self.started = False
        self._cancelled = threading.Event()

    def tick(self) -> None:
        self.last = time.monotonic()

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def check(self) -> None:
        if self._cancelled.is_set():
            raise Cancelled()
        self.started = True
        self.tick()


class Worker:
    """One daemon thread running blocking calls in order."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], concurrent.futures.Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], T]) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._jobs.put((job, future))
        return future

    def stop(self) -> None:
        self._jobs.put(None)

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            job, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(job())
            except BaseException as exc:
                future.set_exception(exc)


class AmqpSession:
    """A worker thread and its connections, one per vhost, only ever touched on that thread."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.worker = Worker(f"mqtui-rabbitmq-{endpoint.broker}")
        self.abandoned = False
        self._connections: dict[str, BlockingConnection] = {}

    def connection(self, vhost: str) -> BlockingConnection:
        """The open connection to `vhost`, reopened if the broker closed it since the last job."""
        connection = self._connections.get(vhost)
        if connection is not None:
            try:
                if connection.is_open:
                    connection.process_data_events(0)
                    return connection
            except Exception:  # any failure here means "reconnect"
                pass
            self.discard(vhost)
        connection = self.endpoint.open(vhost)
        self._connections[vhost] = connection
        return connection

    def discard(self, vhost: str) -> None:
        connection = self._connections.pop(vhost, None)
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()

    def close_all(self) -> None:
        for vhost in list(self._connections):
            self.discard(vhost)

    def run(self, vhost: str, job: Callable[[BlockingChannel], T], progress: Progress) -> T:
        """On the worker thread: a fresh channel for `job`, closed after it; errors become mqtui errors."""
        progress.check()
        channel: BlockingChannel | None = None
        try:
            channel = self.connection(vhost).channel()
            return job(channel)
        except (BrokerError, Cancelled):
            raise
        except Exception as exc:
            if is_connection_error(exc):
                self.discard(vhost)
            raise self.endpoint.error(exc) from None
        finally:
            if channel is not None and channel.is_open:
                with contextlib.suppress(Exception):
                    channel.close()
            if self.abandoned:
                self.close_all()


def plain_value(value: Any) -> HeaderValue:
    """A header value as pika decoded it, made JSON- and render-friendly (no Decimal, aware times)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): plain_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_value(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)  # pika's `long` subclass prints as 1L
    if value is None or isinstance(value, str | bytes | float | bool):
        return value
    return str(value)


def message_headers(
    properties: pika.BasicProperties | None, exchange: str | bytes | None
) -> tuple[tuple[str, HeaderValue], ...]:
    """The message's own headers, then its exchange and set AMQP properties as `amqp.*` entries."""
    pairs: list[tuple[str, HeaderValue]] = []
    if properties is not None and isinstance(properties.headers, Mapping):
        pairs.extend((text(k), plain_value(v)) for k, v in properties.headers.items())
    if exchange is not None:
        pairs.append(("amqp.exchange", exchange))
    if properties is not None:
        for name in SHOWN_PROPERTIES:
            value = getattr(properties, name, None)
            if value is not None:
                pairs.append((f"amqp.{name}", plain_value(value)))
    return tuple(pairs)


def to_message(
    broker: str,
    destination: str,
    position: int | str,
    properties: pika.BasicProperties | None,
    body: bytes | None,
    *,
    exchange: str | bytes | None,
    routing_key: str | bytes | None,
    redelivered: bool,
) -> Message:
    stamp = getattr(properties, "timestamp", None)
    timestamp = None
    if isinstance(stamp, int) and 0 < stamp < 1e11:
        timestamp = datetime.fromtimestamp(stamp, tz=UTC)
    return Message(
        broker=broker,
        destination=destination,
        partition=None,
        position=position,
        timestamp=timestamp,
        key=routing_key.encode() if isinstance(routing_key, str) else routing_key,
        value=bytes(body or b""),
        headers=message_headers(properties, exchange),
        redelivered=1 if redelivered else 0,
    )


def text(value: object) -> str:
    """pika hands over short strings as bytes when they are not UTF-8: always text here."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    return "" if value is None else str(value)


def outgoing_header(value: HeaderValue) -> Any:
    """Bytes that are UTF-8 go out as AMQP long strings (what consumers expect), others as byte arrays."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value
    return value
