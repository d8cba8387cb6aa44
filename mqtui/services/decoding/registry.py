"""Schemas fetched by id from a Confluent-compatible registry, once per id per session, off the hot path.

confluent-kafka's `SchemaRegistryClient` (blocking, httpx) runs in this cache's own two threads: a tail
asks `get(id)`, which never blocks; an unknown id starts a fetch and answers None meanwhile. The CLI
then waits for pending fetches up to the registry's timeout (`wait`), the console does not wait at all:
its messages show raw with "fetching schema 7" until the schema is there. A failure is kept with its
reason (unknown id: for the session; registry down, slow or refusing: asked again after 30 s).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from typing import Any

from mqtui.config.decoding import SchemaRegistryConfig
from mqtui.secrets import scrub
from mqtui.services.decoding.schemas import Schema, Unavailable

RETRY_AFTER = 30.0
MAX_IDS = 1000
"""Schema ids asked for in one session at most: binary payloads that merely start with a 0 byte (or a
hostile producer) must not turn every message into a registry request."""


class SchemaCache:
    def __init__(self, config: SchemaRegistryConfig) -> None:
        self.config = config
        self._known: dict[int, Schema | Unavailable] = {}
        self._pending: dict[int, concurrent.futures.Future[None]] = {}
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="mqtui-registry")
        self._client: Any = None
        self._client_lock = threading.Lock()

    def client(self) -> Any:
        """confluent-kafka's client, made on first use (importing it costs ~0.2 s)."""
        with self._client_lock:
            if self._client is None:
                from confluent_kafka.schema_registry import SchemaRegistryClient

                conf: dict[str, Any] = {"url": self.config.url, "timeout": self.config.timeout, "max.retries": 0}
                if self.config.username is not None:
                    conf["basic.auth.user.info"] = f"{self.config.username}:{self.config.password or ''}"
                if self.config.ca_file:
                    conf["ssl.ca.location"] = self.config.ca_file
                self._client = SchemaRegistryClient(conf)
            return self._client

    def get(self, schema_id: int) -> Schema | Unavailable | None:
        """The schema of `schema_id`, why it is unavailable, or None while it is being fetched."""
        found = self._known.get(schema_id)
        if found is not None and not (
            isinstance(found, Unavailable) and found.retry_at is not None and time.monotonic() >= found.retry_at
        ):
            return found
        if schema_id not in self._pending:
            if found is None and len(self._known) + len(self._pending) >= MAX_IDS:
                return Unavailable(f"schema {schema_id} not fetched: {MAX_IDS} schema ids were asked for already")
            self._pending[schema_id] = self._pool.submit(self._fetch, schema_id)
        return None

    async def wait(self, ids: set[int], timeout: float) -> None:
        """Wait up to `timeout` seconds for the fetches of `ids` that are under way."""
        futures = [asyncio.wrap_future(f) for i in ids if (f := self._pending.get(i)) is not None]
        if futures:
            await asyncio.wait(futures, timeout=timeout)
        for schema_id in ids:
            if schema_id not in self._known and schema_id in self._pending:
                self._known.setdefault(
                    schema_id, Unavailable(f"the schema registry did not answer within {self.config.timeout:g}s",
                                           time.monotonic() + RETRY_AFTER),
                )  # fmt: skip

    def _fetch(self, schema_id: int) -> None:
        try:
            self._known[schema_id] = self._load(schema_id)
        except Exception as exc:  # any failure of the registry or the schema is shown, never raised
            self._known[schema_id] = _unavailable(schema_id, exc)
        finally:
            self._pending.pop(schema_id, None)

    def _load(self, schema_id: int) -> Schema:
        from mqtui.services.decoding.build import build_schema

        client = self.client()
        schema = client.get_schema(schema_id, fmt="serialized")
        subject = version = None
        try:
            versions = client.get_schema_versions(schema_id)
        except Exception:  # older registries lack the endpoint; the schema reads without its subject
            versions = []
        if versions:
            subject, version = versions[0].subject, versions[0].version
        return build_schema(schema, schema_id, subject, version, client)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _unavailable(schema_id: int, exc: Exception) -> Unavailable:
    """One line saying why, never quoting credentials (the client's errors may carry the URL)."""
    retry = time.monotonic() + RETRY_AFTER
    status = getattr(exc, "http_status_code", None)
    if status == 404:
        return Unavailable(f"schema id {schema_id} is not in the schema registry")
    if status in (401, 403):
        return Unavailable(f"the schema registry refused the credentials ({status})", retry)
    if status is not None:
        message = getattr(exc, "error_message", "") or ""
        return Unavailable(scrub(f"the schema registry answered {status}: {message}"[:200]), retry)
    name = type(exc).__name__
    if "Timeout" in name:
        return Unavailable("the schema registry did not answer in time", retry)
    if "Connect" in name or isinstance(exc, OSError):
        return Unavailable("the schema registry is unreachable", retry)
    return Unavailable(scrub(f"schema {schema_id} cannot be read: {name}: {exc}"[:200]), retry)
