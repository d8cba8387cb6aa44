"""Moving a whole queue with a shovel (`dlq move`), against the real broker with rabbitmq_shovel enabled.

A move must land every message exactly once on the target, leave none behind, clean up its shovel, and
lose nothing when the mqtui process dies half-way (the shovel lives on the broker and finishes alone).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.error
from collections.abc import Callable
from pathlib import Path

import pika
import pytest
from pika.adapters.blocking_connection import BlockingChannel

from mqtui.brokers.rabbitmq.adapter import RabbitMQAdapter
from mqtui.brokers.rabbitmq.shovel import ShovelStatus, parse_status
from mqtui.demo.localbrokers import LocalRabbitMQ
from mqtui.errors import NotFound, UsageError
from mqtui.model import ReplayResult
from tests.helpers import run_mqtui, write_config
from tests.rabbitmq.conftest import broker_entry, dead_letter_in_bulk, drain_all, management, ready
from tests.support import wait_for


def shovels(server: LocalRabbitMQ) -> list[str]:
    return [row["name"] for row in management(server, "/api/parameters/shovel")]


async def test_move_lands_every_dead_letter_once_and_removes_its_shovel(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, unique: Callable[[str], str], rabbitmq_server: LocalRabbitMQ
) -> None:
    setup = dead_letter_in_bulk(amqp, unique, 2_000)
    assert await adapter.plan_move(setup.dlq, to=setup.origin) == 2_000
    seen: list[tuple[int, int]] = []
    result = await adapter.move_queue(
        setup.dlq, to=setup.origin, progress=lambda done, total: seen.append((done, total))
    )
    assert result == ReplayResult(sent=2_000)
    assert seen[-1] == (2_000, 2_000)
    assert (ready(amqp, setup.dlq), ready(amqp, setup.origin)) == (0, 2_000)
    assert not [name for name in shovels(rabbitmq_server) if setup.dlq in name]

    method, properties, body = amqp.basic_get(setup.origin, auto_ack=True)
    assert method is not None and body == b"bulk-0"  # a shovel keeps the queue's order
    headers = properties.headers or {}
    assert headers["x-death"][0]["queue"] == setup.origin  # kept: the move adds, never rewrites
    [record] = headers["x-shovelled"]
    assert record["src-queue"] == setup.dlq and record["dest-queue"] == setup.origin
    assert str(record["shovel-name"]).startswith(f"mqtui-move-{setup.dlq}-")
    assert abs(headers["x-shovelled-timestamp"] - time.time()) < 300  # when it was moved, in seconds
    bodies = [body, *drain_all(amqp, setup.origin)]
    assert sorted(bodies) == sorted(b"bulk-%d" % i for i in range(2_000))


async def test_letters_dead_lettered_during_a_move_are_not_taken_for_refused_ones(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, unique: Callable[[str], str], rabbitmq_server: LocalRabbitMQ
) -> None:
    """The shovel moves the source's length at its start; 7 letters arriving meanwhile stay, said as such."""
    total = 20_000
    setup = dead_letter_in_bulk(amqp, unique, total)
    moving = asyncio.ensure_future(adapter.move_queue(setup.dlq, to=setup.origin))
    await asyncio.to_thread(wait_for, lambda: ready(amqp, setup.dlq) < total - 1_000 or None, what="the move under way")
    for i in range(7):
        amqp.basic_publish("", setup.dlq, b"late-%d" % i, pika.BasicProperties(delivery_mode=2))
    result = await moving
    assert (result.sent, result.failed) == (total, 0)
    assert result.errors == (
        f"rabbit: 7 message(s) are in {setup.dlq} after the move: dead-lettered while it ran (new ones, or moved "
        "ones that failed again)",
    )
    assert (ready(amqp, setup.dlq), ready(amqp, setup.origin)) == (7, total)


async def test_move_refuses_what_it_cannot_do_and_creates_nothing(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, unique: Callable[[str], str], rabbitmq_server: LocalRabbitMQ
) -> None:
    source, target = unique("move-src"), unique("move-dst")
    amqp.queue_declare(source, durable=True)
    with pytest.raises(NotFound, match=f"queue '{target}' not found"):
        await adapter.move_queue(source, to=target)  # the shovel would have declared it
    amqp.queue_declare(target, durable=True)
    with pytest.raises(UsageError, match="is the queue being moved"):
        await adapter.move_queue(source, to=source)
    with pytest.raises(NotFound):
        await adapter.move_queue(unique("no-such-queue"), to=target)
    assert await adapter.move_queue(source, to=target) == ReplayResult()  # empty: nothing to start
    assert not [name for name in shovels(rabbitmq_server) if source in name]
    with pytest.raises(urllib.error.HTTPError, match="404"):  # no queue was declared on the way
        management(rabbitmq_server, f"/api/queues/%2F/{unique('no-such-queue')}")


async def test_move_into_a_full_queue_reports_what_the_destination_refused(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, unique: Callable[[str], str], rabbitmq_server: LocalRabbitMQ
) -> None:
    source, full = unique("move-src"), unique("move-full")
    amqp.queue_declare(source, durable=True)
    amqp.queue_declare(full, durable=True, arguments={"x-max-length": 5, "x-overflow": "reject-publish"})
    for i in range(20):
        amqp.basic_publish("", source, b"m%d" % i, pika.BasicProperties(delivery_mode=2))
    result = await adapter.move_queue(source, to=full)
    # RabbitMQ 3.10's shovel counts a refused message as moved and deletes itself after 20; the 15
    # refused were never acked at the source, and the result says they are still there.
    assert (result.sent, result.failed) == (5, 15)
    [error] = result.errors
    assert "ended with 15 message(s) in" in error and "refused by the destination" in error
    assert (ready(amqp, source), ready(amqp, full)) == (15, 5)
    assert not [name for name in shovels(rabbitmq_server) if source in name]


async def test_a_shovel_that_cannot_consume_is_deleted_and_nothing_moves(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, unique: Callable[[str], str], rabbitmq_server: LocalRabbitMQ
) -> None:
    """An exclusive consumer on the source refuses the shovel's: it stops, and mqtui deletes it."""
    source, target = unique("move-src"), unique("move-dst")
    amqp.queue_declare(source, durable=True)
    amqp.queue_declare(target, durable=True)
    for i in range(20):
        amqp.basic_publish("", source, b"m%d" % i, pika.BasicProperties(delivery_mode=2))
    amqp.basic_qos(prefetch_count=1)
    amqp.basic_consume(source, lambda *_: None, exclusive=True)  # holds one message unacked
    wait_for(lambda: ready(amqp, source) == 19 or None, what="one message taken by the exclusive consumer")
    result = await adapter.move_queue(source, to=target)
    assert (result.sent, result.failed) == (0, 19)
    [error] = result.errors
    assert "stopped" in error and f"it was deleted, 19 message(s) are in {source}" in error
    assert not [n for n in shovels(rabbitmq_server) if source in n]
    assert ready(amqp, target) == 0


def test_status_reads_both_answer_shapes() -> None:
    assert parse_status([{"state": "terminated", "reason": "dest\n  gone"}]) == ShovelStatus("terminated", "dest gone")
    assert parse_status({"state": "running"}) == ShovelStatus("running")
    assert parse_status([]) == ShovelStatus("")


def test_cli_move_dry_run_confirm_and_readonly(
    tmp_path: Path, amqp: BlockingChannel, unique: Callable[[str], str], rabbitmq_server: LocalRabbitMQ
) -> None:
    setup = dead_letter_in_bulk(amqp, unique, 30)
    config = write_config(tmp_path / "c.toml", {
        "ops": {"brokers": [broker_entry(rabbitmq_server)]},
        "watch": {"readonly": True, "brokers": [broker_entry(rabbitmq_server)]},
    })  # fmt: skip
    base = ("--config", str(config), "--profile", "ops", "dlq", "move", "rabbit", setup.dlq, "--to", setup.origin)
    dry = run_mqtui(*base, "--dry-run", "--json")
    assert dry.code == 0, dry.err
    assert dry.json_lines() == [{"source": setup.dlq, "target": setup.origin, "ready": 30}]
    asked = run_mqtui(*base)  # stdin is no terminal: refused, nothing moved
    assert asked.code != 0 and "refused without --yes" in asked.err
    readonly = run_mqtui("--config", str(config), "--profile", "watch", *base[4:], "--yes")
    assert readonly.code == 3 and "readonly" in readonly.err
    assert (ready(amqp, setup.dlq), ready(amqp, setup.origin)) == (30, 0)
    moved = run_mqtui(*base, "--yes")
    assert (moved.code, moved.out.strip()) == (0, "moved 30 of 30"), moved.err
    assert (ready(amqp, setup.dlq), ready(amqp, setup.origin)) == (0, 30)
    again = run_mqtui(*base, "--yes")
    assert (again.code, again.out.strip()) == (0, f"nothing to move in {setup.dlq}")


def test_a_move_whose_cli_is_killed_still_moves_everything(
    tmp_path: Path, amqp: BlockingChannel, unique: Callable[[str], str], rabbitmq_server: LocalRabbitMQ
) -> None:
    total = 20_000
    setup = dead_letter_in_bulk(amqp, unique, total)
    config = write_config(tmp_path / "c.toml", {"ops": {"brokers": [broker_entry(rabbitmq_server)]}})
    process = subprocess.Popen(
        [sys.executable, "-m", "mqtui", "--config", str(config), "--profile", "ops",
         "dlq", "move", "rabbit", setup.dlq, "--to", setup.origin, "--yes"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    started = lambda: any(setup.dlq in name for name in shovels(rabbitmq_server)) or process.poll() is not None  # noqa: E731
    wait_for(lambda: started() or None, what="the shovel starts")
    process.send_signal(signal.SIGKILL)
    out, _ = process.communicate(timeout=30)
    wait_for(lambda: ready(amqp, setup.dlq) == 0 or None, what="the shovel empties the DLQ", timeout=60)
    wait_for(lambda: not [n for n in shovels(rabbitmq_server) if setup.dlq in n] or None, what="the shovel ends")
    assert ready(amqp, setup.origin) == total
    assert sorted(drain_all(amqp, setup.origin)) == sorted(b"bulk-%d" % i for i in range(total))
    assert b"moved" not in out or process.returncode == 0  # killed mid-way, or it had already finished
