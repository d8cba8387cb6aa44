"""Decoded Avro tail throughput: `mqtui tail --json` of registry-framed Avro against a bare confluent-kafka
loop that runs confluent-kafka's `AvroDeserializer` on each message, in the same run.

One tansu broker, one topic of 1,000,000 Avro records (an order of 7 fields, ~60 bytes, framed with
magic byte 0 and the schema id), written by confluent-kafka's `AvroSerializer` against the tests'
minimal schema registry (`tests/registry.py`: no registry server can be installed here). Each reader
runs as its own process, timed from start to exit:

- `mqtui tail BROKER TOPIC --from beginning --end --json` with the profile's `schema_registry`: every
  line holds the decoded value, `value_format`, the schema id and subject, and `value_raw` (the default);
- the bare loop: `consume(2000)` by assignment until 1,000,000 records, `AvroDeserializer(client)(value,
  ctx)` on each, no output (the issue's baseline and the headline ratio);
- `mqtui tail ... --json --decode none` as a note: what decoding costs mqtui itself.

Both Kafka readers use `fetch.queue.backoff.ms=10` (mqtui's reader does; see bench/tail.py). The runs
take turns (RUNS rounds); the best of each is reported. Target: mqtui at least 0.5x the bare loop. The
registry counts its requests: mqtui must fetch the schema once per run.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

from common import PYTHON, elapsed, figure, header, interleaved, local_brokers, mqtui_env, note
from kafka_data import create_topics, fill_cycling, high_watermarks
from tail import count_lines

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.registry import start_registry

TOTAL = 1_000_000
RUNS = 3
TOPIC = "bench-decode"
SCHEMA = """{"type": "record", "name": "Order", "namespace": "bench", "fields": [
  {"name": "id", "type": "long"}, {"name": "customer", "type": "string"}, {"name": "amount", "type": "double"},
  {"name": "currency", "type": "string"}, {"name": "items", "type": "int"},
  {"name": "express", "type": "boolean"}, {"name": "note", "type": ["null", "string"], "default": null}]}"""

BARE_AVRO_LOOP = """
import sys
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
url, topic, total, registry = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
deserialize = AvroDeserializer(SchemaRegistryClient({"url": registry}))
context = SerializationContext(topic, MessageField.VALUE)
consumer = Consumer({"bootstrap.servers": url, "group.id": "bench-bare-avro", "enable.auto.commit": False,
                     "log_level": 0, "fetch.queue.backoff.ms": 10})
consumer.assign([TopicPartition(topic, 0, 0)])
count = fields = 0
while count < total:
    for message in consumer.consume(2000, 1.0):
        if message.error() is None:
            count += 1
            fields += len(deserialize(message.value(), context))
consumer.close()
print(count, fields)
"""


def produce_avro(url: str, registry_url: str) -> None:
    """1,000 distinct orders encoded by AvroSerializer, cycled to TOTAL records (the last in a batch of
    its own, so tansu's high watermark is the true end)."""
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    serialize = AvroSerializer(SchemaRegistryClient({"url": registry_url}), SCHEMA)
    context = SerializationContext(TOPIC, MessageField.VALUE)
    rng = random.Random(14)
    values = [
        serialize({"id": n, "customer": f"customer-{rng.randrange(10_000)}", "amount": round(rng.uniform(1, 500), 2),
                   "currency": rng.choice(["EUR", "USD", "GBP"]), "items": rng.randrange(1, 9),
                   "express": rng.random() < 0.2, "note": None if n % 3 else "leave at the door"}, context)
        for n in range(1000)
    ]  # fmt: skip
    fill_cycling(url, TOPIC, values, TOTAL)


def write_config(path: Path, broker: dict[str, object], registry_url: str) -> Path:
    lines = ['default_profile = "bench"', "[profiles.bench]", f'schema_registry = {{ url = "{registry_url}" }}',
             "[[profiles.bench.brokers]]"]  # fmt: skip
    lines += [f'{key} = "{value}"' if isinstance(value, str) else f"{key} = {value}" for key, value in broker.items()]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def main() -> None:
    header("decode: mqtui tail --json of registry Avro vs a bare confluent-kafka loop running AvroDeserializer")
    registry = start_registry()
    with tempfile.TemporaryDirectory(prefix="mqtui-bench-") as scratch, local_brokers("kafka") as brokers:
        home = Path(scratch)
        kafka = brokers["kafka"]
        create_topics(kafka.url, [TOPIC])
        started = time.perf_counter()
        produce_avro(kafka.url, registry.url)
        note(f"produced {TOTAL:,} Avro records in {elapsed(started):.1f} s; "
             f"high watermark {high_watermarks(kafka.url, TOPIC)[0]:,}")  # fmt: skip
        config = write_config(home / "config.toml", kafka.broker_config(), registry.url)
        env = mqtui_env(home)
        mqtui = [PYTHON, "-m", "mqtui", "--config", str(config), "-p", "bench", "tail", kafka.name, TOPIC,
                 "--from", "beginning", "--end", "--json"]  # fmt: skip
        fetches: list[int] = []

        def run_mqtui() -> float:
            before = registry.requests["GET /schemas/ids/1"]
            seconds, lines, _ = count_lines(mqtui, env)
            assert lines == TOTAL, f"mqtui wrote {lines:,} lines"
            fetches.append(registry.requests["GET /schemas/ids/1"] - before)
            return seconds

        def run_undecoded() -> float:
            seconds, lines, _ = count_lines([*mqtui, "--decode", "none"], env)
            assert lines == TOTAL, f"mqtui wrote {lines:,} lines"
            return seconds

        def run_bare() -> float:
            import subprocess

            started = time.perf_counter()
            done = subprocess.run([PYTHON, "-c", BARE_AVRO_LOOP, kafka.url, TOPIC, str(TOTAL), registry.url],
                                  capture_output=True, text=True, check=True)  # fmt: skip
            seconds = elapsed(started)
            assert done.stdout.split()[0] == str(TOTAL), done.stdout
            return seconds

        sample = count_lines([*mqtui, "--decode", "auto"], env)  # warm-up run, and a look at one line
        note(f"warm-up: {sample[1]:,} lines in {sample[0]:.2f} s")
        samples = interleaved(RUNS, mqtui=run_mqtui, bare=run_bare, undecoded=run_undecoded)
        rate = {name: TOTAL / min(times) for name, times in samples.items()}
        for name, times in samples.items():
            note(f"{name}: runs {', '.join(f'{t:.2f}' for t in times)} s")
        note(f"schema fetches per mqtui run: {fetches}")
        figure("decoded Avro tail --json (1M)", f"mqtui {rate['mqtui']:,.0f} msg/s",
               f"bare confluent-kafka + AvroDeserializer {rate['bare']:,.0f} msg/s", rate["mqtui"] / rate["bare"],
               ">=0.5x", rate["mqtui"] / rate["bare"] >= 0.5)  # fmt: skip
        note(
            f"the same tail with --decode none: {rate['undecoded']:,.0f} msg/s "
            f"(decoding costs mqtui {1 - rate['mqtui'] / rate['undecoded']:.0%})"
        )
    registry.stop()


if __name__ == "__main__":
    main()
