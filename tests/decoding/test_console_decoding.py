"""The console shows decoded payloads: Avro, Protobuf and JSON Schema from a registry in the tail pane,
its preview, the message view (raw hex one key away) and the DLQ browser, on tansu; MessagePack on
Redis; the tail filter matches decoded fields. Every payload is made by confluent-kafka's serializers
(or msgpack) and read through the real broker."""

from __future__ import annotations

import uuid
from pathlib import Path

import msgpack
import redis

from mqtui.demo.localbrokers import LocalRedis
from tests.console.pilot import Console, console
from tests.decoding.conftest import AVRO_ORDER, Encoders
from tests.helpers import write_config
from tests.kafka.conftest import KafkaTools
from tests.registry import Registry


def framed(encoders: Encoders, topic: str) -> list[bytes]:
    return [
        encoders.avro(topic, AVRO_ORDER),
        encoders.protobuf(topic, id=8, item="teapot", lines=[{"sku": "T-1", "quantity": 2}]),
        encoders.json_schema(topic, {"id": 9, "amount": 1.5}),
    ]


def shown(c: Console) -> list[str]:
    """The tail list's rows as drawn (their plain text)."""
    messages = c.app.query_one("#tail").messages  # type: ignore[attr-defined]
    return [messages._line(messages._first + i).plain for i in range(len(messages))]


async def start_tail(c: Console, destination: str) -> None:
    await c.press("1", "slash")
    await c.type(destination)
    await c.press("enter", "t")
    await c.wait_screen("TailStartScreen")
    c.app.screen.query_one("#start").value = "beginning"  # type: ignore[attr-defined]
    await c.press("enter")


async def test_kafka_tail_detail_filter_and_dlq_show_decoded_payloads(
    tmp_path: Path, kafka_tools: KafkaTools, registry: Registry, encoders: Encoders
) -> None:
    topic = f"dec-{uuid.uuid4().hex[:8]}"
    kafka_tools.create(topic, 1)
    dlq = kafka_tools.create(f"{topic}.DLQ")
    kafka_tools.produce(topic, framed(encoders, topic))
    kafka_tools.produce(dlq, framed(encoders, dlq))
    broker = {"kind": "kafka", "url": kafka_tools.url, "name": "k", "timeout": 5.0}
    config = write_config(tmp_path / "c.toml", {"kafka": {"poll_interval": 0.5, "brokers": [broker],
                                                          "schema_registry": {"url": registry.url}}})  # fmt: skip
    async with console(config, "kafka", size=(160, 40)) as c:
        await c.wait_rows("#dest-table", lambda r: any(row[1] == topic for row in r), "the topic")
        await start_tail(c, topic)
        pane = c.app.query_one("#tail")
        await c.wait(lambda: len(pane.messages) == 3, "three messages")  # type: ignore[attr-defined]
        rows = shown(c)
        assert '[avro] {"id":7,"item":"kettle","price":"19.99"}' in rows[0]
        assert '[protobuf] {"id":8,"item":"teapot","lines":[{"sku":"T-1","quantity":2}]}' in rows[1]
        assert '[json-schema] {"id":9,"amount":1.5}' in rows[2]

        await c.press("slash")
        await c.type("item=teapot")
        await c.press("enter")
        await c.wait(lambda: len(pane.messages) == 1, "the filter on a decoded field")  # type: ignore[attr-defined]
        await c.press("enter")
        await c.wait_screen("MessageScreen")
        meta = dict(map(tuple, c.rows("#meta")))  # type: ignore[arg-type]
        assert meta["decoding"].startswith("protobuf ") and "(id " in meta["decoding"]
        assert c.text("#body-title").startswith("Body · decoded · protobuf")
        assert '"item": "teapot"' in c.text("#body")
        await c.press("x")
        assert c.text("#body-title").startswith("Body · hex")
        await c.press("escape")

        await c.press("slash")
        c.app.query_one("#tail-filter").value = ""  # type: ignore[attr-defined]
        await c.press("enter")
        await c.wait(lambda: len(pane.messages) == 3, "the filter cleared")  # type: ignore[attr-defined]
        await c.press("n")  # the publish form, its Schema field encoding the JSON body
        await c.wait_screen("PublishScreen")
        c.app.screen.query_one("#destination").value = topic  # type: ignore[attr-defined]
        c.app.screen.query_one("#body").text = '{"id": 10, "item": "spoon", "price": 1.25}'  # type: ignore[attr-defined]
        c.app.screen.query_one("#schema").value = f"{topic}-value:1"  # version 1: the Avro one  # type: ignore[attr-defined]
        await c.press("ctrl+s")
        await c.wait_note(f"sent 1 message(s) to k / {topic}")
        await c.wait(lambda: len(pane.messages) == 4, "the published message in the tail")  # type: ignore[attr-defined]
        assert '[avro] {"id":10,"item":"spoon","price":"1.25"}' in shown(c)[3]

        await c.press("4")
        await c.wait_rows("#dlq-table", lambda r: any(x[1] == dlq for x in r), "the DLQ")
        dlq_rows = c.rows("#dlq-table")
        c.app.screen.query_one("#dlq-table").move_cursor(row=[r[1] for r in dlq_rows].index(dlq))  # type: ignore[attr-defined]
        await c.pilot.pause()
        await c.press("enter")
        entries = await c.wait_rows("#entries-table", lambda r: len(r) == 3, "three dead letters")
        values = [row[-1] for row in entries]
        assert any(v.startswith("[avro]") and "kettle" in v for v in values)
        assert any(v.startswith("[protobuf]") and "teapot" in v for v in values)
        assert any(v.startswith("[json-schema]") and '"amount":1.5' in v for v in values)


async def test_messagepack_on_redis_is_decoded_in_the_tail(tmp_path: Path, redis_server: LocalRedis) -> None:
    client = redis.Redis.from_url(redis_server.url)
    stream = f"mp-{uuid.uuid4().hex[:8]}"
    client.xadd(stream, {"data": msgpack.packb({"event": "shipped", "ids": [1, 2]})})
    broker = {**redis_server.broker_config(), "name": "r", "key_patterns": [stream]}
    config = write_config(tmp_path / "c.toml", {"ops": {"poll_interval": 0.5, "brokers": [broker]}})
    try:
        async with console(config, "ops", size=(160, 40)) as c:
            await c.wait_rows("#dest-table", lambda r: any(row[1] == stream for row in r), "the stream")
            await start_tail(c, stream)
            pane = c.app.query_one("#tail")
            await c.wait(lambda: len(pane.messages) == 1, "the message")  # type: ignore[attr-defined]
            assert '[msgpack] {"event":"shipped","ids":[1,2]}' in shown(c)[0]
    finally:
        client.delete(stream)
        client.close()
