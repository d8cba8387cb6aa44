"""The server view (`describe BROKER '$server'`, `i` in the console) and what connect() learns from /api/overview."""

from __future__ import annotations

from pathlib import Path

from mqtui.brokers.rabbitmq.adapter import RabbitMQAdapter
from mqtui.brokers.rabbitmq.topology import parse_version
from mqtui.demo.localbrokers import LocalRabbitMQ
from tests.helpers import run_mqtui, write_config
from tests.rabbitmq.conftest import broker_entry, management


async def test_connect_reads_version_and_cluster_and_the_server_view_shows_the_overview(
    adapter: RabbitMQAdapter, rabbitmq_server: LocalRabbitMQ
) -> None:
    overview = management(rabbitmq_server, "/api/overview")
    assert adapter.version == parse_version(overview["rabbitmq_version"]) >= (3, 8)
    assert adapter.overview["cluster_name"] == overview["cluster_name"]

    detail = await adapter.describe_server()
    summary = dict(detail.summary)
    assert summary["version"] == f"RabbitMQ {overview['rabbitmq_version']}"
    assert (summary["cluster"], summary["node (answering)"]) == (overview["cluster_name"], overview["node"])
    assert summary["shovel plugin"] == "enabled"  # the test broker enables rabbitmq_shovel_management
    sections = {section.title: section for section in detail.sections}
    assert ("amqp", str(rabbitmq_server.port)) in {(row[1], row[3]) for row in sections["Listeners"].rows}
    ((node, running, *_rest, alarms),) = sections["Nodes"].rows
    assert (node, running, alarms) == (overview["node"], "yes", "none")
    assert {"direct", "fanout", "topic", "headers"} <= {row[0] for row in sections["Exchange types"].rows}


def test_describe_server_from_the_cli(tmp_path: Path, rabbitmq_server: LocalRabbitMQ) -> None:
    config = write_config(tmp_path / "c.toml", {"ops": {"brokers": [broker_entry(rabbitmq_server)]}})
    result = run_mqtui("--config", str(config), "--profile", "ops", "describe", "rabbit", "$server")
    assert result.code == 0, result.err
    assert "cluster" in result.out and "Listeners" in result.out and str(rabbitmq_server.port) in result.out
