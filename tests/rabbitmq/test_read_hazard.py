"""Reading a quorum DLQ with a delivery limit costs each message a delivery (get + requeue), and a message
read past the limit is dropped: the CLI and the console ask first, and a readonly profile refuses."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from pika.adapters.blocking_connection import BlockingChannel

from mqtui.brokers.rabbitmq.adapter import RabbitMQAdapter
from mqtui.brokers.rabbitmq.topology import read_hazard
from mqtui.demo.localbrokers import LocalRabbitMQ
from mqtui.ui.panes.dlq import DeadLettersPane
from tests.console.pilot import console
from tests.helpers import CliResult, run_mqtui, write_config
from tests.rabbitmq.conftest import broker_entry, management, publish, queue_counts
from tests.rabbitmq.test_dead_letters import DeadLettered, dead_letter, reject_all
from tests.support import until, wait_for


def quorum_dlq(channel: BlockingChannel, unique: Callable[[str], str], *, limit: int = 2) -> DeadLettered:
    """origin --(reject)--> fanout DLX --> quorum DLQ with `x-delivery-limit`, holding three dead letters."""
    setup = DeadLettered(unique("orders"), unique("parking"), unique("dlx"))
    channel.exchange_declare(setup.dlx, "fanout", durable=True)
    channel.queue_declare(setup.dlq, durable=True, arguments={"x-queue-type": "quorum", "x-delivery-limit": limit})
    channel.queue_bind(setup.dlq, setup.dlx)
    channel.queue_declare(setup.origin, durable=True, arguments={"x-dead-letter-exchange": setup.dlx})
    publish(channel, setup.origin, [b"a", b"b", b"c"])
    assert reject_all(channel, setup.origin) == 3
    wait_for(lambda: channel.queue_declare(setup.dlq, passive=True).method.message_count == 3, what="3 dead letters")
    return setup


@pytest.fixture
def config(tmp_path: Path, rabbitmq_server: LocalRabbitMQ) -> Path:
    entry = broker_entry(rabbitmq_server)
    profiles = {"ops": {"poll_interval": 0.5, "brokers": [entry]}, "ro": {"readonly": True, "brokers": [entry]}}
    return write_config(tmp_path / "config.toml", profiles)


def mqtui(config: Path, profile: str, *args: str) -> CliResult:
    return run_mqtui("--config", str(config), "--profile", profile, *args)


def test_dlq_show_and_dry_run_of_a_quorum_dlq_with_a_delivery_limit_read_nothing_unless_confirmed(
    config: Path, rabbitmq_server: LocalRabbitMQ, amqp: BlockingChannel, unique: Callable[[str], str]
) -> None:
    setup = quorum_dlq(amqp, unique)
    classic = dead_letter(amqp, lambda name: unique(f"classic-{name}"), [b"classic"])
    listed = mqtui(config, "ops", "dlq", "ls", "--json")
    assert listed.code == 0, listed.err
    rows = {row["name"]: row for row in listed.json_lines()}
    assert "delivery limit 2" in rows[setup.dlq]["read_hazard"]
    assert rows[classic.dlq]["read_hazard"] is None

    # Without a terminal and without --yes: refused, nothing read. Three reads would have emptied it.
    for args in [("dlq", "show", "rabbit", setup.dlq)] * 3 + [("dlq", "replay", "rabbit", setup.dlq, "--dry-run")]:
        refused = mqtui(config, "ops", *args)
        assert (refused.code, refused.out) == (1, ""), refused.err
        assert len(refused.err.splitlines()) == 1
        assert "refused without --yes" in refused.err and "delivery limit 2" in refused.err
        assert queue_counts(rabbitmq_server, setup.dlq)[0] == 3

    for args in [("dlq", "show", "rabbit", setup.dlq, "--yes"), ("dlq", "replay", "rabbit", setup.dlq, "--dry-run")]:
        readonly = mqtui(config, "ro", *args)
        assert (readonly.code, readonly.out) == (3, ""), readonly.err
        assert len(readonly.err.splitlines()) == 1
        assert "readonly" in readonly.err and "delivery limit 2" in readonly.err
    assert queue_counts(rabbitmq_server, setup.dlq)[0] == 3

    shown = mqtui(config, "ops", "dlq", "show", "rabbit", setup.dlq, "--yes", "--json")
    assert shown.code == 0, shown.err
    assert sorted(line["message"]["value"] for line in shown.json_lines()) == ["a", "b", "c"]
    assert queue_counts(rabbitmq_server, setup.dlq)[0] == 3

    # A classic DLQ reads as before: no question, nothing refused, readonly included.
    for profile in ("ops", "ro"):
        plain = mqtui(config, profile, "dlq", "show", "rabbit", classic.dlq, "--json")
        assert plain.code == 0, plain.err
        assert [line["message"]["value"] for line in plain.json_lines()] == ["classic"]


def on_terminal(config: Path, reply: bytes, *args: str) -> tuple[int, str]:
    """Exit code and stdout (where input() writes its question) of the CLI answering `reply` on a terminal."""
    leader, follower = os.openpty()
    try:
        os.write(leader, reply + b"\n")
        done = subprocess.run(
            [sys.executable, "-m", "mqtui", "--config", str(config), "--profile", "ops", *args],
            stdin=follower, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        os.close(follower)
        os.close(leader)
    return done.returncode, done.stdout


def test_on_a_terminal_dlq_show_asks_with_the_reason_and_no_reads_nothing(
    config: Path, rabbitmq_server: LocalRabbitMQ, amqp: BlockingChannel, unique: Callable[[str], str]
) -> None:
    setup = quorum_dlq(amqp, unique)
    code, out = on_terminal(config, b"n", "dlq", "show", "rabbit", setup.dlq, "--json")
    assert code == 1 and "delivery limit 2" in out and "[y/N]" in out and '"message"' not in out
    assert queue_counts(rabbitmq_server, setup.dlq)[0] == 3
    code, out = on_terminal(config, b"y", "dlq", "show", "rabbit", setup.dlq, "--json")
    assert code == 0 and out.count('"message"') == 3


def test_dlq_delete_asks_with_the_reason_since_finding_the_ids_reads_the_others(
    config: Path, rabbitmq_server: LocalRabbitMQ, amqp: BlockingChannel, unique: Callable[[str], str]
) -> None:
    """The question used to be asked before connecting, so it never said that the others are read too."""
    setup = quorum_dlq(amqp, unique, limit=5)  # read 3 times here
    shown = mqtui(config, "ops", "dlq", "show", "rabbit", setup.dlq, "--yes", "--json")
    assert shown.code == 0, shown.err
    ids = {line["message"]["value"]: line["id"] for line in shown.json_lines()}
    delete = ("dlq", "delete", "rabbit", setup.dlq, "--id", ids["b"])

    refused = mqtui(config, "ops", *delete)
    assert (refused.code, refused.out) == (1, ""), refused.err
    [line] = refused.err.splitlines()
    assert "refused without --yes" in line and "reads the others" in line
    assert "delivery limit 5" in line and "counts as a delivery" in line
    readonly = mqtui(config, "ro", *delete, "--yes")
    assert (readonly.code, readonly.out) == (3, ""), readonly.err
    assert len(readonly.err.splitlines()) == 1 and "readonly" in readonly.err
    code, out = on_terminal(config, b"n", *delete)
    assert code == 1 and "delivery limit 5" in out and "[y/N]" in out and "deleted" not in out
    assert queue_counts(rabbitmq_server, setup.dlq)[0] == 3

    code, out = on_terminal(config, b"y", *delete)
    assert code == 0 and "deleted 1 dead letter(s)" in out
    left = mqtui(config, "ops", "dlq", "show", "rabbit", setup.dlq, "--yes", "--json")
    assert sorted(line["message"]["value"] for line in left.json_lines()) == ["a", "c"]

    classic = dead_letter(amqp, lambda name: unique(f"classic-{name}"), [b"classic"])
    plain = mqtui(config, "ops", "dlq", "delete", "rabbit", classic.dlq, "--id", "x")
    assert plain.code == 1 and "reads the others" not in plain.err and "refused without --yes" in plain.err


async def test_read_hazard_follows_the_argument_and_a_delivery_limit_policy(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, unique: Callable[[str], str], rabbitmq_server: LocalRabbitMQ
) -> None:
    limited, unlimited, classic = unique("limited"), unique("unlimited"), unique("classic")
    amqp.queue_declare(limited, durable=True, arguments={"x-queue-type": "quorum", "x-delivery-limit": 5})
    amqp.queue_declare(unlimited, durable=True, arguments={"x-queue-type": "quorum"})
    amqp.queue_declare(classic, durable=True)
    assert "delivery limit 5" in (await adapter.read_hazard(limited) or "")
    assert "dropped" in (await adapter.read_hazard(limited) or "")
    assert await adapter.read_hazard(classic) is None
    if adapter.version < (4, 0):  # RabbitMQ 4 gives every quorum queue a limit of 20
        assert await adapter.read_hazard(unlimited) is None
    policy = unique("policy")
    management(rabbitmq_server, f"/api/policies/%2F/{policy}", "PUT",
               {"pattern": f"^{unlimited}$", "definition": {"delivery-limit": 1, "dead-letter-exchange": "x"},
                "apply-to": "queues"})  # fmt: skip
    try:
        hazard = await until(lambda: adapter.read_hazard(unlimited), what="the policy's limit")
        assert "delivery limit 1" in hazard and "dead-lettered on" in hazard
    finally:
        management(rabbitmq_server, f"/api/policies/%2F/{policy}", "DELETE")


def test_read_hazard_of_rabbitmq_4_defaults_and_unlimited() -> None:
    """RabbitMQ 4 is not the test broker (Debian ships 3.10): its default limit is checked on its rows."""
    row = {"type": "quorum", "arguments": {}, "effective_policy_definition": {}}
    assert read_hazard(row, (3, 13, 7)) is None
    assert "RabbitMQ 4's default delivery limit 20" in (read_hazard(row, (4, 0, 5)) or "")
    assert read_hazard({**row, "arguments": {"x-delivery-limit": -1}}, (4, 1, 0)) is None
    both = {**row, "arguments": {"x-delivery-limit": 9}, "effective_policy_definition": {"delivery-limit": 3}}
    assert "delivery limit 3" in (read_hazard(both, (3, 13, 0)) or "")
    assert read_hazard({**row, "type": "stream"}, (4, 0, 0)) is None


async def test_the_console_asks_before_reading_and_refuses_in_readonly(
    config: Path, rabbitmq_server: LocalRabbitMQ, amqp: BlockingChannel, unique: Callable[[str], str]
) -> None:
    setup = quorum_dlq(amqp, unique)
    async with console(config, "ro") as c:
        await c.press("4")
        await c.pick("#dlq-table", 1, setup.dlq, "the quorum DLQ")
        await c.press("enter")
        note = await c.wait_note("readonly")
        assert "delivery limit 2" in note and type(c.app.screen).__name__ != "ConfirmScreen"
        assert c.app.query_one(DeadLettersPane).open_dlq is None  # load() was never called
    assert queue_counts(rabbitmq_server, setup.dlq)[0] == 3

    async with console(config, "ops") as c:
        await c.press("4")
        await c.pick("#dlq-table", 1, setup.dlq, "the quorum DLQ")
        await c.press("enter")
        await c.wait_screen("ConfirmScreen")
        assert "delivery limit 2" in c.text("#body")
        await c.press("n")
        assert c.app.query_one(DeadLettersPane).open_dlq is None  # load() was never called
        await c.press("enter")
        await c.wait_screen("ConfirmScreen")
        await c.press("y")
        await c.wait_rows("#entries-table", lambda rows: len(rows) == 3, "three dead letters")
    assert queue_counts(rabbitmq_server, setup.dlq)[0] == 3
