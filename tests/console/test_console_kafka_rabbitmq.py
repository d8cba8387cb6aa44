"""The console against real Kafka (tansu) and RabbitMQ: lag drill-in, offset reset, replay, requeue,
purge and peek, each driven by keys and checked on the broker itself."""

from __future__ import annotations

import uuid
from pathlib import Path

import pika

from mqtui.demo.localbrokers import LocalKafka, LocalRabbitMQ
from tests.console.pilot import Console, console
from tests.helpers import write_config
from tests.kafka.conftest import KafkaTools, Record


def high_watermarks(tools: KafkaTools, topic: str, partitions: int) -> int:
    return len(tools.read_all(topic, partitions))


async def select_row(c: Console, selector: str, column: int, value: str) -> None:
    rows = c.rows(selector)
    c.app.screen.query_one(selector).move_cursor(row=[row[column] for row in rows].index(value))  # type: ignore[attr-defined]
    await c.pilot.pause()


async def test_kafka_lag_drill_in_offset_reset_and_dlq_replay(
    tmp_path: Path, kafka_server: LocalKafka, kafka_tools: KafkaTools
) -> None:
    tag = uuid.uuid4().hex[:8]
    topic, group = f"csl-{tag}", f"billing-{tag}"
    kafka_tools.create(topic, 2)
    kafka_tools.produce(topic, [Record(value=f"m{i}".encode(), partition=i % 2) for i in range(10)])
    kafka_tools.commit(group, topic, {0: 3, 1: 2})
    dlq = kafka_tools.create(f"{topic}.DLQ")
    kafka_tools.produce(dlq, [b'{"n": 1}', b'{"n": 2}'])
    broker = {**kafka_server.broker_config(), "name": "k", "timeout": 5.0}
    config = write_config(tmp_path / "c.toml", {"kafka": {"poll_interval": 0.5, "brokers": [broker]}})
    async with console(config, "kafka") as c:
        await c.press("2")
        rows = await c.wait_rows("#lag-table", lambda r: any(row[1] == group for row in r), "the group")
        row = next(row for row in rows if row[1] == group)
        assert (row[2], row[3]) == (topic, "5")  # 5 - 3 on partition 0, 5 - 2 on partition 1

        await select_row(c, "#lag-table", 1, group)
        await c.press("enter")
        await c.wait_screen("GroupScreen")
        partitions = c.rows("DataTable.section")
        assert [r[:4] for r in partitions] == [["0", "3", "5", "2"], ["1", "2", "5", "3"]]
        await c.press("escape")

        await c.press("o")
        await c.wait_screen("ResetOffsetsScreen")
        assert c.app.screen.query_one("#target").value == "earliest"  # type: ignore[attr-defined]
        await c.press("enter")
        assert "press Reset again to confirm" in c.text("#preview")
        assert kafka_tools.committed(group, topic, 2) == {0: 3, 1: 2}  # nothing moved before confirming
        await c.press("enter")
        await c.wait(lambda: c.text("#preview").startswith("reset 2 partition"), "reset done")
        assert kafka_tools.committed(group, topic, 2) == {0: 0, 1: 0}
        assert sorted(r[1:3] for r in c.rows("#result")) == [["0", "0"], ["1", "0"]]
        await c.press("escape")
        await c.wait_rows("#lag-table", lambda r: any(x[1] == group and x[3] == "10" for x in r), "lag 10")

        await c.press("4")
        await c.wait_rows("#dlq-table", lambda r: any(x[1] == dlq for x in r), "the DLQ")
        await select_row(c, "#dlq-table", 1, dlq)
        await c.press("enter")
        await c.wait_rows("#entries-table", lambda r: len(r) == 2, "two dead letters")
        await c.press("r")
        await c.wait(lambda: "2 of 2" in c.text("#preview"), "preview")
        assert c.text("#preview") == f"replay 2 of 2 dead letter(s): 2 to {topic}"
        await c.press("y")
        await c.wait(lambda: c.text("#summary").startswith("sent"), "summary")
        assert c.text("#summary") == "sent 2, failed 0, skipped 0"
        assert sorted(m.value() for m in kafka_tools.read_all(topic, 2) if m.value().startswith(b"{")) == [
            b'{"n": 1}',
            b'{"n": 2}',
        ]


def rabbit_channel(server: LocalRabbitMQ) -> pika.adapters.blocking_connection.BlockingChannel:
    return pika.BlockingConnection(pika.URLParameters(server.url)).channel()


def three_dead_letters(channel: pika.adapters.blocking_connection.BlockingChannel) -> tuple[str, str]:
    """(origin queue, its DLQ) with three messages the origin's consumer rejected into the DLQ."""
    tag = uuid.uuid4().hex[:8]
    queue, dead = f"csl-{tag}", f"csl-{tag}.dlq"
    channel.confirm_delivery()
    channel.queue_declare(dead, durable=True)
    channel.queue_declare(
        queue, durable=True, arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead}
    )
    for i in range(3):
        channel.basic_publish("", queue, f'{{"n": {i}}}'.encode(), pika.BasicProperties(delivery_mode=2))
    for _ in range(3):
        method, _props, _body = channel.basic_get(queue)
        assert method is not None
        channel.basic_nack(method.delivery_tag, requeue=False)  # dead-lettered with an x-death header
    return queue, dead


async def test_rabbitmq_requeue_purge_and_peek(tmp_path: Path, rabbitmq_server: LocalRabbitMQ) -> None:
    channel = rabbit_channel(rabbitmq_server)
    queue, dead = three_dead_letters(channel)
    other = f"peek-{uuid.uuid4().hex[:8]}"
    channel.queue_declare(other, durable=True)
    for i in range(2):
        channel.basic_publish("", other, f"peek {i}".encode(), pika.BasicProperties(delivery_mode=2))
    broker = {**rabbitmq_server.broker_config(), "name": "rabbit", "timeout": 5.0}
    config = write_config(tmp_path / "c.toml", {"rabbit": {"poll_interval": 0.5, "brokers": [broker]}})
    try:
        async with console(config, "rabbit") as c:
            await c.press("4")
            queues = await c.wait_rows("#dlq-table", lambda r: any(x[1] == dead and x[3] == "3" for x in r), "DLQ 3")
            assert next(x for x in queues if x[1] == dead)[2] == queue
            assert next(x for x in queues if x[1] == dead)[4] == "unknown"  # RabbitMQ cannot tell without reading
            await select_row(c, "#dlq-table", 1, dead)
            await c.press("enter")
            entries = await c.wait_rows("#entries-table", lambda r: len(r) == 3, "three dead letters")
            assert {row[2] for row in entries} == {queue} and {row[3] for row in entries} == {"rejected"}
            await c.press("r")
            await c.wait(lambda: "3 of 3" in c.text("#preview"), "preview")
            assert c.text("#preview") == f"requeue 3 of 3 dead letter(s): 3 to {queue}"
            await c.press("y")
            await c.wait(lambda: c.text("#summary").startswith("sent"), "summary", timeout=30)
            assert c.text("#summary") == "sent 3, failed 0, skipped 0"
            assert channel.queue_declare(queue, passive=True).method.message_count == 3
            assert channel.queue_declare(dead, passive=True).method.message_count == 0
            await c.press("escape", "1")

            await c.wait_rows("#dest-table", lambda r: any(x[1] == queue and x[3] == "3" for x in r), "depth 3")
            await select_row(c, "#dest-table", 1, queue)
            await c.press("x")
            await c.wait_screen("ConfirmScreen")
            await c.press("y")
            await c.wait_note(f"purged 3 message(s) from {queue}")
            assert channel.queue_declare(queue, passive=True).method.message_count == 0

            await c.wait_rows("#dest-table", lambda r: any(x[1] == other for x in r), "the peek queue")
            await select_row(c, "#dest-table", 1, other)
            await c.press("p")
            await c.wait_screen("ConfirmScreen")
            await c.press("y")
            pane = c.app.query_one("#tail")
            await c.wait(lambda: len(pane.messages) == 2, "two peeked messages")  # type: ignore[attr-defined]
            assert [m.value for m in pane.messages.messages] == [b"peek 0", b"peek 1"]  # type: ignore[attr-defined]
            assert "peeked 2 (marked redelivered)" in c.text("#tail-info")
            assert channel.queue_declare(other, passive=True).method.message_count == 2  # still there
    finally:
        channel.connection.close()


async def test_rabbitmq_whole_dlq_moved_by_a_shovel(tmp_path: Path, rabbitmq_server: LocalRabbitMQ) -> None:
    channel = rabbit_channel(rabbitmq_server)
    queue, dead = three_dead_letters(channel)
    broker = {**rabbitmq_server.broker_config(), "name": "rabbit", "timeout": 5.0}
    config = write_config(tmp_path / "c.toml", {"rabbit": {"poll_interval": 0.5, "brokers": [broker]}})
    try:
        async with console(config, "rabbit") as c:
            await c.press("4")
            await c.wait_rows("#dlq-table", lambda r: any(x[1] == dead and x[3] == "3" for x in r), "DLQ 3")
            await select_row(c, "#dlq-table", 1, dead)
            await c.press("M")
            await c.wait_screen("PromptScreen")
            assert c.app.screen.query_one("#prompt").value == queue  # type: ignore[attr-defined]  # the origin
            await c.press("enter")
            await c.wait_screen("ConfirmScreen")
            assert f"Move every message ready in {dead} (3 at the last poll) to {queue} on rabbit" in c.text("#body")
            await c.press("y")
            await c.wait_note(f"moved 3 message(s) from {dead} to {queue}")
            assert channel.queue_declare(queue, passive=True).method.message_count == 3
            assert channel.queue_declare(dead, passive=True).method.message_count == 0
    finally:
        channel.connection.close()
