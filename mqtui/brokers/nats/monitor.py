"""The NATS monitoring endpoints (/varz, /connz, /subsz, /jsz) and the server view sections built from them.

Monitoring is plain HTTP without a client library: stdlib urllib runs in a worker thread so the event
loop never blocks, and orjson reads the answers. Only the server the monitor_url points at is seen (a
cluster's other nodes have their own endpoints).
"""

from __future__ import annotations

import asyncio
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from typing import Any

import orjson

from mqtui.errors import BrokerUnavailable
from mqtui.model import Destination, DestinationKind, DetailSection

#: Subjects of the client libraries' and the server's own plumbing, hidden unless asked for.
INTERNAL_PREFIXES = ("_INBOX.", "$JS.", "$SYS.", "_R_.", "$KV.", "$O.", "$JSC.", "$NRG.", "_GR_.", "$SRV.")
_PAGE = 1024


def is_internal_subject(subject: str) -> bool:
    return subject.startswith(INTERNAL_PREFIXES)


class Monitor:
    """Read-only access to one server's monitoring port."""

    def __init__(self, broker: str, base_url: str, timeout: float, tls: ssl.SSLContext | None = None) -> None:
        self.broker = broker
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.tls = tls

    def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        query = urllib.parse.urlencode(params)
        url = f"{self.base_url}{path}" + (f"?{query}" if query else "")
        try:
            with urllib.request.urlopen(url, timeout=self.timeout, context=self.tls) as response:
                answer = orjson.loads(response.read())
        except (OSError, urllib.error.URLError, orjson.JSONDecodeError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or type(exc).__name__
            raise BrokerUnavailable(f"{self.broker}: monitoring endpoint {path} failed: {reason}") from None
        if not isinstance(answer, dict):
            raise BrokerUnavailable(f"{self.broker}: monitoring endpoint {path} answered no object")
        return answer

    async def get(self, path: str, **params: Any) -> dict[str, Any]:
        return await asyncio.to_thread(self._get, path, params)

    async def subscriptions(self) -> list[dict[str, Any]]:
        """Every subscription the server holds (/subsz?subs=1), paged."""
        found: list[dict[str, Any]] = []
        while True:
            page = await self.get("/subsz", subs=1, offset=len(found), limit=_PAGE)
            items = page.get("subscriptions_list") or []
            found.extend(items)
            if len(items) < _PAGE or len(found) >= int(page.get("total") or 0):
                return found

    async def connections(self) -> dict[str, Any]:
        return await self.get("/connz", limit=_PAGE, sort="pending")


def subject_destinations(broker: str, subs: list[dict[str, Any]], include_internal: bool) -> list[Destination]:
    """Core subjects that have subscribers, one row per subject; consumers = subscriptions on it."""
    by_subject: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for sub in subs:
        subject = str(sub.get("subject") or "")
        if subject:
            by_subject[subject].append(sub)
    rows = []
    for subject, items in sorted(by_subject.items()):
        internal = is_internal_subject(subject)
        if internal and not include_internal:
            continue
        groups = sorted({str(s["qgroup"]) for s in items if s.get("qgroup")})
        extra = {"delivered": str(sum(int(s.get("msgs") or 0) for s in items))}
        if groups:
            extra["queue_groups"] = ",".join(groups)
        rows.append(
            Destination(
                broker=broker,
                name=subject,
                kind=DestinationKind.SUBJECT,
                consumers=len(items),
                internal=internal,
                extra=extra,
            )
        )
    return rows


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def varz_summary(varz: dict[str, Any]) -> list[tuple[str, str]]:
    js = varz.get("jetstream") or {}
    js_stats = js.get("stats") or {}
    server_id, server_name = _text(varz.get("server_id")), _text(varz.get("server_name"))
    pairs = [
        ("server", server_id if server_name in ("", server_id) else f"{server_name} ({server_id})"),
        ("version", _text(varz.get("version"))),
        ("uptime", _text(varz.get("uptime"))),
        ("connections", _text(varz.get("connections"))),
        ("total connections", _text(varz.get("total_connections"))),
        ("slow consumers", _text(varz.get("slow_consumers"))),
        ("subscriptions", _text(varz.get("subscriptions"))),
        ("messages in / out", f"{_text(varz.get('in_msgs'))} / {_text(varz.get('out_msgs'))}"),
        ("bytes in / out", f"{_text(varz.get('in_bytes'))} / {_text(varz.get('out_bytes'))}"),
        ("memory", _text(varz.get("mem"))),
        ("cpu %", _text(varz.get("cpu"))),
    ]
    if js:
        pairs += [
            ("jetstream memory", _text(js_stats.get("memory"))),
            ("jetstream storage", _text(js_stats.get("storage"))),
            ("jetstream api requests / errors",
             f"{_text((js_stats.get('api') or {}).get('total'))} / {_text((js_stats.get('api') or {}).get('errors'))}"),
        ]  # fmt: skip
    return pairs


def connections_section(connz: dict[str, Any]) -> DetailSection:
    columns = ("CID", "NAME", "ADDRESS", "LANG", "VERSION", "SUBS", "PENDING BYTES", "MSGS IN", "MSGS OUT",
               "UPTIME", "IDLE")  # fmt: skip
    rows = tuple(
        (
            _text(c.get("cid")),
            _text(c.get("name")),
            f"{_text(c.get('ip'))}:{_text(c.get('port'))}",
            _text(c.get("lang")),
            _text(c.get("version")),
            _text(c.get("subscriptions")),
            _text(c.get("pending_bytes")),
            _text(c.get("in_msgs")),
            _text(c.get("out_msgs")),
            _text(c.get("uptime")),
            _text(c.get("idle")),
        )
        for c in connz.get("connections") or []
    )
    return DetailSection(f"Connections ({_text(connz.get('total'))})", columns, rows)


def subscriptions_section(subs: list[dict[str, Any]], include_internal: bool = False) -> DetailSection:
    rows = tuple(
        (
            _text(s.get("subject")),
            _text(s.get("qgroup")),
            _text(s.get("cid")),
            _text(s.get("sid")),
            _text(s.get("msgs")),
        )
        for s in subs
        if include_internal or not is_internal_subject(str(s.get("subject") or ""))
    )
    return DetailSection(f"Subscriptions ({len(rows)})", ("SUBJECT", "QUEUE GROUP", "CID", "SID", "DELIVERED"), rows)


def jsz_section(jsz: dict[str, Any]) -> DetailSection:
    """Streams per account as the server (not the API) counts them, with consumer numbers."""
    rows = []
    for account in jsz.get("account_details") or []:
        for stream in account.get("stream_detail") or []:
            state = stream.get("state") or {}
            rows.append((
                _text(account.get("name")), _text(stream.get("name")), _text(state.get("messages")),
                _text(state.get("bytes")), _text(state.get("consumer_count")),
                _text(sum(int(c.get("num_pending") or 0) for c in stream.get("consumer_detail") or [])),
            ))  # fmt: skip
    return DetailSection(
        f"JetStream ({_text(jsz.get('streams'))} streams, {_text(jsz.get('consumers'))} consumers, "
        f"{_text(jsz.get('messages'))} messages)",
        ("ACCOUNT", "STREAM", "MESSAGES", "BYTES", "CONSUMERS", "PENDING"),
        tuple(rows),
    )
