"""The CLI end to end against the real rabbitmq-server: ls, lag, tail, publish, purge, dlq ls/show/replay,
and a requeue killed with SIGKILL half-way that loses nothing."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pika.adapters.blocking_connection import BlockingChannel

from mqtui.demo.localbrokers import LocalRabbitMQ
from tests.helpers import CliResult, run_mqtui, write_config
from tests.rabbitmq.conftest import (
    broker_entry,
    dead_letter_in_bulk,
    drain_all,
    management,
    publish,
    queue_counts,
)
from tests.rabbitmq.test_dead_letters import dead_letter
from tests.support import wait_for


@pytest.fixture
def cli(tmp_path: Path, rabbitmq_server: LocalRabbitMQ) -> Callable[..., CliResult]:
    config = write_config(tmp_path / "config.toml", {"ops": {"brokers": [broker_entry(rabbitmq_server)]}})

    def run(*args: str) -> CliResult:
        return run_mqtui("--config", str(config), "--profile", "ops", *args)

    run.config = config  # type: ignore[attr-defined]
    return run


def settled(
    cli: Callable[..., CliResult], args: tuple[str, ...], check: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    """Run a --json command until its answer passes `check` (the management API samples every 0.5 s)."""

    def attempt() -> list[dict[str, Any]] | None:
        result = cli(*args)
        assert result.code == 0, result.err
        lines = result.json_lines()
        return lines if check(lines) else None

    return wait_for(attempt, what=" ".join(args))


def test_ls_lag_publish_and_purge(
    cli: Callable[..., CliResult], amqp: BlockingChannel, unique: Callable[[str], str]
) -> None:
    queue = unique("cli-jobs")
    amqp.queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum"})
    published = cli("publish", "rabbit", queue, "--value", "job {{seq}}", "--count", "4", "--header", "k=v",
                    "--prop", "content_type=text/plain", "--yes", "--json")  # fmt: skip
    assert published.code == 0, published.err
    assert published.json_lines() == [{"sent": 4, "failed": [], "unroutable": 0, "positions": []}]

    rows = settled(cli, ("ls", "--json"), lambda ls: any(r["name"] == queue and r["depth"] == 4 for r in ls))
    row = next(r for r in rows if r["name"] == queue)
    assert (row["broker"], row["kind"], row["in_flight"], row["consumers"]) == ("rabbit", "queue", 0, 0)
    assert row["extra"]["type"] == "quorum"

    lag = settled(cli, ("lag", "--group", queue, "--json"), lambda rows: bool(rows) and rows[0]["lag"] == 4)
    assert lag == [
        {**lag[0], "broker": "rabbit", "destination": queue, "group": "(consumers)", "partition": None, "lag": 4}
    ]
    text = cli("lag", "--group", queue)
    assert text.code == 0 and queue in text.out and "no consumers" in text.out

    nowhere = cli("publish", "rabbit", unique("nowhere"), "--value", "x", "--yes")
    assert nowhere.code == 1 and "unroutable 1" in nowhere.out

    purged = cli("purge", "rabbit", queue, "--yes")
    assert purged.code == 0, purged.err
    assert purged.out.strip() == f"purged 4 message(s) from {queue}"


def test_tail_json_prints_new_messages(
    cli: Callable[..., CliResult],
    amqp: BlockingChannel,
    rabbitmq_server: LocalRabbitMQ,
    unique: Callable[[str], str],
) -> None:
    exchange, queue = unique("cli-x"), unique("cli-tailed")
    amqp.exchange_declare(exchange, "fanout")
    amqp.queue_declare(queue)
    amqp.queue_bind(queue, exchange)
    tail = subprocess.Popen(
        [sys.executable, "-m", "mqtui", "--config", str(cli.config), "-p", "ops",  # type: ignore[attr-defined]
         "tail", "rabbit", queue, "--limit", "3", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_for(
            lambda: (
                tail.poll() is not None
                or len(management(rabbitmq_server, f"/api/exchanges/%2F/{exchange}/bindings/source")) == 2
            ),
            what="the tail's private queue",
        )
        publish(amqp, "", [b"first", b"\xff\xfe", b"third", b"fourth"], exchange=exchange, headers={"h": "v"})
        out, err = tail.communicate(timeout=30)
    finally:
        tail.kill()
    assert tail.returncode == 0, err
    lines = CliResult(0, out.decode(), err.decode()).json_lines()
    assert [(line["value"], line["value_encoding"]) for line in lines] == [
        ("first", "utf-8"),
        (base64.b64encode(b"\xff\xfe").decode(), "base64"),
        ("third", "utf-8"),
    ]
    first = lines[0]
    assert (first["broker"], first["destination"], first["partition"], first["position"]) == ("rabbit", queue, None, 1)
    assert first["headers"]["h"] == "v" and first["headers"]["amqp.exchange"] == exchange
    assert first["timestamp"] is None and first["key"] == ""
    assert queue_counts(rabbitmq_server, queue) == (4, 0)


def test_tail_of_a_default_exchange_queue_is_one_line(
    cli: Callable[..., CliResult], amqp: BlockingChannel, unique: Callable[[str], str]
) -> None:
    queue = unique("plain")
    amqp.queue_declare(queue)
    result = cli("tail", "rabbit", queue)
    assert result.code == 2
    assert result.err.count("\n") == 1 and "only bound to the default exchange" in result.err


def test_group_is_refused_in_one_line_rabbitmq_has_no_consumer_groups(
    cli: Callable[..., CliResult], amqp: BlockingChannel, unique: Callable[[str], str]
) -> None:
    queue = unique("grouped")
    amqp.queue_declare(queue)
    result = cli("group", "rabbit", queue)
    assert (result.code, result.out, result.err) == (
        2,
        "",
        "mqtui: error: rabbit: rabbitmq cannot describe consumer groups\n",
    )


def test_dlq_ls_show_and_replay(
    cli: Callable[..., CliResult],
    amqp: BlockingChannel,
    rabbitmq_server: LocalRabbitMQ,
    unique: Callable[[str], str],
) -> None:
    setup = dead_letter(amqp, unique, [b"d1", b"d2", b"d3"])
    queues = settled(
        cli, ("dlq", "ls", "--json"), lambda rows: any(r["name"] == setup.dlq and r["count"] == 3 for r in rows)
    )
    dlq = next(r for r in queues if r["name"] == setup.dlq)
    assert (dlq["origin"], dlq["kind"], dlq["detected_by"]) == (
        setup.origin,
        "queue",
        f"dead-letter exchange {setup.dlx}",
    )

    shown = cli("dlq", "show", "rabbit", setup.dlq, "--json")
    assert shown.code == 0, shown.err
    letters = shown.json_lines()
    assert [(x["origin"], x["reason"], x["attempts"], x["message"]["value"]) for x in letters] == [
        (setup.origin, "rejected", 1, "d1"), (setup.origin, "rejected", 1, "d2"), (setup.origin, "rejected", 1, "d3"),
    ]  # fmt: skip
    assert letters[0]["message"]["headers"]["x-death"][0]["queue"] == setup.origin

    dry = cli("dlq", "replay", "rabbit", setup.dlq, "--limit", "2", "--dry-run", "--json")
    assert dry.code == 0, dry.err
    assert [(x["id"], x["target"]) for x in dry.json_lines()] == [
        (letters[0]["id"], setup.origin),
        (letters[1]["id"], setup.origin),
    ]
    assert queue_counts(rabbitmq_server, setup.dlq) == (3, 0)

    refused = cli("dlq", "replay", "rabbit", setup.dlq)
    assert refused.code == 1 and "refused without --yes" in refused.err

    done = cli("dlq", "replay", "rabbit", setup.dlq, "--id", letters[2]["id"], "--yes", "--json")
    assert done.code == 0, done.err
    assert done.json_lines() == [{"sent": 1, "failed": 0, "skipped": 0, "duplicates": 0, "errors": []}]
    assert queue_counts(rabbitmq_server, setup.origin) == (1, 0)
    assert queue_counts(rabbitmq_server, setup.dlq) == (2, 0)


def test_wrong_password_is_one_line_without_the_password(tmp_path: Path, rabbitmq_server: LocalRabbitMQ) -> None:
    entry = broker_entry(rabbitmq_server, url=rabbitmq_server.url.replace("guest:guest", "guest:Sup3r-s3cret"))
    config = write_config(tmp_path / "bad.toml", {"ops": {"brokers": [entry]}})
    for args in (("ls",), ("tail", "rabbit", "q")):
        result = run_mqtui("--config", str(config), "-p", "ops", *args)
        assert result.code == 1
        lines = result.err.strip().splitlines()
        assert len(lines) == 1, result.err
        assert "rabbit" in lines[0] and "rejected the credentials of user 'guest'" in lines[0]
        assert "Sup3r-s3cret" not in result.err + result.out


def test_requeue_killed_half_way_loses_nothing(
    cli: Callable[..., CliResult],
    amqp: BlockingChannel,
    rabbitmq_server: LocalRabbitMQ,
    unique: Callable[[str], str],
    isolated_home: Path,
) -> None:
    total = 3000
    setup = dead_letter_in_bulk(amqp, unique, total)
    replay = subprocess.Popen(
        [sys.executable, "-m", "mqtui", "--config", str(cli.config), "-p", "ops",  # type: ignore[attr-defined]
         "dlq", "replay", "rabbit", setup.dlq, "--yes", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ},
    )  # fmt: skip
    try:
        wait_for(
            lambda: replay.poll() is not None or queue_counts(rabbitmq_server, setup.origin)[0] >= 300,
            what="300 moved",
        )
        assert replay.poll() is None, "the requeue finished before it could be interrupted: raise `total`"
        replay.send_signal(signal.SIGKILL)
        replay.wait()
    finally:
        replay.kill()

    # The broker returns the unacked dead letter of the killed connection; wait until it is back.
    def after_kill() -> tuple[int, int] | None:
        origin, dlq = queue_counts(rabbitmq_server, setup.origin)[0], queue_counts(rabbitmq_server, setup.dlq)[0]
        return (origin, dlq) if origin + dlq >= total and queue_counts(rabbitmq_server, setup.dlq)[1] == 0 else None

    origin, dlq = wait_for(after_kill, what="the killed requeue's connection to close")
    assert 300 <= origin < total
    assert total <= origin + dlq <= total + 1  # at most the one message in flight exists twice

    rerun = cli("dlq", "replay", "rabbit", setup.dlq, "--yes", "--json")
    assert rerun.code == 0, rerun.err
    result = rerun.json_lines()[0]
    assert result["failed"] == 0 and result["sent"] == dlq
    final_origin, final_dlq = (
        queue_counts(rabbitmq_server, setup.origin)[0],
        queue_counts(rabbitmq_server, setup.dlq)[0],
    )
    assert final_dlq == 0
    assert total <= final_origin <= total + 1
    assert final_origin - total <= result["duplicates"] <= 1  # every duplicate is reported
    bodies = set(drain_all(amqp, setup.origin))
    assert bodies == {b"bulk-%d" % i for i in range(total)}
