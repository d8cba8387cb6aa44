"""Local schemas (no registry): a destination glob mapped to an .avsc, a .proto (compiled at load), a
descriptor set or a JSON Schema decodes bare payloads sent through a real broker (Redis streams here);
the config keys are checked at load and the registry password is a registered secret."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import fastavro
import pytest
import redis

from mqtui.config import load_config, secrets_of
from mqtui.demo.localbrokers import LocalRedis
from mqtui.services.decoding import decoder_for
from tests.decoding.conftest import HERE, JSON_SCHEMA, order_class
from tests.helpers import run_mqtui, write_config


def avro_bytes(value: dict[str, object]) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(json.loads((HERE / "order.avsc").read_text())), value)
    return out.getvalue()


def descriptor_set(tmp_path: Path) -> Path:
    out = tmp_path / "shop.desc"
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", f"-I{HERE}", "--include_imports",
                    f"--descriptor_set_out={out}", str(HERE / "shop.proto")], check=True)  # fmt: skip
    return out


def test_each_kind_of_local_schema_decodes_through_redis(tmp_path: Path, redis_server: LocalRedis) -> None:
    client = redis.Redis.from_url(redis_server.url)
    (tmp_path / "payment.json").write_text(JSON_SCHEMA)
    order = order_class()
    payloads = {
        "avro-orders": avro_bytes({"id": 1, "item": "kettle", "price": b"\x07\xcf"}),
        "proto-orders": order(id=2, item="teapot").SerializeToString(),
        "desc-orders": order(id=3, item="mug").SerializeToString(),
        "payments": b'{"id": 4, "amount": 9.5}',
    }
    for stream, payload in payloads.items():
        client.delete(stream)
        client.xadd(stream, {"data": payload})
    schemas = [
        {"destination": "avro-*", "avro": str(HERE / "order.avsc")},
        {"destination": "proto-*", "proto": str(HERE / "shop.proto"), "message": "shop.Order"},
        {"destination": "desc-*", "descriptor_set": str(descriptor_set(tmp_path)), "message": "shop.Order"},
        {"destination": "pay*", "json_schema": str(tmp_path / "payment.json")},
    ]
    config = tmp_path / "c.toml"
    lines = write_config(config, {"t": {"brokers": [{**redis_server.broker_config(), "name": "r"}]}}).read_text()
    lines += "".join(
        "[[profiles.t.schemas]]\n" + "".join(f'{k} = "{v}"\n' for k, v in entry.items()) for entry in schemas
    )
    config.write_text(lines)
    try:
        decoded = {}
        for stream in payloads:
            result = run_mqtui("--config", str(config), "-p", "t", "tail", "r", stream, "--from", "beginning",
                               "--end", "--json")  # fmt: skip
            assert result.code == 0, result.err
            (line,) = result.json_lines()
            decoded[stream] = (line["value_format"], line["value"])
    finally:
        client.delete(*payloads)
        client.close()
    assert decoded == {
        "avro-orders": ("avro", {"id": 1, "item": "kettle", "price": "19.99"}),
        "proto-orders": ("protobuf", {"id": 2, "item": "teapot"}),
        "desc-orders": ("protobuf", {"id": 3, "item": "mug"}),
        "payments": ("json-schema", {"id": 4, "amount": 9.5}),
    }


def test_a_missing_schema_file_is_a_reason_beside_the_raw_payload(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", {"t": {"brokers": [{"name": "k", "kind": "kafka", "url": "h:1"}]}})
    config.write_text(config.read_text() + '[[profiles.t.schemas]]\ndestination = "*"\navro = "/nonexistent.avsc"\n')
    loaded, _ = load_config(config)
    profile = loaded.profiles["t"]
    decoder = decoder_for(profile, profile.brokers[0])
    (mapping,) = decoder.local.mappings
    decoder.local.load(mapping)
    found = decoder.read("orders", b"\x02\x02x")
    assert found is not None and found.error == "local schema nonexistent.avsc: No such file or directory"


@pytest.mark.parametrize(("entry", "reason"), [
    ({"destination": "x"}, "exactly one of avro, proto, descriptor_set, json_schema"),
    ({"destination": "x", "proto": "a.proto"}, "needs `message`"),
    ({"destination": "x", "avro": "a.avsc", "colour": "red"}, "colour"),
])  # fmt: skip
def test_bad_schema_entries_are_one_line(tmp_path: Path, entry: dict[str, str], reason: str) -> None:
    config = write_config(tmp_path / "c.toml", {"t": {"brokers": [{"name": "k", "kind": "kafka", "url": "h:1"}]}})
    config.write_text(
        config.read_text() + "[[profiles.t.schemas]]\n" + "".join(f'{k} = "{v}"\n' for k, v in entry.items())
    )
    result = run_mqtui("--config", str(config), "-p", "t", "tail", "k", "x", "--end")
    assert result.code == 2 and reason in result.err and len(result.err.splitlines()) == 1


def test_the_registry_password_is_a_secret(tmp_path: Path) -> None:
    broker = {"name": "k", "kind": "kafka", "url": "h:1",
              "schema_registry": {"url": "https://sr:8081", "username": "svc", "password": "Sr-Pa55"}}  # fmt: skip
    loaded, _ = load_config(write_config(tmp_path / "c.toml", {"t": {"brokers": [broker]}}))
    assert "Sr-Pa55" in secrets_of(loaded.profiles["t"].brokers[0])
    assert "Sr-Pa55" not in repr(loaded.profiles["t"].brokers[0].schema_registry)
