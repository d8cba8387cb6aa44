"""`tail --json` decodes registry-framed Avro, Protobuf and JSON Schema payloads and a
MessagePack one on every broker, each written by confluent-kafka's serializers and sent through the
real broker; what cannot be decoded is printed raw with a one-line reason."""

from __future__ import annotations

import base64
from pathlib import Path

import msgpack
import pytest

from mqtui.demo.localbrokers import LocalBroker
from tests.contract.worlds import WORLDS
from tests.decoding.conftest import AVRO_ORDER, Encoders
from tests.helpers import run_mqtui, write_config
from tests.registry import Registry


@pytest.mark.parametrize("kind", sorted(WORLDS))
async def test_every_format_is_decoded_through_each_broker(
    kind: str, request: pytest.FixtureRequest, registry: Registry, encoders: Encoders, tmp_path: Path
) -> None:
    server: LocalBroker = request.getfixturevalue(WORLDS[kind].server_fixture)
    world = WORLDS[kind](server)
    await world.open()
    try:
        destination = await world.destination()
        avro = encoders.avro(destination, AVRO_ORDER)
        proto = encoders.protobuf(destination, id=8, item="teapot", lines=[{"sku": "T-1", "quantity": 2}])
        json_schema = encoders.json_schema(destination, {"id": 9, "amount": 1.5})
        packed = msgpack.packb({"event": "shipped", "ids": [1, 2]})
        unknown = b"\x00\x00\x01\x86\xa0" + avro[5:]  # schema id 100000: not in the registry
        truncated = avro[:7]
        await world.publish(destination, [avro, proto, json_schema, packed, unknown, truncated])
        config = write_config(tmp_path / "c.toml", {"t": {"schema_registry": {"url": registry.url},
                                                          "brokers": [{**world.entry(), "name": "b"}]}})  # fmt: skip
        result = run_mqtui(
            "--config", str(config), "-p", "t", "tail", "b", destination, "--from", "beginning", "--end", "--json"
        )
    finally:
        await world.close()
    assert result.code == 0, result.err
    lines = result.json_lines()
    by_format = {line.get("value_format"): line for line in lines}
    assert by_format["avro"]["value"] == {"id": 7, "item": "kettle", "price": "19.99"}
    assert by_format["avro"]["value_schema_subject"].endswith("-value")  # the first subject with this schema
    assert by_format["protobuf"]["value"] == {"id": 8, "item": "teapot", "lines": [{"sku": "T-1", "quantity": 2}]}
    assert by_format["protobuf"]["value_schema_name"] == "shop.Order"
    assert by_format["json-schema"]["value"] == {"id": 9, "amount": 1.5}
    assert by_format["msgpack"]["value"] == {"event": "shipped", "ids": [1, 2]}
    failed = [line for line in lines if line.get("value_decode_error")]
    reasons = sorted(line["value_decode_error"] for line in failed)
    assert reasons[0].startswith("not readable as avro ") and reasons[0].endswith("-value: truncated")
    assert reasons[1] == "schema id 100000 is not in the schema registry"
    assert {base64.b64decode(line["value"]) if line["value_encoding"] == "base64" else line["value"].encode()
            for line in failed} == {unknown, truncated}  # fmt: skip
    assert base64.b64decode(by_format["avro"]["value_raw"]) == avro  # nothing lost: the bytes are kept


async def test_no_raw_and_decode_none(registry: Registry, encoders: Encoders, kafka_server: LocalBroker,
                                           tmp_path: Path) -> None:  # fmt: skip
    world = WORLDS["kafka"](kafka_server)
    await world.open()
    try:
        topic = await world.destination()
        avro = encoders.avro(topic, AVRO_ORDER)
        await world.publish(topic, [avro])
        config = write_config(
            tmp_path / "c.toml",
            {"t": {"brokers": [{**world.entry(), "name": "b", "schema_registry": {"url": registry.url}}]}},
        )
        base = ["--config", str(config), "-p", "t", "tail", "b", topic, "--from", "beginning", "--end", "--json"]
        raw = run_mqtui(*base, "--no-raw").json_lines()
        none = run_mqtui(*base, "--decode", "none").json_lines()
        bad = run_mqtui(*base, "--decode", "yaml")
    finally:
        await world.close()
    assert "value_raw" not in raw[0] and raw[0]["value"]["item"] == "kettle"
    assert base64.b64decode(none[0]["value"]) == avro and "value_format" not in none[0]
    assert bad.code == 2 and "--decode must be one of" in bad.err and "Traceback" not in bad.err


@pytest.mark.parametrize("fmt", ["avro", "protobuf", "json-schema"])
async def test_publish_schema_encodes_and_tail_decodes_it(
    fmt: str, registry: Registry, encoders: Encoders, kafka_server: LocalBroker, tmp_path: Path
) -> None:
    """`publish --schema SUBJECT` writes what confluent-kafka's deserializer reads back, on tansu."""
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.schema_registry.json_schema import JSONDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    world = WORLDS["kafka"](kafka_server)
    await world.open()
    try:
        topic = await world.destination()
        sample = {"avro": lambda: encoders.avro(topic, AVRO_ORDER), "json-schema": lambda: encoders.json_schema(
            topic, {"id": 1}), "protobuf": lambda: encoders.protobuf(topic, id=1)}[fmt]  # fmt: skip
        sample()  # registers the subject, as the producing service would have
        value = {"avro": '{"id": 5, "item": "mug", "price": 2.50}', "json-schema": '{"id": 5, "amount": 2.5}',
                 "protobuf": '{"id": 5, "item": "mug"}'}[fmt]  # fmt: skip
        config = write_config(tmp_path / "c.toml", {"t": {"schema_registry": {"url": registry.url},
                                                          "brokers": [{**world.entry(), "name": "b"}]}})  # fmt: skip
        common = ["--config", str(config), "-p", "t"]
        sent = run_mqtui(*common, "publish", "b", topic, "--value", value, "--schema", f"{topic}-value", "--yes")
        wrong = run_mqtui(*common, "publish", "b", topic, "--value", '{"nope": true}', "--schema", f"{topic}-value",
                          "--yes")  # fmt: skip
        lines = run_mqtui(*common, "tail", "b", topic, "--from", "beginning", "--end", "--json").json_lines()
    finally:
        await world.close()
    assert sent.code == 0, sent.err
    last = lines[-1]
    assert last["value_format"] == fmt and last["value"]["id"] == 5
    raw = base64.b64decode(last["value_raw"])
    context = SerializationContext(topic, MessageField.VALUE)
    if fmt == "avro":
        assert AvroDeserializer(encoders.client)(raw, context)["item"] == "mug"
    elif fmt == "json-schema":
        assert JSONDeserializer(None, schema_registry_client=encoders.client)(raw, context) == {"id": 5, "amount": 2.5}
    else:
        assert encoders.order_class.FromString(raw[6:]).item == "mug"  # header, then index list [0]
    assert wrong.code == 2 and "does not fit" in wrong.err and len(lines) == 1  # refused before sending


async def test_dlq_show_decodes_letters_keys_and_envelopes(
    registry: Registry, encoders: Encoders, kafka_server: LocalBroker, tmp_path: Path
) -> None:
    """`dlq show --json`: a framed Avro letter with a framed key, and a dead-letter envelope as fields."""
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    from tests.kafka.conftest import KafkaTools, Record

    tools = KafkaTools(kafka_server.url)
    try:
        dlq = tools.create(f"dl-{base64.b32encode(__import__('os').urandom(5)).decode().lower()}.DLQ")
        key = AvroSerializer(encoders.client, '{"type": "string"}')(
            "order-7", SerializationContext(dlq, MessageField.KEY)
        )
        envelope = (b'{"original_message": {"id": "m-1", "type": "order.created", "payload": {}}, "retry_count": 3,'
                    b' "first_failed_at": "2026-12-06T10:00:00Z", "last_failed_at": "2026-12-06T10:05:00Z",'
                    b' "error_message": "timeout calling payments"}')  # fmt: skip
        tools.produce(dlq, [Record(value=encoders.avro(dlq, AVRO_ORDER), key=key), Record(value=envelope)])
        config = write_config(tmp_path / "c.toml", {"t": {"schema_registry": {"url": registry.url},
                                                          "brokers": [{**kafka_server.broker_config(), "name": "b"}]}})  # fmt: skip
        common = ["--config", str(config), "-p", "t", "dlq", "show", "b", dlq]
        lines = run_mqtui(*common, "--json").json_lines()
        table = run_mqtui(*common)
    finally:
        del tools.admin
    avro, letter = (line["message"] for line in lines)
    assert avro["value"]["item"] == "kettle" and avro["key"] == "order-7" and avro["key_format"] == "avro"
    assert letter["value_envelope"] == "dead-letter" and letter["value"]["retry_count"] == 3
    assert table.code == 0 and "[avro] " in table.out and "[json dead-letter] retries 3 · timeout" in table.out


async def test_publish_schema_is_refused_in_a_readonly_profile_before_the_registry(
    registry: Registry, kafka_server: LocalBroker, tmp_path: Path
) -> None:
    """Encoding follows publish's rules: a readonly profile refuses (exit 3) before asking the registry."""
    config = write_config(tmp_path / "c.toml", {"t": {"readonly": True, "schema_registry": {"url": registry.url},
                                                      "brokers": [{**kafka_server.broker_config(), "name": "b"}]}})  # fmt: skip
    before = sum(registry.requests.values())
    result = run_mqtui("--config", str(config), "-p", "t", "publish", "b", "orders", "--value", "{}",
                       "--schema", "orders-value", "--yes")  # fmt: skip
    assert result.code == 3 and "readonly" in result.err
    assert sum(registry.requests.values()) == before
