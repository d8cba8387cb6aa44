"""`mqtui snapshot` against a real Redis beside a broker that is down, and the promise that the CLI's
`--json` rows of a broker that failed carry nothing at all (no numbers from an earlier poll: the CLI
keeps none, each command asks every broker afresh)."""

from __future__ import annotations

import uuid
from pathlib import Path

import redis

from mqtui.demo.localbrokers import LocalRedis
from mqtui.services.incident_reader import read_document
from mqtui.services.snapshot import BrokerStatus
from tests.helpers import run_mqtui, write_config

INCIDENT_DB = 14


def two_brokers(tmp_path: Path, redis_server: LocalRedis) -> Path:
    brokers = [
        {"name": "r", "kind": "redis", "url": f"redis://127.0.0.1:{redis_server.port}/{INCIDENT_DB}", "timeout": 2.0},
        {"name": "gone", "kind": "nats", "url": "nats://ops:s3cret-pw@127.0.0.1:1", "timeout": 1.0},
    ]  # fmt: skip
    return write_config(tmp_path / "config.toml", {"ops": {"brokers": brokers}})


def planted(redis_server: LocalRedis) -> tuple[redis.Redis, str]:
    client = redis.Redis(port=redis_server.port, db=INCIDENT_DB)
    name = f"incident-{uuid.uuid4().hex[:8]}"
    for i in range(4):
        client.xadd(name, {"n": str(i)})
    client.xgroup_create(name, "readers", id="0")
    client.rpush(f"{name}:dlq", b"x", b"y", b"z")
    return client, name


def test_snapshot_records_the_live_broker_and_the_down_one(tmp_path: Path, redis_server: LocalRedis) -> None:
    client, name = planted(redis_server)
    try:
        config = two_brokers(tmp_path, redis_server)
        out = tmp_path / "incident.json"
        result = run_mqtui("--config", str(config), "-p", "ops", "snapshot", "--out", str(out), timeout=60)
        assert result.code == 0, result.err
        assert result.out.strip() == str(out)
        assert result.err.startswith("mqtui: gone: ") and len(result.err.strip().splitlines()) == 1
        text = out.read_text()
        assert "s3cret-pw" not in text and "nats://ops:***@127.0.0.1:1" in text
        incident = read_document(out)
        live, down = incident.snapshots
        assert (live.name, live.status, down.name, down.status) == ("r", BrokerStatus.CONNECTED, "gone",
                                                                   BrokerStatus.UNREACHABLE)  # fmt: skip
        assert down.destinations == () and down.lag == () and down.error
        [group] = [g for g in live.lag if g.destination == name]
        assert (group.group, group.lag, group.trend.history) == ("readers", 4, (4,))
        assert [q.count for q in live.dlqs if q.name == f"{name}:dlq"] == [3]
        assert [(a.broker, a.condition) for a in incident.alerts.open] == [("gone", "broker_down")]
    finally:
        client.delete(name, f"{name}:dlq")
        client.close()


def test_json_rows_of_a_failed_broker_carry_nothing(tmp_path: Path, redis_server: LocalRedis) -> None:
    client, name = planted(redis_server)
    try:
        config = two_brokers(tmp_path, redis_server)
        for command in (["ls"], ["lag"], ["dlq", "ls"]):
            result = run_mqtui("--config", str(config), "-p", "ops", *command, "--json", timeout=60)
            assert result.code == 1, (command, result.err)
            rows = result.json_lines()
            assert rows and {row["broker"] for row in rows} == {"r"}, command
            assert "gone" not in result.out
            assert result.err.strip().splitlines()[0].startswith("mqtui: gone: ")
    finally:
        client.delete(name, f"{name}:dlq")
        client.close()
