"""Search throughput and memory: `mqtui search` with a field comparison against a bare confluent-kafka
loop that only parses each message's JSON, in the same run.

One tansu broker, one topic of 1,000,000 JSON orders of ~200 bytes (1,000 distinct ones cycled; one in
1,000 has an amount above 499.5). Each reader runs as its own process, timed from start to exit:

- `mqtui search BROKER TOPIC --where '.value.amount > 499.5' --json`: the range planned, every record
  read by assignment, decoded as the profile would (auto), its document built and judged; the matches
  printed, the coverage line on stderr (checked: it must say it scanned all 1,000,000);
- the bare loop: `consume(2000)` by assignment until 1,000,000 records, `json.loads` of each value and
  the same comparison, no output (the issue's baseline and the headline ratio).

Both use `fetch.queue.backoff.ms=10`. The runs take turns (RUNS rounds); the best of each is reported.
Target: mqtui at least 0.5x the bare loop. Memory: the peak RSS of `mqtui search` over the first
250,000 records (`--to 249999`) and over all 1,000,000 (the child's VmHWM), which must stay flat.
"""

from __future__ import annotations

import json
import random
import subprocess
import tempfile
import time
from pathlib import Path

from common import PYTHON, elapsed, figure, header, interleaved, local_brokers, mqtui_env, note, write_profile
from kafka_data import create_topics, fill_cycling, high_watermarks

TOTAL = 1_000_000
RUNS = 3
TOPIC = "bench-search"
WHERE = ".value.amount > 499.5"

BARE_LOOP = """
import json, sys
from confluent_kafka import Consumer, TopicPartition
url, topic, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
consumer = Consumer({"bootstrap.servers": url, "group.id": "bench-bare-search", "enable.auto.commit": False,
                     "log_level": 0, "fetch.queue.backoff.ms": 10})
consumer.assign([TopicPartition(topic, 0, 0)])
count = matched = 0
while count < total:
    for message in consumer.consume(2000, 1.0):
        if message.error() is None:
            count += 1
            if json.loads(message.value())["amount"] > 499.5:
                matched += 1
consumer.close()
print(count, matched)
"""


def orders() -> list[bytes]:
    """1,000 distinct JSON orders of about 200 bytes; one in 1,000 has an amount above 499.5."""
    rng = random.Random(15)
    values = []
    for n in range(1000):
        amount = 777.0 if n == 500 else round(rng.uniform(1, 499), 2)
        order = {"order_id": n, "customer": f"customer-{rng.randrange(10_000):05d}", "amount": amount,
                 "currency": rng.choice(["EUR", "USD", "GBP"]), "items": rng.randrange(1, 9),
                 "express": rng.random() < 0.2, "note": "leave it at the door, ring twice" * 2}  # fmt: skip
        values.append(json.dumps(order).encode())
    return values


def produce(url: str) -> int:
    values = orders()
    fill_cycling(url, TOPIC, values, TOTAL)
    return sum(len(v) for v in values) // len(values)


def main() -> None:
    header("search: mqtui search --where '.value.amount > 499.5' vs a bare confluent-kafka loop parsing JSON")
    with tempfile.TemporaryDirectory(prefix="mqtui-bench-") as scratch, local_brokers("kafka") as brokers:
        home = Path(scratch)
        kafka = brokers["kafka"]
        create_topics(kafka.url, [TOPIC])
        started = time.perf_counter()
        size = produce(kafka.url)
        note(f"produced {TOTAL:,} JSON orders of ~{size} B in {elapsed(started):.1f} s; "
             f"high watermark {high_watermarks(kafka.url, TOPIC)[0]:,}")  # fmt: skip
        config = write_profile(home / "config.toml", [kafka.broker_config()])
        env = mqtui_env(home)
        search = [PYTHON, "-m", "mqtui", "--config", str(config), "-p", "bench", "search", kafka.name, TOPIC,
                  "--where", WHERE, "--json"]  # fmt: skip
        peaks: dict[str, float] = {}

        def run_mqtui() -> float:
            seconds, lines, err, peak = run_measured(search, env)
            assert lines == TOTAL // 1000, f"mqtui found {lines:,} matches"
            assert f"scanned {TOTAL:,} of {TOTAL:,} messages" in err, err
            peaks["1M"] = max(peaks.get("1M", 0.0), peak)
            return seconds

        def run_bare() -> float:
            begun = time.perf_counter()
            done = subprocess.run([PYTHON, "-c", BARE_LOOP, kafka.url, TOPIC, str(TOTAL)],
                                  capture_output=True, text=True, check=True)  # fmt: skip
            seconds = elapsed(begun)
            assert done.stdout.split() == [str(TOTAL), str(TOTAL // 1000)], done.stdout
            return seconds

        _, _, err, peaks["250k"] = run_measured([*search, "--to", str(TOTAL // 4 - 1)], env)
        note(f"warm-up over the first 250,000: {err.strip()}")
        samples = interleaved(RUNS, mqtui=run_mqtui, bare=run_bare)
        rate = {name: TOTAL / min(times) for name, times in samples.items()}
        for name, times in samples.items():
            note(f"{name}: runs {', '.join(f'{t:.2f}' for t in times)} s")
        figure("search 1M JSON, field comparison", f"mqtui {rate['mqtui']:,.0f} msg/s",
               f"bare confluent-kafka + json.loads {rate['bare']:,.0f} msg/s", rate["mqtui"] / rate["bare"],
               ">=0.5x", rate["mqtui"] / rate["bare"] >= 0.5)  # fmt: skip
        note(
            f"peak RSS of mqtui search: {peaks['250k']:.0f} MB over 250,000 messages, "
            f"{peaks['1M']:.0f} MB over 1,000,000 (flat: {peaks['1M'] - peaks['250k']:+.0f} MB)"
        )


def run_measured(args: list[str], env: dict[str, str]) -> tuple[float, int, str, float]:
    """(seconds, stdout lines, stderr, peak RSS MB) of one process. The peak is the child's own VmHWM,
    read from /proc while it runs (wait4's ru_maxrss would count this script's memory, which a
    vfork-spawned child reports as its own)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(args, stdout=out, stderr=err, env=env)
        peak = 0.0
        while process.poll() is None:
            peak = max(peak, _high_water_mb(process.pid))
            time.sleep(0.02)
        seconds = elapsed(started)
        out.seek(0)
        err.seek(0)
        lines = out.read().count(b"\n")
        text = err.read().decode()
    if process.returncode != 0:
        raise RuntimeError(f"mqtui search failed: {text}")
    return seconds, lines, text, peak


def _high_water_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


if __name__ == "__main__":
    main()
