"""`mqtui search` on JetStream: a stream by sequence and by time, a subject a stream stores, sequences
removed by the stream's limits named, and the coverage line on stderr after the matches."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mqtui.demo.localbrokers import LocalNats
from tests.helpers import run_mqtui, write_config
from tests.nats.support import client_for, unique


@pytest.fixture
def cli_config(tmp_path: Path, nats_server: LocalNats) -> Path:
    broker = {"name": "nt", "kind": "nats", "url": nats_server.url, "monitor_url": nats_server.monitor_url,
              "timeout": 3.0}  # fmt: skip
    return write_config(tmp_path / "c.toml", {"p": {"brokers": [broker]}})


def search(config: Path, *args: str) -> tuple[int, list[dict], list[str]]:
    result = run_mqtui("--config", str(config), "-p", "p", "search", "nt", *args, "--json", timeout=60)
    lines = [json.loads(line) for line in result.out.splitlines() if line.strip()]
    return result.code, lines, result.err.splitlines()


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


async def test_a_stream_by_time_and_sequence_and_a_subject(cli_config: Path, nats_server: LocalNats) -> None:
    stream, subject = unique("SR"), unique("sr")
    async with client_for(nats_server) as nc:
        js = nc.jetstream()
        await js.add_stream(name=stream, subjects=[f"{subject}.>"])
        for n in range(4):  # sequences 1-4: before the range
            await js.publish(f"{subject}.a", json.dumps({"order_id": 4711 if n == 2 else n}).encode())
        since = datetime.now(UTC)
        for n in range(4, 10):  # 5-10: in the range
            await js.publish(f"{subject}.b", json.dumps({"order_id": 4711 if n == 6 else n}).encode(),
                             headers={"trace": f"t{n}"})  # fmt: skip
        before = datetime.now(UTC)
        await js.publish(f"{subject}.a", json.dumps({"order_id": 4711}).encode())  # 11: after it
    code, found, err = await asyncio.to_thread(
        search, cli_config, stream, "--where", ".value.order_id == 4711", "--from", iso(since), "--to", iso(before)
    )
    assert code == 0, err
    assert [m["position"] for m in found] == [7]
    assert len(err) == 1 and err[0].startswith(f"mqtui: scanned 6 of 6 messages in {stream} ")
    assert err[0].endswith(", 1 matched")
    code, found, err = await asyncio.to_thread(
        search, cli_config, stream, "--where", "4711", "--from", "2", "--to", "7"
    )
    assert ([m["position"] for m in found], err) == (
        [3, 7], [f"mqtui: scanned 6 of 6 messages in {stream} from position 2 to position 7, 2 matched"])  # fmt: skip
    code, found, err = await asyncio.to_thread(search, cli_config, f"{subject}.a", "--where", ".value.order_id > 4000")
    assert [m["position"] for m in found] == [3, 11]
    assert err == [f"mqtui: scanned 5 of 5 messages in {subject}.a (everything it held), 2 matched"]
    code, found, _ = await asyncio.to_thread(search, cli_config, stream, "--where", "header:trace=t9")
    assert [m["position"] for m in found] == [10]


async def test_removed_sequences_are_named_and_a_missing_stream_is_one_line(
    cli_config: Path, nats_server: LocalNats
) -> None:
    stream, subject = unique("SL"), unique("sl")
    async with client_for(nats_server) as nc:
        js = nc.jetstream()
        await js.add_stream(name=stream, subjects=[subject], max_msgs=5)
        for n in range(8):
            await js.publish(subject, b"event %d" % n)
    code, found, err = await asyncio.to_thread(search, cli_config, stream, "--where", "event", "--from", "1")
    assert (code, len(found)) == (0, 5)
    assert err == [
        f"mqtui: scanned 5 of 5 messages in {stream} from position 1 to the end, 5 matched",
        "mqtui: not in the broker any more: sequences 1..3 (removed by the stream's limits)",
    ]
    code, _, err = await asyncio.to_thread(search, cli_config, "NO_SUCH_STREAM", "--where", "x")
    assert code == 2 and len(err) == 1 and "NO_SUCH_STREAM" in err[0]
