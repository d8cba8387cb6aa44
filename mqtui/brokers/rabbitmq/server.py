"""The RabbitMQ server view (`describe_server`: `describe BROKER '$server'`, `i` in the console).

`/api/overview` gives version, cluster, message rates, queue and object totals and listeners;
`/api/nodes` the per-node alarms an on-call engineer looks for first (memory, disk, file descriptors).
Both are asked with a column selection, so a large cluster's overview stays small.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mqtui.brokers.rabbitmq.amqp import text
from mqtui.model import Detail, DetailSection

#: The name the server view's Detail carries.
SERVER_VIEW = "$server"

#: What `connect()` keeps from `/api/overview`: it never changes while a broker runs.
IDENTITY_COLUMNS = ("rabbitmq_version", "product_name", "product_version", "cluster_name", "node", "erlang_version")
OVERVIEW_COLUMNS = (
    *IDENTITY_COLUMNS,
    "management_version",
    "rates_mode",
    "message_stats",
    "queue_totals",
    "object_totals",
    "listeners",
    "exchange_types",
)
NODE_COLUMNS = (
    "name",
    "running",
    "uptime",
    "mem_used",
    "mem_limit",
    "mem_alarm",
    "disk_free",
    "disk_free_limit",
    "disk_free_alarm",
    "fd_used",
    "fd_total",
)

_RATES = (("publish/s", "publish_details"), ("deliver/s", "deliver_get_details"), ("ack/s", "ack_details"),
          ("redeliver/s", "redeliver_details"), ("unroutable/s", "return_unroutable_details"))  # fmt: skip


def server_detail(
    broker: str, overview: Mapping[str, Any], nodes: Sequence[Mapping[str, Any]], shovel: bool | None
) -> Detail:
    """`shovel`: whether the shovel plugin answers (None: unknown)."""
    product = f"{text(overview.get('product_name')) or 'RabbitMQ'} {text(overview.get('product_version'))}".strip()
    stats = overview.get("message_stats") or {}
    totals = overview.get("queue_totals") or {}
    objects = overview.get("object_totals") or {}
    summary: list[tuple[str, str]] = [
        ("version", product),
        ("cluster", text(overview.get("cluster_name")) or "-"),
        ("node (answering)", text(overview.get("node")) or "-"),
        ("erlang", text(overview.get("erlang_version")) or "-"),
        ("management", f"{text(overview.get('management_version'))} (rates: {text(overview.get('rates_mode'))})"),
    ]
    for label, key in _RATES:
        summary.append((label, _rate(stats.get(key))))
    summary += [
        ("messages (ready / unacked)", _totals(totals)),
        ("queues / exchanges", f"{_number(objects.get('queues'))} / {_number(objects.get('exchanges'))}"),
        ("connections / channels / consumers",
         " / ".join(_number(objects.get(k)) for k in ("connections", "channels", "consumers"))),
        ("shovel plugin", "unknown" if shovel is None else "enabled" if shovel else "not enabled"),
    ]  # fmt: skip
    sections = (
        DetailSection(
            "Nodes",
            ("NODE", "RUNNING", "MEMORY", "DISK FREE", "FILE DESCRIPTORS", "ALARMS"),
            tuple(_node_row(node) for node in nodes),
        ),
        DetailSection(
            "Listeners",
            ("NODE", "PROTOCOL", "ADDRESS", "PORT"),
            tuple(
                (
                    text(item.get("node")),
                    text(item.get("protocol")),
                    text(item.get("ip_address")),
                    text(item.get("port")),
                )
                for item in overview.get("listeners") or ()
                if isinstance(item, Mapping)
            ),
        ),
        DetailSection(
            "Exchange types",
            ("TYPE",),
            tuple(
                (text(item.get("name")),) for item in overview.get("exchange_types") or () if isinstance(item, Mapping)
            ),
        ),
    )
    return Detail(broker=broker, name=SERVER_VIEW, summary=tuple(summary), sections=sections)


def _node_row(node: Mapping[str, Any]) -> tuple[str, ...]:
    alarms = [name for name, key in (("memory", "mem_alarm"), ("disk", "disk_free_alarm")) if node.get(key)]
    return (
        text(node.get("name")),
        "yes" if node.get("running") else "no",
        f"{_size(node.get('mem_used'))} of {_size(node.get('mem_limit'))}",
        f"{_size(node.get('disk_free'))} (limit {_size(node.get('disk_free_limit'))})",
        f"{_number(node.get('fd_used'))} of {_number(node.get('fd_total'))}",
        ", ".join(alarms) or "none",
    )


def _totals(totals: Mapping[str, Any]) -> str:
    if not totals:
        return "- (no queue totals reported)"
    ready, unacked = _number(totals.get("messages_ready")), _number(totals.get("messages_unacknowledged"))
    return f"{_number(totals.get('messages'))} ({ready} / {unacked})"


def _rate(details: object) -> str:
    rate = details.get("rate") if isinstance(details, Mapping) else None
    return f"{rate:g}" if isinstance(rate, int | float) and not isinstance(rate, bool) else "-"


def _number(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else "-"


def _size(value: object) -> str:
    if not isinstance(value, int) or isinstance(value, bool):
        return "-"
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return "-"
