"""Bad input never crashes or stalls decoding: the hostile corpus (with its malformed framed payloads),
an unknown schema id, a registry that is down, slow or refuses the credentials. Each such message is
kept raw with a one-line reason, and every schema id is fetched once."""

from __future__ import annotations

import asyncio
import functools
import gzip
from collections.abc import Iterator

import orjson
import pytest

from mqtui import jsonl
from mqtui.config.decoding import SchemaRegistryConfig
from mqtui.model import Message
from mqtui.services.decoding import MODES, Decoder
from mqtui.services.decoding.registry import SchemaCache
from tests.decoding.conftest import AVRO_ORDER, Encoders, make_encoders
from tests.registry import Registry, start_registry
from tests.trust.corpus import all_payloads


@pytest.fixture
def own_registry() -> Iterator[Registry]:
    """A registry of this test's own, so its request counts and knobs are the test's alone."""
    started = start_registry()
    yield started
    started.stop()


@functools.cache
def bomb() -> bytes:
    """32 MB of zeros in 32 kB of gzip: decompression must stop at its bound."""
    return gzip.compress(bytes(32 * 1024 * 1024), compresslevel=1)


def decoder(registry: Registry, mode: str = "auto", timeout: float = 2.0) -> Decoder:
    return Decoder(mode, SchemaCache(SchemaRegistryConfig(url=registry.url, timeout=timeout)))


def decode_all(dec: Decoder, values: list[bytes], wait: float) -> list[Message]:
    messages = [Message("b", "orders", 0, index, None, value[:8], value) for index, value in enumerate(values)]

    async def run() -> list[Message]:
        await dec.prepare(messages, wait)
        return list(dec.decode_batch(messages))

    try:
        return asyncio.run(run())
    finally:
        dec.close()


@pytest.mark.parametrize("mode", MODES)
def test_the_hostile_corpus_decodes_to_values_or_reasons(mode: str, registry: Registry, encoders: Encoders) -> None:
    encoders.avro("hostile", AVRO_ORDER)  # ids 1.. exist, so framed junk meets real schemas too
    encoders.protobuf("hostile", id=1)
    payloads = all_payloads()
    payloads["bomb"] = bomb()
    decoded = decode_all(decoder(registry, mode), list(payloads.values()), wait=2.0)
    for name, message in zip(payloads, decoded, strict=True):
        if message.decoded is not None and message.decoded.error is not None:
            assert "\n" not in message.decoded.error and len(message.decoded.error) < 300, name
    lines = jsonl.dumps_messages(decoded)
    assert not any(char in bytes(lines).decode("utf-8") for char in ("\x1b", "\x07", "\x9b"))
    back = [jsonl.message_from_record(orjson.loads(line)) for line in bytes(lines).splitlines()]
    assert [m.value for m in back] == list(payloads.values())  # value_raw: nothing lost
    reasons = {name: m.decoded.error for name, m in zip(payloads, decoded, strict=True) if m.decoded}
    if mode == "auto":
        assert reasons["bomb"] == "gzip payload that does not decompress: expands beyond 16 MB"
        assert reasons["framed_unknown_schema_id"] == "schema id 2147483647 is not in the schema registry"
        assert "msgpack_nested_300" not in reasons  # too deep to show as a tree: shown as its bytes


def test_one_request_per_schema_id(own_registry: Registry) -> None:
    encoders = make_encoders(own_registry)
    values = [encoders.avro("orders", {**AVRO_ORDER, "id": n}) for n in range(200)]
    dec = decoder(own_registry)
    first = decode_all(dec, values[:100], wait=2.0)
    dec2 = dec  # the same session's decoder: its cache holds the schema
    second = [dec2.decode(m) for m in first]
    assert [m.decoded.value["id"] for m in second if m.decoded] == list(range(100))
    assert own_registry.requests["GET /schemas/ids/1"] == 1


def test_unknown_id_then_down_registry_is_a_reason_not_a_crash(own_registry: Registry) -> None:
    encoders = make_encoders(own_registry)
    value = encoders.avro("orders", AVRO_ORDER)
    own_registry.stop()
    (message,) = decode_all(decoder(own_registry), [value], wait=5.0)
    assert message.decoded is not None and message.decoded.error == "the schema registry is unreachable"
    assert message.value == value


def test_a_slow_registry_does_not_hold_the_messages(own_registry: Registry) -> None:
    encoders = make_encoders(own_registry)
    value = encoders.avro("orders", AVRO_ORDER)
    own_registry.delay = 3.0
    (message,) = decode_all(decoder(own_registry, timeout=0.3), [value], wait=0.3)
    assert message.decoded is not None
    assert message.decoded.error in (
        "the schema registry did not answer within 0.3s",
        "the schema registry did not answer in time",
    )


def test_refused_credentials_are_named_and_never_shown(own_registry: Registry) -> None:
    encoders = make_encoders(own_registry)
    value = encoders.avro("orders", AVRO_ORDER)
    own_registry.credentials = ("svc", "s3cret-Pa55")
    config = SchemaRegistryConfig(url=own_registry.url, username="svc", password="wrong-Pa55", timeout=2)
    dec = Decoder("auto", SchemaCache(config))
    (message,) = decode_all(dec, [value], wait=2.0)
    assert message.decoded is not None and message.decoded.error == "the schema registry refused the credentials (401)"
    assert "Pa55" not in repr(config) and b"Pa55" not in bytes(jsonl.dumps_messages([message]))


def test_a_registry_answering_proto_text_is_compiled(own_registry: Registry) -> None:
    """A registry may answer a Protobuf schema as .proto text (no `format=serialized`): compiled once."""
    from confluent_kafka.schema_registry import Schema

    from tests.decoding.conftest import HERE, order_class

    client = make_encoders(own_registry).client
    schema_id = client.register_schema("shop-value", Schema((HERE / "shop.proto").read_text(), "PROTOBUF"))
    payload = order_class()(id=5, item="cup").SerializeToString()
    framed = b"\x00" + schema_id.to_bytes(4, "big") + b"\x02\x02" + order_class()(id=6).SerializeToString()
    first, second = decode_all(decoder(own_registry), [b"\x00" + schema_id.to_bytes(4, "big") + b"\x00" + payload,
                                                       framed], wait=30.0)  # fmt: skip
    assert first.decoded is not None and first.decoded.value == {"id": 5, "item": "cup"}
    assert first.decoded.schema_name == "shop.Order"
    assert second.decoded is not None  # the index list [1] names the file's second message type
    assert (second.decoded.schema_name, second.decoded.value) == ("shop.Refund", {"order_id": 6})


def test_a_schema_whose_arrays_take_no_bytes_is_refused_not_looped_on(own_registry: Registry) -> None:
    """An array of nulls with a claimed count of 2**62 in nine bytes must not hold the tail."""
    from confluent_kafka.schema_registry import Schema

    client = make_encoders(own_registry).client
    schema_id = client.register_schema("nulls-value", Schema('{"type": "array", "items": "null"}', "AVRO"))
    hostile = b"\x00" + schema_id.to_bytes(4, "big") + b"\xfe\xff\xff\xff\xff\xff\xff\xff\x7f"
    (message,) = decode_all(decoder(own_registry), [hostile], wait=5.0)
    assert message.decoded is not None and message.decoded.error is not None
    assert "take no bytes" in message.decoded.error and message.value == hostile


def test_schema_ids_asked_for_are_bounded(own_registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    """Payloads that only look framed (each a different id) cost at most MAX_IDS registry requests."""
    from mqtui.services.decoding import registry as registry_module

    monkeypatch.setattr(registry_module, "MAX_IDS", 5)
    values = [b"\x00" + n.to_bytes(4, "big") + b"junk" for n in range(1000, 1020)]
    decoded = decode_all(decoder(own_registry), values, wait=5.0)
    asked = sum(count for path, count in own_registry.requests.items() if path.startswith("GET /schemas/ids/"))
    assert asked == 5
    assert all(m.decoded is not None and m.decoded.error for m in decoded)
    assert decoded[-1].decoded is not None and "5 schema ids were asked for already" in (
        decoded[-1].decoded.error or ""
    )
