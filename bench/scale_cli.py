"""The CLI at 10,000 destinations: `ls`, `lag` and `dlq ls --json` on a local Redis (issue 18).

A Redis started for the run holds 9,800 lists (1,000 of them dead-letter lists, named `...:dlq`) and 200
streams with a consumer group each: 10,000 destinations. Each command runs RUNS times as a fresh
`mqtui` process; the median wall time is reported against the same command on a Redis of 50 keys in
the same run, and against the target (under 2 s).
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

import redis
from common import PYTHON, figure, header, local_brokers, median, mqtui_env, note, write_profile

RUNS = 3
COMMANDS = (("ls", ["ls", "--json"]), ("lag", ["lag", "--json"]), ("dlq ls", ["dlq", "ls", "--json"]))


def fill(client: redis.Redis, keys: int, db: int) -> None:
    """`keys` destinations: a tenth of the lists are dead letters, one in fifty keys a stream with a group."""
    pipe = client.pipeline(transaction=False)
    streams = keys // 50
    for i in range(keys - streams):
        pipe.rpush(f"jobs:{i:05d}:dlq" if i % 10 == 0 else f"jobs:{i:05d}", "x", "y")
    for i in range(streams):
        pipe.xadd(f"events:{i:04d}", {"n": str(i)})
        pipe.xgroup_create(f"events:{i:04d}", "workers", id="0")
    pipe.execute()


def timed(config: Path, home: Path, args: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run([PYTHON, "-m", "mqtui", "--config", str(config), *args], env=mqtui_env(home),
                          capture_output=True, check=False)  # fmt: skip
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"mqtui {' '.join(args)} failed: {done.stderr.decode()[-2000:]}")
    return elapsed


def main() -> None:
    header("CLI at 10,000 destinations on a local Redis vs 50")
    with local_brokers("redis") as brokers, tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        broker = brokers["redis"]
        configs = {}
        for size, db in (("small", 1), ("large", 2)):
            entry = dict(broker.broker_config())
            entry["url"] = entry["url"].rsplit("/", 1)[0] + f"/{db}"
            entry["scan_limit"] = 20_000
            fill(redis.Redis.from_url(entry["url"]), 50 if size == "small" else 10_000, db)
            entry["name"] = "r"
            configs[size] = write_profile(home / f"{size}.toml", [entry])
        met = True
        for name, args in COMMANDS:
            small = median([timed(configs["small"], home, args) for _ in range(RUNS)])
            large = median([timed(configs["large"], home, args) for _ in range(RUNS)])
            ok = large < 2.0
            met &= ok
            figure(f"{name} --json at 10,000 destinations", f"{large:.2f} s", f"{small:.2f} s (50 keys)", large / small,
                   "< 2 s", ok)  # fmt: skip
        note("targets met" if met else "targets MISSED")


if __name__ == "__main__":
    main()
