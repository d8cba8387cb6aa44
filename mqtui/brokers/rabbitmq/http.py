"""A small blocking client for the RabbitMQ management HTTP API (run it in worker threads).

The stdlib's urllib is enough for requests with basic auth (GETs, and the PUT and DELETE of a shovel);
orjson parses the answers. Every failure is mapped to an `mqtui.errors` exception with one line naming
the broker, and the URL in it is redacted.
Queue listings are paged with a column selection, so 5,000 queues cost a few small answers instead of
one huge one with every statistic RabbitMQ keeps.
"""

from __future__ import annotations

import base64
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

import orjson

from mqtui.config import redact_url
from mqtui.errors import AuthenticationFailed, BrokerError, BrokerUnavailable, NotFound

#: The largest page the management API accepts.
PAGE_SIZE = 500

#: What a queue row needs: counts, rates, arguments; not the per-queue garbage-collection statistics.
QUEUE_COLUMNS = (
    "name",
    "vhost",
    "type",
    "state",
    "durable",
    "auto_delete",
    "exclusive",
    "messages",
    "messages_ready",
    "messages_unacknowledged",
    "consumers",
    "arguments",
    "policy",
    "effective_policy_definition",
    "idle_since",
    "head_message_timestamp",
    "message_stats.publish_details.rate",
    "message_stats.deliver_get_details.rate",
    "message_stats.ack_details.rate",
)


def quote_segment(text: str) -> str:
    """A vhost or queue name as one path segment ("/" becomes %2F, as the API expects)."""
    return quote(text, safe="")


class ManagementAPI:
    """Requests against one broker's management API; thread-safe (no shared mutable state)."""

    def __init__(
        self,
        broker: str,
        base_url: str,
        username: str,
        password: str,
        *,
        timeout: float,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.broker = broker
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.timeout = timeout
        self._auth = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self._ssl_context = ssl_context

    def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | int] | None = None,
        *,
        body: Any = None,
        what: str | None = None,
        empty_on_bad_request: bool = False,
    ) -> Any:
        """The parsed JSON answer for `path` (None for an empty one); `what` names the object for a 404
        or 403 ("queue 'x'")."""
        url = f"{self.base_url}{path}"
        if params:
            url += "?" + urlencode(params)
        data = orjson.dumps(body) if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Authorization", self._auth)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self._ssl_context) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 400 and empty_on_bad_request:
                return {"items": []}
            raise self._http_error(exc.code, method, path, what) from None
        except TimeoutError:
            raise self._unavailable(f"no answer within {self.timeout:g}s") from None
        except urllib.error.URLError as exc:
            raise self._unavailable(_reason(exc.reason)) from None
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise self._unavailable(_reason(exc)) from None
        if not raw:
            return None
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise BrokerError(
                f"{self.broker}: management API answered {path} with something that is not JSON"
            ) from None

    def paged(self, path: str, columns: tuple[str, ...], page: int, extra: Mapping[str, str] | None = None) -> Any:
        """One page of a listing (`items`, `page_count`), with only the named columns.

        A page past the end (objects deleted since the first page was read) is an empty page.
        """
        params: dict[str, str | int] = {"page": page, "page_size": PAGE_SIZE, "columns": ",".join(columns)}
        params.update(extra or {})
        return self.request("GET", path, params, empty_on_bad_request=page > 1)

    def _http_error(self, code: int, method: str, path: str, what: str | None) -> BrokerError:
        if code == 401:
            return AuthenticationFailed(
                f"{self.broker}: management API rejected the credentials of user {self.username!r}"
            )
        if code == 403:
            verb = "read" if method == "GET" else "change"
            return BrokerError(f"{self.broker}: user {self.username!r} may not {verb} {what or path} (HTTP 403)")
        if code == 404:
            return NotFound(f"{self.broker}: {what or path} not found")
        if code in (502, 503, 504):
            return self._unavailable(f"HTTP {code}")
        return BrokerError(f"{self.broker}: management API answered HTTP {code} for {path}")

    def _unavailable(self, reason: str) -> BrokerUnavailable:
        return BrokerUnavailable(f"{self.broker}: management API at {redact_url(self.base_url)} unreachable ({reason})")


def _reason(reason: object) -> str:
    if isinstance(reason, TimeoutError):
        return "timed out"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, ssl.SSLError):
        return f"TLS: {reason.reason or reason}"
    text = " ".join(str(reason).split())
    return text or type(reason).__name__
