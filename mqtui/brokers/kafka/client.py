"""confluent-kafka plumbing the Kafka adapter's modules share: settings, errors, bounded calls.

librdkafka retries forever by default and reports most trouble through callbacks rather than
exceptions, so every call here carries an explicit deadline and every failure leaves as one
`mqtui.errors` line naming the broker: BrokerUnavailable for timeouts and transport failures,
AuthenticationFailed for rejected credentials, NotFound for unknown topics and groups.

The admin client's futures are awaited directly (`asyncio.wrap_future`); the few truly blocking calls
(metadata, producer flushes, consumer commits) run on the adapter's own small thread pool, never on
the event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeVar

from confluent_kafka import KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, ClusterMetadata, OffsetSpec

from mqtui.config import KafkaConfig, redact_url
from mqtui.errors import AuthenticationFailed, BrokerError, BrokerUnavailable, NotFound
from mqtui.secrets import scrub

T = TypeVar("T")
TP = tuple[str, int]
"""(topic, partition): the key of every per-partition answer."""

UNAVAILABLE_CODES = {
    KafkaError._TRANSPORT,
    KafkaError._TIMED_OUT,
    KafkaError._TIMED_OUT_QUEUE,
    KafkaError._ALL_BROKERS_DOWN,
    KafkaError._MSG_TIMED_OUT,
    KafkaError._RESOLVE,
    KafkaError._DESTROY,
    KafkaError.REQUEST_TIMED_OUT,
    KafkaError.NETWORK_EXCEPTION,
    KafkaError.BROKER_NOT_AVAILABLE,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.NOT_COORDINATOR,
}
_AUTHENTICATION = {
    KafkaError._AUTHENTICATION,
    KafkaError.SASL_AUTHENTICATION_FAILED,
    KafkaError.UNSUPPORTED_SASL_MECHANISM,
    KafkaError.ILLEGAL_SASL_STATE,
}
_NOT_FOUND = {
    KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError._UNKNOWN_TOPIC,
    KafkaError._UNKNOWN_PARTITION,
    KafkaError.GROUP_ID_NOT_FOUND,
    KafkaError._UNKNOWN_GROUP,
}


def security_protocol(config: KafkaConfig) -> str:
    """The configured protocol, else the one `sasl` and `tls` imply."""
    if config.security_protocol:
        return config.security_protocol
    sasl = config.sasl is not None or bool(config.username and config.password)
    if sasl:
        return "SASL_SSL" if config.tls is not None else "SASL_PLAINTEXT"
    return "SSL" if config.tls is not None else "PLAINTEXT"


def client_settings(config: KafkaConfig) -> dict[str, Any]:
    """librdkafka settings every client of this broker shares (connection, security, quiet logs)."""
    timeout_ms = max(1000, int(config.timeout * 1000))
    settings: dict[str, Any] = {
        "bootstrap.servers": config.url,
        "client.id": config.client_id,
        "security.protocol": security_protocol(config),
        "socket.connection.setup.timeout.ms": timeout_ms,
        "socket.timeout.ms": max(timeout_ms, 10_000),
        "reconnect.backoff.max.ms": 1000,
        # Never create a topic because someone mistyped its name (metadata requests would, on brokers
        # with auto.create.topics.enable, and tansu does it for admin metadata requests).
        "allow.auto.create.topics": False,
        # librdkafka writes its own log lines to stderr, which would tear the console and the CLI's
        # output; failures reach us through error callbacks and results instead.
        "log_level": 0,
    }
    if config.sasl is not None:
        settings |= {
            "sasl.mechanism": config.sasl.mechanism,
            "sasl.username": config.sasl.username,
            "sasl.password": config.sasl.password,
        }
    elif config.username and config.password:
        settings |= {"sasl.mechanism": "PLAIN", "sasl.username": config.username, "sasl.password": config.password}
    if config.tls is not None:
        if config.tls.ca_file:
            settings["ssl.ca.location"] = config.tls.ca_file
        if config.tls.cert_file:
            settings["ssl.certificate.location"] = config.tls.cert_file
        if config.tls.key_file:
            settings["ssl.key.location"] = config.tls.key_file
        settings["enable.ssl.certificate.verification"] = config.tls.verify
    return settings


def consumer_settings(config: KafkaConfig, group_id: str, **extra: Any) -> dict[str, Any]:
    """A consumer that reads by assignment only: it never joins `group_id` and never auto-commits."""
    return client_settings(config) | {
        "group.id": group_id,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        # librdkafka pre-fetches up to this much per consumer: keeps a fast tail's memory bounded.
        "queued.max.messages.kbytes": 32 * 1024,
        **extra,
    }


def producer_settings(config: KafkaConfig) -> dict[str, Any]:
    """Idempotent, acks=all, Java's key partitioner, every delivery bounded by the broker's timeout."""
    return client_settings(config) | {
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": 5,
        "message.timeout.ms": max(1000, int(config.timeout * 1000)),
        # The Java client's partitioner, so a key lands on the partition Java producers put it on.
        "partitioner": "murmur2_random",
    }


def error_text(error: KafkaError | KafkaException | BaseException) -> str:
    if isinstance(error, KafkaException) and error.args and isinstance(error.args[0], KafkaError):
        error = error.args[0]
    text = error.str() if isinstance(error, KafkaError) else str(error) or type(error).__name__
    return " ".join(scrub(text).split())


def error_code(error: KafkaError | KafkaException | BaseException) -> int | None:
    if isinstance(error, KafkaException) and error.args and isinstance(error.args[0], KafkaError):
        return error.args[0].code()
    if isinstance(error, KafkaError):
        return error.code()
    return None


def broker_error(name: str, action: str, error: KafkaError | KafkaException | BaseException) -> BrokerError:
    """One-line error of the right kind for a client failure while doing `action`."""
    if isinstance(error, BrokerError):
        return error
    code = error_code(error)
    text = f"{name}: {action}: {error_text(error)}"
    if code in _AUTHENTICATION:
        return AuthenticationFailed(text)
    if code in UNAVAILABLE_CODES or isinstance(error, TimeoutError):
        return BrokerUnavailable(
            text if not isinstance(error, TimeoutError) else f"{name}: {action}: no answer in time"
        )
    if code in _NOT_FOUND:
        return NotFound(text)
    return BrokerError(text)


class KafkaClients:
    """One broker's admin client and worker threads, shared by the adapter's modules."""

    def __init__(self, config: KafkaConfig) -> None:
        self.config = config
        self.name = config.name
        self.timeout = config.timeout
        self._errors: list[KafkaError] = []
        try:
            self._admin: AdminClient | None = AdminClient(client_settings(config) | {"error_cb": self._errors.append})
        except (KafkaException, ValueError, TypeError) as exc:
            raise BrokerError(f"{self.name}: invalid Kafka client settings: {error_text(exc)}") from None
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix=f"mqtui-kafka-{self.name}")
        self.metadata_cache: ClusterMetadata | None = None

    @property
    def admin(self) -> AdminClient:
        if self._admin is None:
            raise BrokerUnavailable(f"{self.name}: connection closed")
        return self._admin

    # -- plumbing ----------------------------------------------------------------------------------
    async def blocking(self, action: str, func: Callable[..., T], *args: Any) -> T:
        """Run a blocking client call on our pool, bounded by the timeout, errors as mqtui errors."""
        loop = asyncio.get_running_loop()
        return await self._bounded(action, loop.run_in_executor(self.pool, func, *args))

    async def answer(self, action: str, future: concurrent.futures.Future[T]) -> T:
        """Await one admin future within the timeout."""
        return await self._bounded(action, asyncio.wrap_future(future))

    async def _bounded(self, action: str, awaitable: Awaitable[T]) -> T:
        failure: BrokerError
        try:
            return await asyncio.wait_for(awaitable, self.timeout + 1)
        except TimeoutError:
            failure = BrokerUnavailable(f"{self.name}: {action}: no answer within {self.timeout:g}s")
        except KafkaException as exc:
            failure = broker_error(self.name, action, exc)
            # The client's traceback holds the client object: kept alive by a reference cycle, a closed
            # adapter's admin client would go on reconnecting until the next garbage collection.
            exc.__traceback__ = None
        try:
            raise failure
        finally:
            del failure  # no frame -> exception -> traceback -> frame cycle either

    async def answers(
        self, action: str, futures: Mapping[Any, concurrent.futures.Future[T]]
    ) -> dict[Any, T | BrokerError]:
        """Await a batch of admin futures together; a key that failed maps to its error."""
        keys = list(futures)
        results = await asyncio.gather(*(self.answer(action, futures[k]) for k in keys), return_exceptions=True)
        answered: dict[Any, T | BrokerError] = {}
        for key, result in zip(keys, results, strict=True):
            if isinstance(result, BrokerUnavailable | AuthenticationFailed):
                raise result
            if isinstance(result, BaseException) and not isinstance(result, BrokerError):
                raise result
            answered[key] = result
        return answered

    # -- connection --------------------------------------------------------------------------------
    def _reach(self) -> ClusterMetadata:
        """Cluster metadata within the timeout, noticing rejected credentials as soon as they show."""
        deadline = time.monotonic() + self.timeout
        last = ""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                return self.admin.list_topics(timeout=min(0.25, left))
            except KafkaException as exc:
                last = error_text(exc)
            self.admin.poll(0)  # serve error_cb: authentication failures arrive there
            for error in self._errors:
                if error.code() in _AUTHENTICATION:
                    raise AuthenticationFailed(f"{self.name}: authentication failed: {error_text(error)}")
        detail = f" ({last})" if last else ""
        raise BrokerUnavailable(
            f"{self.name}: cannot reach {redact_url(self.config.url)} within {self.timeout:g}s{detail}"
        )

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self.metadata_cache = await asyncio.wait_for(loop.run_in_executor(self.pool, self._reach), self.timeout + 1)
        except TimeoutError:
            raise BrokerUnavailable(
                f"{self.name}: cannot reach {redact_url(self.config.url)} within {self.timeout:g}s"
            ) from None

    def close(self) -> None:
        """Drop the admin client now: a stray reference (a traceback) must not keep it reconnecting."""
        self._admin = None
        self.metadata_cache = None
        self.pool.shutdown(wait=False, cancel_futures=True)

    # -- questions every module asks ---------------------------------------------------------------
    async def metadata(self) -> ClusterMetadata:
        """Every topic with its partitions (one request); refreshes the cache the tail uses."""
        self.metadata_cache = await self.blocking("list topics", self.admin.list_topics, None, self.timeout)
        return self.metadata_cache

    async def partitions(self, topic: str) -> list[int]:
        """The partitions of `topic`, NotFound when it does not exist (never auto-created)."""
        metadata = await self.metadata()
        found = metadata.topics.get(topic)
        if found is None or (found.error is not None and not found.partitions):
            raise NotFound(f"{self.name}: no topic {topic!r}")
        return sorted(found.partitions)

    async def offsets(self, partitions: Iterable[TP], spec: OffsetSpec, action: str) -> dict[TP, int | None]:
        """One batched ListOffsets for many partitions; a partition that failed maps to None."""
        request = {TopicPartition(topic, partition): spec for topic, partition in partitions}
        if not request:
            return {}
        futures = self.admin.list_offsets(request, request_timeout=self.timeout)
        answered = await self.answers(action, futures)
        return {
            (tp.topic, tp.partition): (None if isinstance(result, BaseException) else result.offset)
            for tp, result in answered.items()
        }

    async def watermarks(self, partitions: Iterable[TP]) -> tuple[dict[TP, int | None], dict[TP, int | None]]:
        """(low, high) offsets of many partitions: two batched requests, sent together."""
        wanted = list(partitions)
        low, high = await asyncio.gather(
            self.offsets(wanted, OffsetSpec.earliest(), "list earliest offsets"),
            self.offsets(wanted, OffsetSpec.latest(), "list latest offsets"),
        )
        return low, high

    async def bounds(self, topic: str, tps: list[TP]) -> tuple[dict[int, int], dict[int, int]]:
        """Each partition's low and high watermark by partition number, for a tail or a search to plan
        from: a partition the broker gave none for is BrokerUnavailable, as a plan made from a guess
        would skip or repeat records."""
        low, high = await self.watermarks(tps)
        lows: dict[int, int] = {}
        highs: dict[int, int] = {}
        for tp in tps:
            lo, hi = low.get(tp), high.get(tp)
            if lo is None or hi is None:
                raise BrokerUnavailable(f"{self.name}: no watermarks for {topic}[{tp[1]}]")
            lows[tp[1]], highs[tp[1]] = lo, hi
        return lows, highs

    async def committed(self, group: str, partitions: Iterable[TP] | None = None) -> dict[TP, TopicPartition]:
        """A group's committed offsets (all of them, or those of `partitions`), with their metadata."""
        from confluent_kafka import ConsumerGroupTopicPartitions

        wanted = [TopicPartition(t, p) for t, p in partitions] if partitions is not None else None
        request = ConsumerGroupTopicPartitions(group, wanted)
        futures = self.admin.list_consumer_group_offsets([request], request_timeout=self.timeout)
        result = await self.answer(f"list offsets of group {group!r}", futures[group])
        return {(tp.topic, tp.partition): tp for tp in result.topic_partitions or ()}
