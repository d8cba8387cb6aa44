"""Tail throughput and memory: `mqtui tail --json` against kcat and a bare confluent-kafka loop.

One tansu broker, one topic of 1,000,000 records of 200 bytes (one partition). Each reader runs as its
own process, as a user runs it, and is timed from process start to exit (start-up, connection and
reading to the end, all included):

- `mqtui tail BROKER TOPIC --from beginning --end --json`, its stdout a pipe this script counts lines on;
- `kcat -C -J -e -q -o beginning`, the same pipe (Debian's kcat 1.7.1 links librdkafka 2.0.2, which cannot
  read tansu 0.6.0's ApiVersion v3 answer, "read underflow"; when that happens the same kcat binary is
  run against the librdkafka 2.16 that the confluent-kafka wheel ships, through LD_LIBRARY_PATH);
- a bare confluent-kafka loop (`consume(2000)` by assignment until 1,000,000 records), no output: the
  issue's baseline, and the headline ratio;
- a second, separately labelled baseline: the same bare loop writing the same JSON Lines as `mqtui tail
  --json`, byte for byte (same fields in the same order, orjson, UTF-8 or base64, ISO time reused per
  millisecond, lines gathered in one bytearray per batch as mqtui does) to the same kind of pipe, so
  the cost of the JSON work and the pipe themselves can be told apart from mqtui's own overhead.

Both bare loops get `fetch.queue.backoff.ms=10`, as mqtui's reader does: with librdkafka's default
(1000 ms) a consumer that does any work per record stalls for a second each time its pre-fetch queue
fills (see `mqtui.brokers.kafka.tail.FETCH_QUEUE_BACKOFF_MS`). kcat runs as the issue gives it, with
librdkafka's defaults.

The four take turns (RUNS rounds) so a burst of load from elsewhere hits all of them alike; the best
run of each is reported. Target: mqtui at least 0.8x the bare loop.

Memory: `mqtui tail --json` (without `--end`) reads the same topic; its resident memory is read after
10,000 lines have arrived and again after 1,000,000. Target: within 50 MB. kcat, measured the same way,
is the baseline.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import (
    PYTHON,
    elapsed,
    figure,
    header,
    interleaved,
    local_brokers,
    mqtui_env,
    note,
    rss_mb,
    stop_process,
    write_profile,
)
from kafka_data import create_topics, fill, high_watermarks

TOTAL = 1_000_000
SIZE = 200
RUNS = 3
TOPIC = "bench-tail"
BACKOFF_MS = 10
"""fetch.queue.backoff.ms as mqtui's reader and the bare loops below use it (librdkafka's default is 1000)."""

BARE_LOOP = """
import sys
from confluent_kafka import Consumer, TopicPartition
url, topic, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
consumer = Consumer({"bootstrap.servers": url, "group.id": "bench-bare", "enable.auto.commit": False, "log_level": 0,
                     "fetch.queue.backoff.ms": 10})
consumer.assign([TopicPartition(topic, 0, 0)])
count = size = 0
while count < total:
    for message in consumer.consume(2000, 1.0):
        if message.error() is None:
            count += 1
            size += len(message.value())
consumer.close()
print(count, size)
"""


BARE_JSON_LOOP = """
import base64
import sys
from datetime import UTC, datetime

import orjson
from confluent_kafka import Consumer, TopicPartition

url, topic, total, broker = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
consumer = Consumer({"bootstrap.servers": url, "group.id": "bench-bare-json", "enable.auto.commit": False,
                     "fetch.queue.backoff.ms": 10,
                     "log_level": 0})
consumer.assign([TopicPartition(topic, 0, 0)])
out, dumps, newline = sys.stdout.buffer, orjson.dumps, orjson.OPT_APPEND_NEWLINE


def text(data):
    if data is None:
        return None, "utf-8"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), "base64"


last_millis = last_time = None
count = 0
while count < total:
    lines = bytearray()  # not a list to join: holding many orjson outputs makes orjson ~10x slower
    for message in consumer.consume(2000, 1.0):
        if message.error() is not None:
            continue
        millis = message.timestamp()[1]
        if millis != last_millis:
            last_millis = millis
            last_time = datetime.fromtimestamp(millis / 1000, UTC).isoformat().replace("+00:00", "Z")
        key, key_encoding = text(message.key())
        value, value_encoding = text(message.value())
        headers = message.headers()
        lines += dumps({
            "broker": broker, "destination": topic, "partition": message.partition(), "position": message.offset(),
            "timestamp": last_time, "key": key, "key_encoding": key_encoding, "value": value,
            "value_encoding": value_encoding,
            "headers": {k: v.decode("utf-8", "replace") for k, v in headers if v is not None} if headers else {},
            "redelivered": 0,
        }, option=newline)
        count += 1
    out.write(lines)
out.flush()
consumer.close()
"""


def count_lines(
    args: list[str], env: dict[str, str] | None = None, marks: tuple[int, ...] = ()
) -> tuple[float, int, dict[int, float]]:
    """Run `args`, count the lines it writes, return (seconds, lines, {mark: RSS MB when reached}).

    With marks, the process is stopped once the last mark is reached (a tail that would go on).
    """
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert process.stdout is not None
    fd = process.stdout.fileno()
    lines = 0
    rss: dict[int, float] = {}
    pending = list(marks)
    try:
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            lines += chunk.count(b"\n")
            while pending and lines >= pending[0]:
                rss[pending.pop(0)] = rss_mb(process.pid)
            if marks and not pending:
                break
        seconds = elapsed(started)
    finally:
        if marks:
            stop_process(process)
        process.wait(60)
        stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.returncode not in (0, -15) or (not marks and stderr.strip()):
        raise RuntimeError(f"{args[0]} failed ({process.returncode}): {stderr.strip()[:500]}")
    return seconds, lines, rss


def kcat_env(url: str, scratch: Path) -> dict[str, str] | None:
    """None when the system's kcat talks to tansu; else an environment with the wheel's librdkafka."""
    probe = ["kcat", "-b", url, "-L", "-m", "3"]
    if subprocess.run(probe, capture_output=True, timeout=30).returncode == 0:
        return None
    import confluent_kafka

    libs = Path(confluent_kafka.__file__).parent.parent / "confluent_kafka.libs"
    found = sorted(libs.glob("librdkafka-*.so*"))
    if not found:
        sys.exit("kcat cannot talk to tansu and the confluent-kafka wheel ships no librdkafka to lend it")
    (scratch / "librdkafka.so.1").symlink_to(found[0])
    env = {**os.environ, "LD_LIBRARY_PATH": str(scratch)}
    if subprocess.run(probe, capture_output=True, timeout=30, env=env).returncode != 0:
        sys.exit("kcat cannot talk to tansu, not even with the wheel's librdkafka")
    version = subprocess.run(["kcat", "-V"], capture_output=True, text=True, env=env).stdout
    lent = version.split("librdkafka ")[1].split()[0] if "librdkafka " in version else "?"
    note(f"the system's kcat cannot talk to tansu (librdkafka too old); running it with the wheel's librdkafka {lent}")
    return env


def main() -> None:
    header("tail: mqtui tail --json vs kcat vs a bare confluent-kafka loop")
    with tempfile.TemporaryDirectory(prefix="mqtui-bench-") as scratch, local_brokers("kafka") as brokers:
        home = Path(scratch)
        kafka = brokers["kafka"]
        create_topics(kafka.url, [TOPIC])
        started = time.perf_counter()
        fill(kafka.url, TOPIC, TOTAL, SIZE)
        note(f"produced {TOTAL:,} records of {SIZE} B in {elapsed(started):.1f} s; "
             f"high watermark {high_watermarks(kafka.url, TOPIC)[0]:,}")  # fmt: skip
        config = write_profile(home / "config.toml", [kafka.broker_config()])
        env = mqtui_env(home)
        mqtui = [PYTHON, "-m", "mqtui", "--config", str(config), "-p", "bench", "tail", kafka.name, TOPIC,
                 "--from", "beginning"]  # fmt: skip
        kcat = ["kcat", "-b", kafka.url, "-C", "-t", TOPIC, "-o", "beginning", "-e", "-J", "-q"]
        kenv = kcat_env(kafka.url, home)

        def run_mqtui() -> float:
            seconds, lines, _ = count_lines([*mqtui, "--end", "--json"], env)
            assert lines == TOTAL, f"mqtui wrote {lines:,} lines"
            return seconds

        def run_kcat() -> float:
            seconds, lines, _ = count_lines(kcat, kenv)
            assert lines == TOTAL, f"kcat wrote {lines:,} lines"
            return seconds

        def run_bare_json() -> float:
            seconds, lines, _ = count_lines([PYTHON, "-c", BARE_JSON_LOOP, kafka.url, TOPIC, str(TOTAL), kafka.name])
            assert lines == TOTAL, f"the bare JSON loop wrote {lines:,} lines"
            return seconds

        def run_bare() -> float:
            started = time.perf_counter()
            done = subprocess.run([PYTHON, "-c", BARE_LOOP, kafka.url, TOPIC, str(TOTAL)], capture_output=True,
                                  text=True, check=True)  # fmt: skip
            seconds = elapsed(started)
            assert done.stdout.split()[0] == str(TOTAL), done.stdout
            return seconds

        samples = interleaved(RUNS, mqtui=run_mqtui, kcat=run_kcat, bare=run_bare, bare_json=run_bare_json)
        rate = {name: TOTAL / min(times) for name, times in samples.items()}
        for name, times in samples.items():
            note(f"{name}: runs {', '.join(f'{t:.2f}' for t in times)} s")
        figure("tail --json (1M x 200 B)", f"mqtui {rate['mqtui']:,.0f} msg/s",
               f"bare confluent-kafka loop {rate['bare']:,.0f} msg/s", rate["mqtui"] / rate["bare"],
               ">=0.8x", rate["mqtui"] / rate["bare"] >= 0.8)  # fmt: skip
        figure("tail --json vs kcat", f"mqtui {rate['mqtui']:,.0f} msg/s", f"kcat -J {rate['kcat']:,.0f} msg/s",
               rate["mqtui"] / rate["kcat"])  # fmt: skip
        figure("tail --json vs a bare JSON Lines loop", f"mqtui {rate['mqtui']:,.0f} msg/s",
               f"bare loop writing the same lines {rate['bare_json']:,.0f} msg/s",
               rate["mqtui"] / rate["bare_json"])  # fmt: skip
        tuned = [*kcat[:-1], "-X", f"fetch.queue.backoff.ms={BACKOFF_MS}", "-q"]
        seconds, lines, _ = count_lines(tuned, kenv)
        note(f"kcat with -X fetch.queue.backoff.ms={BACKOFF_MS} (one run, not a figure): {TOTAL / seconds:,.0f} msg/s, "
             f"{lines:,} lines")  # fmt: skip

        marks = (10_000, TOTAL)
        _, _, mine = count_lines([*mqtui, "--json"], env, marks)
        _, _, theirs = count_lines([*kcat[:-3], "-J", "-q", "-u"], kenv, marks)  # no -e: on
        growth = mine[TOTAL] - mine[10_000]
        figure("tail memory, 10k -> 1M messages",
               f"mqtui {mine[10_000]:.1f} -> {mine[TOTAL]:.1f} MB ({growth:+.1f} MB)",
               f"kcat {theirs[10_000]:.1f} -> {theirs[TOTAL]:.1f} MB ({theirs[TOTAL] - theirs[10_000]:+.1f} MB)",
               mine[TOTAL] / mine[10_000], "growth <=50 MB", growth <= 50)  # fmt: skip


if __name__ == "__main__":
    main()
