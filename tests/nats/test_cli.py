"""The CLI end to end against the real nats-server: ls, lag, tail, publish, request and dlq."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import pytest
from nats.js.api import ConsumerConfig

from mqtui.demo.localbrokers import LocalNats
from tests.helpers import run_mqtui, write_config
from tests.nats.support import client_for, unique
from tests.support import until

ADVISORY = "$JS.EVENT.ADVISORY.CONSUMER"


@pytest.fixture
def cli_config(tmp_path: Path, nats_server: LocalNats) -> Path:
    broker = {"name": "nt", "kind": "nats", "url": nats_server.url, "monitor_url": nats_server.monitor_url,
              "timeout": 3.0}  # fmt: skip
    return write_config(tmp_path / "c.toml", {"p": {"brokers": [broker]}})


def mqtui(config: Path, *args: str):  # type: ignore[no-untyped-def]
    return run_mqtui("--config", str(config), "-p", "p", *args)


async def test_ls_lag_tail_and_publish(cli_config: Path, nats_server: LocalNats) -> None:
    stream, subject = unique("CL"), unique("cl")
    async with client_for(nats_server) as nc:
        js = nc.jetstream()
        await js.add_stream(name=stream, subjects=[f"{subject}.>"])
        sub = await js.pull_subscribe(f"{subject}.>", durable="reader", stream=stream)

        published = await asyncio.to_thread(
            mqtui, cli_config, "publish", "nt", f"{subject}.new", "--value", "order {{seq}}", "--header", "src=cli",
            "--count", "3", "--yes", "--json",
        )  # fmt: skip
        assert published.code == 0, published.err
        assert published.json_lines() == [{"sent": 3, "failed": [], "unroutable": 0, "positions": [1, 2, 3]}]
        await js.publish(f"{subject}.bin", b"\xff\x00\x01")
        [msg] = await sub.fetch(1, timeout=5)
        await msg.ack_sync()

        listed = await asyncio.to_thread(mqtui, cli_config, "ls", "--json")
        assert listed.code == 0, listed.err
        row = next(r for r in listed.json_lines() if r["name"] == stream)
        assert (row["kind"], row["depth"], row["consumers"], row["broker"]) == ("stream", 4, 1, "nt")

        lag = await asyncio.to_thread(mqtui, cli_config, "lag", "--group", f"{stream}/reader", "--json")
        assert lag.code == 0, lag.err
        [line] = lag.json_lines()
        assert (line["destination"], line["group"], line["partition"], line["lag"]) == (stream, "reader", None, 3)
        assert (line["committed"], line["end"], line["in_flight"]) == (1, 4, 0)

        tail = await asyncio.to_thread(
            mqtui, cli_config, "tail", "nt", stream, "--from", "beginning", "--end", "--json"
        )
        assert tail.code == 0, tail.err
        lines = tail.json_lines()
        assert [m["position"] for m in lines] == [1, 2, 3, 4]
        assert [m["value"] for m in lines[:3]] == ["order 1", "order 2", "order 3"]
        assert lines[0]["headers"] == {"src": "cli"} and lines[0]["destination"] == f"{subject}.new"
        assert lines[0]["partition"] is None and lines[0]["timestamp"].endswith("Z") and lines[0]["key"] is None
        assert lines[3]["value_encoding"] == "base64" and base64.b64decode(lines[3]["value"]) == b"\xff\x00\x01"

        limited = await asyncio.to_thread(
            mqtui, cli_config, "tail", "nt", stream, "--from", "2", "--limit", "2", "--json"
        )
        assert [m["position"] for m in limited.json_lines()] == [2, 3]
        info = await js.consumer_info(stream, "reader")
        assert (info.num_pending, info.num_ack_pending, info.delivered.stream_seq) == (3, 0, 1)


async def test_request_reaches_a_service(cli_config: Path, nats_server: LocalNats) -> None:
    subject = unique("svc")
    async with client_for(nats_server) as nc:

        async def echo(msg) -> None:  # type: ignore[no-untyped-def]
            await msg.respond(b"pong:" + msg.data)

        await nc.subscribe(f"{subject}.echo", cb=echo)
        await nc.flush()
        done = await asyncio.to_thread(mqtui, cli_config, "request", "nt", f"{subject}.echo", "--value", "hi",
                                       "--timeout", "3", "--yes", "--json")  # fmt: skip
        assert done.code == 0, done.err
        [reply] = done.json_lines()
        assert reply["value"] == "pong:hi" and reply["destination"] == f"{subject}.echo"
        nobody = await asyncio.to_thread(mqtui, cli_config, "request", "nt", f"{subject}.none", "--yes")
        assert nobody.code == 1 and "no service answers" in nobody.err and "Traceback" not in nobody.err
        assert len(nobody.err.strip().splitlines()) == 1


async def test_dlq_ls_show_and_replay(cli_config: Path, nats_server: LocalNats) -> None:
    stream, subject, dlq = unique("CD"), unique("cd"), unique("CDDLQ")
    async with client_for(nats_server) as nc:
        js = nc.jetstream()
        await js.add_stream(name=stream, subjects=[f"{subject}.>"])
        await js.add_stream(name=dlq, subjects=[f"{ADVISORY}.MAX_DELIVERIES.{stream}.>"])
        await js.publish(f"{subject}.paid", b"poison", headers={"id": "7"})
        sub = await js.pull_subscribe(f"{subject}.>", durable="payer", stream=stream,
                                      config=ConsumerConfig(max_deliver=2))  # fmt: skip

        async def nak_all() -> bool:
            try:
                for msg in await sub.fetch(1, timeout=0.2):
                    await msg.nak()
            except TimeoutError:
                pass
            return (await js.stream_info(dlq)).state.messages == 1

        await until(nak_all, what="the dead letter's advisory in the DLQ")

        listed = await asyncio.to_thread(mqtui, cli_config, "dlq", "ls", "--json")
        assert listed.code == 0, listed.err
        row = next(r for r in listed.json_lines() if r["name"] == dlq)
        assert (row["count"], row["origin"], row["detected_by"], row["kind"]) == (1, stream, "advisories", "stream")

        shown = await asyncio.to_thread(mqtui, cli_config, "dlq", "show", "nt", dlq, "--json")
        assert shown.code == 0, shown.err
        [letter] = shown.json_lines()
        assert (letter["id"], letter["origin"], letter["origin_position"], letter["attempts"]) == (
            "1",
            f"{subject}.paid",
            1,
            2,
        )
        assert letter["message"]["value"] == "poison" and letter["message"]["headers"] == {"id": "7"}
        assert letter["gone"] is False

        dry = await asyncio.to_thread(mqtui, cli_config, "dlq", "replay", "nt", dlq, "--dry-run", "--json")
        assert dry.json_lines() == [{"id": "1", "target": f"{subject}.paid", "skip_reason": None}]
        replayed = await asyncio.to_thread(mqtui, cli_config, "dlq", "replay", "nt", dlq, "--yes", "--json")
        assert replayed.code == 0, replayed.err
        assert replayed.json_lines() == [{"sent": 1, "failed": 0, "skipped": 0, "duplicates": 0, "errors": []}]
        again = await asyncio.to_thread(mqtui, cli_config, "dlq", "replay", "nt", dlq, "--yes")
        assert again.code == 0 and "nothing to replay" in again.out
        info = await js.stream_info(stream)
        assert info.state.messages == 2
        await sub.unsubscribe()
