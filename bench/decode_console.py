"""The console tail pane under 20,000 decoded Avro msg/s: does it keep up?

The same measurement as `console_tail.py` (the real console under Pilot in a child process, tailing a
3-partition topic from its end while a producer process writes 20,000 msg/s for 14 s, 10 s measured),
with every record registry-framed Avro (an order of 7 fields, written by confluent-kafka's
`AvroSerializer` against the tests' minimal registry, `tests/registry.py`) and the profile's
`schema_registry` set, so each batch is decoded on the backend loop before the pane takes it. Baseline,
same run: the same console and stream with the broker's `--decode none` equivalent (no registry, the
payloads stay bytes). Target: the decoded pane keeps up (takes >= 95% of the rate, drops nothing, the
newest message shown under 1 s old at p95), frame interval p95 under 100 ms.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import console_tail
from common import PYTHON, figure, header, local_brokers, mqtui_env, note, write_profile
from decode_tail import SCHEMA
from kafka_data import create_topics

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.registry import start_registry

AVRO_PRODUCER = console_tail.PRODUCER.replace(
    'value = b"v" * size', 'value = bytes.fromhex(__import__("os").environ["AVRO_VALUE"])'
)


def avro_value(registry_url: str, topic: str) -> bytes:
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    serialize = AvroSerializer(SchemaRegistryClient({"url": registry_url}), SCHEMA)
    order = {"id": 7495, "customer": "customer-326", "amount": 285.96, "currency": "EUR", "items": 4,
             "express": False, "note": "leave at the door"}  # fmt: skip
    return serialize(order, SerializationContext(topic, MessageField.VALUE))


def child(config: str, url: str, topic: str, value_hex: str) -> dict[str, Any]:
    os.environ["AVRO_VALUE"] = value_hex
    console_tail.PRODUCER = AVRO_PRODUCER
    return console_tail.child_mqtui(config, url, topic)


def run_child(*args: str) -> dict[str, Any]:
    done = subprocess.run([PYTHON, __file__, "child", *args], capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"child failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    header("decode: the console tail pane under 20,000 decoded Avro msg/s")
    registry = start_registry()
    with tempfile.TemporaryDirectory(prefix="mqtui-bench-") as scratch, local_brokers("kafka") as brokers:
        home = Path(scratch)
        kafka = brokers["kafka"]
        create_topics(kafka.url, ["live-decoded", "live-raw"], 3)
        value = avro_value(registry.url, "live-decoded").hex()
        plain = write_profile(home / "plain.toml", [kafka.broker_config()], poll_interval=2.0)
        decoded = home / "decoded.toml"
        decoded.write_text(plain.read_text().replace("[profiles.bench]\n",
                           f'[profiles.bench]\nschema_registry = {{ url = "{registry.url}" }}\n'))  # fmt: skip
        os.environ.update(mqtui_env(home))
        mine = run_child(str(decoded), kafka.url, "live-decoded", value)
        raw = run_child(str(plain), kafka.url, "live-raw", value)
        note(f"schema fetches: {registry.requests['GET /schemas/ids/1']}")
        for name, found in (("decoded", mine), ("raw", raw)):
            note(f"{name}: interval p95 {found['interval_p95'] * 1000:.0f} max {found['interval_max'] * 1000:.0f} ms, "
                 f"newest shown age p95 {found['age_p95'] * 1000:.0f} ms, took {found['shown']:,} of "
                 f"{found['produced']:,}, dropped {found['dropped']}")  # fmt: skip
        rate_mine, rate_raw = mine["shown"] / console_tail.MEASURE, raw["shown"] / console_tail.MEASURE
        keeps_up = mine["dropped"] == 0 and mine["age_p95"] < 1.0 and rate_mine >= 0.95 * console_tail.RATE
        figure("console tail @20k decoded Avro msg/s, keeps up", f"mqtui {rate_mine:,.0f} msg/s taken, newest "
               f"{mine['age_p95'] * 1000:.0f} ms old (p95), dropped {mine['dropped']}",
               f"same console, not decoded {rate_raw:,.0f} msg/s", rate_mine / rate_raw, "keeps up", keeps_up)  # fmt: skip
        figure("console tail @20k decoded Avro msg/s, frame interval p95", f"mqtui {mine['interval_p95'] * 1000:.0f} ms",
               f"not decoded {raw['interval_p95'] * 1000:.0f} ms", mine["interval_p95"] / raw["interval_p95"],
               "<100 ms", mine["interval_p95"] < 0.1)  # fmt: skip
    registry.stop()


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "child":
        print(json.dumps(child(*sys.argv[2:])), flush=True)
    else:
        main()
