"""The NATS server view (`describe_server`: `describe BROKER '$server'`, `i` in the console).

Server identity, connections, slow consumers, subscriptions and JetStream usage: from the monitoring
endpoints where `monitor_url` is set, and from the client connection (INFO, $JS.API.INFO, this
client's own counters) in any case.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

from mqtui.brokers.nats import monitor as monitoring
from mqtui.brokers.nats.connection import JetStreamApiError, JetStreamDisabled
from mqtui.brokers.nats.jetstream import JetStream
from mqtui.config import redact_url
from mqtui.model import Detail, DetailSection

#: The name the server view's Detail carries.
SERVER_VIEW = "$server"


async def describe_server(
    js: JetStream, monitor: monitoring.Monitor | None, counters: Mapping[str, int], dlq_stream_status: str | None
) -> Detail:
    """The server as a whole: what the monitoring port says, and what this connection sees."""
    nc = js.conn()
    info: dict[str, Any] = dict(getattr(nc, "_server_info", {}) or {})
    stats = nc.stats
    url = nc.connected_url
    server_id, server_name = str(info.get("server_id", "")), str(info.get("server_name", ""))
    summary: list[tuple[str, str]] = [("connected to", redact_url(url.geturl()) if url else "-")]
    if monitor is None:  # with monitoring, /varz says this and more
        summary += [
            ("server", server_id if server_name in ("", server_id) else f"{server_name} ({server_id})"),
            ("version", str(info.get("version", ""))),
        ]
    summary += [
        ("max payload", str(info.get("max_payload", ""))),
        ("jetstream", "enabled" if info.get("jetstream") else "disabled"),
        ("this client: msgs in / out", f"{stats.get('in_msgs', 0)} / {stats.get('out_msgs', 0)}"),
        ("this client: reconnects", str(stats.get("reconnects", 0))),
        ("this client: slow consumer events", str(counters.get("slow_consumers", 0))),
    ]
    sections: list[DetailSection] = []
    with js.errors("read JetStream account info"), contextlib.suppress(JetStreamDisabled, JetStreamApiError):
        account = await js.api("INFO")
        api = account.get("api") or {}
        summary += [
            ("account streams / consumers", f"{account.get('streams', 0)} / {account.get('consumers', 0)}"),
            ("account memory / storage", f"{account.get('memory', 0)} / {account.get('storage', 0)}"),
            ("account api requests / errors", f"{api.get('total', 0)} / {api.get('errors', 0)}"),
        ]
    if dlq_stream_status is not None:
        summary.append(("dlq stream (create_dlq_stream)", dlq_stream_status))
    if monitor is None:
        summary.append(("monitoring", "monitor_url not set: other clients' connections and subscriptions unseen"))
    else:
        varz, connz, subs, jsz = await asyncio.gather(
            monitor.get("/varz"),
            monitor.connections(),
            monitor.subscriptions(),
            monitor.get("/jsz", streams="true", consumers="true"),
        )
        summary += monitoring.varz_summary(varz)
        sections += [
            monitoring.connections_section(connz),
            monitoring.subscriptions_section(subs),
            monitoring.jsz_section(jsz),
        ]
    return Detail(broker=js.name, name=SERVER_VIEW, summary=tuple(summary), sections=tuple(sections))
