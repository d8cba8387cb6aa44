"""The CLI end to end against the real redis-server, including a requeue killed midway with SIGKILL."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
import redis

from tests.helpers import run_mqtui, write_config


@pytest.fixture
def cli_config(redis_url: str, tmp_path: Path) -> Path:
    return write_config(
        tmp_path / "c.toml",
        {"p": {"brokers": [{"name": "cache", "kind": "redis", "url": redis_url, "timeout": 3.0}]}},
    )


def mqtui(config: Path, *args: str):  # type: ignore[no-untyped-def]
    return run_mqtui("--config", str(config), "-p", "p", *args)


def _fill(raw: redis.Redis) -> list[bytes]:
    raw.lpush("jobs", "j0", "j1", "j2")
    raw.rpoplpush("jobs", "jobs:processing")
    ids = [raw.xadd("events", {"data": f"e{i}", "source": "cli"}) for i in range(6)]
    raw.xadd("events", {"data": b"\xff\xfebinary"})
    raw.xgroup_create("events", "billing", "0")
    raw.xreadgroup("billing", "w1", {"events": ">"}, count=4)
    raw.xack("events", "billing", ids[0])
    return ids


def test_ls_and_lag_as_json_lines(cli_config: Path, raw: redis.Redis) -> None:
    _fill(raw)
    listed = mqtui(cli_config, "ls", "--json")
    lag = mqtui(cli_config, "lag", "--json")
    assert listed.code == 0 and lag.code == 0, listed.err + lag.err
    destinations = {d["name"]: d for d in listed.json_lines()}
    assert set(destinations) == {"jobs", "events"}
    assert (destinations["jobs"]["kind"], destinations["jobs"]["depth"], destinations["jobs"]["in_flight"]) == (
        "list", 2, 1)  # fmt: skip
    assert (destinations["events"]["kind"], destinations["events"]["depth"]) == ("stream", 7)
    rows = {(r["destination"], r["group"]): r for r in lag.json_lines()}
    assert set(rows) == {("jobs", "(list)"), ("events", "billing")}
    billing = rows["events", "billing"]
    assert (billing["broker"], billing["partition"], billing["lag"], billing["in_flight"]) == ("cache", None, 3, 3)
    assert rows["jobs", "(list)"]["lag"] == 2
    human = mqtui(cli_config, "lag")
    assert human.code == 0 and "billing" in human.out and "(list)" in human.out


def test_tail_json_lines_from_the_beginning(cli_config: Path, raw: redis.Redis) -> None:
    ids = _fill(raw)
    result = mqtui(cli_config, "tail", "cache", "events", "--from", "beginning", "--end", "--json")
    assert result.code == 0, result.err
    lines = result.json_lines()
    assert [line["position"] for line in lines[:6]] == [i.decode() for i in ids]
    first = lines[0]
    assert (first["broker"], first["destination"], first["partition"], first["value"]) == (
        "cache",
        "events",
        None,
        "e0",
    )
    assert first["headers"] == {"source": "cli"} and first["value_encoding"] == "utf-8"
    assert first["timestamp"].endswith("Z") and first["key"] is None
    assert (lines[6]["value_encoding"], base64.b64decode(lines[6]["value"])) == ("base64", b"\xff\xfebinary")
    limited = mqtui(cli_config, "tail", "cache", "jobs", "--from", "beginning", "--limit", "1", "--json")
    assert [line["value"] for line in limited.json_lines()] == ["j1"]
    assert raw.xinfo_groups("events")[0]["entries-read"] == 4  # nobody consumed anything


def test_publish_and_purge(cli_config: Path, raw: redis.Redis) -> None:
    sent = mqtui(cli_config, "publish", "cache", "jobs", "--value", "m{{seq}}", "--count", "5", "--yes", "--json")
    assert sent.code == 0, sent.err
    assert sent.json_lines()[0]["sent"] == 5 and sent.json_lines()[0]["positions"] == [0, 1, 2, 3, 4]
    assert list(reversed(raw.lrange("jobs", 0, -1))) == [f"m{i}".encode() for i in range(1, 6)]
    entry = mqtui(cli_config, "publish", "cache", "audit", "--value", "v", "--key", "k", "--header", "h=1",
                  "--prop", "type=stream", "--yes")  # fmt: skip
    assert entry.code == 0 and "sent 1" in entry.out
    assert raw.xrange("audit")[0][1] == {b"data": b"v", b"key": b"k", b"h": b"1"}
    refused = mqtui(cli_config, "publish", "cache", "jobs", "--value", "x", "--header", "h=1", "--yes")
    assert refused.code == 2 and "--prop type=stream" in refused.err
    purged = mqtui(cli_config, "purge", "cache", "jobs", "--yes")
    assert purged.code == 0 and "purged 5 message(s)" in purged.out
    assert raw.exists("jobs") == 0


def test_dlq_ls_show_and_replay(cli_config: Path, raw: redis.Redis) -> None:
    letters = [orjson.dumps({"id": f"m{i}", "type": "t", "payload": i, "error": "bad"}) for i in range(4)]
    raw.lpush("jobs:dlq", *letters)
    listed = mqtui(cli_config, "dlq", "ls", "--json")
    assert [(q["name"], q["origin"], q["count"]) for q in listed.json_lines()] == [("jobs:dlq", "jobs", 4)]
    shown = mqtui(cli_config, "dlq", "show", "cache", "jobs:dlq", "--limit", "2", "--json")
    # JSON values are shown decoded; their exact bytes are in value_raw
    assert [(d["id"], d["reason"], d["message"]["value"]) for d in shown.json_lines()] == [
        ("m0", "bad", orjson.loads(letters[0])), ("m1", "bad", orjson.loads(letters[1])),
    ]  # fmt: skip
    assert [base64.b64decode(d["message"]["value_raw"]) for d in shown.json_lines()] == letters[:2]
    dry = mqtui(cli_config, "dlq", "replay", "cache", "jobs:dlq", "--dry-run")
    assert dry.code == 0 and "would requeue 4 of 4 dead letter(s): 4 to jobs" in dry.out
    assert raw.llen("jobs:dlq") == 4
    one = mqtui(cli_config, "dlq", "replay", "cache", "jobs:dlq", "--id", "m2", "--yes", "--json")
    assert one.json_lines()[0]["sent"] == 1 and raw.lrange("jobs", 0, -1) == [letters[2]]
    rest = mqtui(cli_config, "dlq", "replay", "cache", "jobs:dlq", "--yes", "--json")
    assert rest.code == 0 and rest.json_lines()[0] == {"sent": 3, "failed": 0, "skipped": 0, "duplicates": 0,
                                                      "errors": []}  # fmt: skip
    assert raw.llen("jobs") == 4 and raw.exists("jobs:dlq") == 0


def _replay_killed_midway(config: Path, dlq: str, progress) -> None:  # type: ignore[no-untyped-def]
    """Start `mqtui dlq replay`, SIGKILL it once `progress()` says it has moved some but not all."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mqtui", "--config", str(config), "-p", "p", "dlq", "replay", "cache", dlq, "--yes"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy(),
    )  # fmt: skip
    deadline = time.monotonic() + 60
    try:
        while progress() == 0 and process.poll() is None and time.monotonic() < deadline:
            pass
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL, process.stderr.read() if process.stderr else ""


def test_list_requeue_killed_midway_loses_and_doubles_nothing(cli_config: Path, raw: redis.Redis) -> None:
    total = 5000
    originals = [orjson.dumps({"id": f"m{i}", "type": "t", "payload": "x" * 100}) for i in range(total)]
    for start in range(0, total, 1000):
        raw.lpush("jobs:dlq", *originals[start : start + 1000])
    _replay_killed_midway(cli_config, "jobs:dlq", lambda: raw.llen("jobs"))
    moved, left = raw.llen("jobs"), raw.llen("jobs:dlq")
    assert 0 < moved < total and moved + left == total
    assert sorted(raw.lrange("jobs", 0, -1) + raw.lrange("jobs:dlq", 0, -1)) == sorted(originals)
    again = mqtui(cli_config, "dlq", "replay", "cache", "jobs:dlq", "--yes", "--json")
    assert again.json_lines()[0]["sent"] == left
    assert list(reversed(raw.lrange("jobs", 0, -1))) == originals  # every one, once, oldest first
    assert raw.exists("jobs:dlq") == 0


def test_stream_requeue_killed_midway_loses_and_doubles_nothing(cli_config: Path, raw: redis.Redis) -> None:
    total = 3000
    pipe = raw.pipeline(transaction=False)
    for index in range(total):
        pipe.xadd("events", {"data": f"e{index}"})
    ids = pipe.execute()
    raw.xgroup_create("events", "g", "0")
    raw.xreadgroup("g", "worker", {"events": ">"}, count=total)
    for start in range(0, total, 500):
        raw.xclaim("events", "g", "worker", 0, ids[start : start + 500], retrycount=5)
    originals = sorted(f"e{i}".encode() for i in range(total))

    def pending() -> int:
        return int(raw.xpending("events", "g")["pending"])

    _replay_killed_midway(cli_config, "events@g", lambda: total - pending())
    values = [fields[b"data"] for _, fields in raw.xrange("events")]
    copies = len(raw.xrange("events", f"({ids[-1].decode()}", "+"))
    assert 0 < copies < total and copies + pending() == total
    assert raw.xlen("events") == total and sorted(values) == originals
    again = mqtui(cli_config, "dlq", "replay", "cache", "events@g", "--yes", "--json")
    assert again.json_lines()[0]["sent"] == total - copies
    assert pending() == 0 and raw.xinfo_groups("events")[0]["lag"] == total
    assert sorted(fields[b"data"] for _, fields in raw.xrange("events")) == originals
    assert raw.xrange("events", "-", ids[-1]) == []  # every original replaced by its single copy


def test_peek_reads_a_list_and_a_stream_in_a_readonly_profile_without_yes(
    redis_url: str, tmp_path: Path, raw: redis.Redis
) -> None:
    """LRANGE and XRANGE change nothing, so a Redis peek is no write action: no question, no refusal."""
    config = write_config(tmp_path / "ro.toml", {"ro": {"readonly": True, "brokers": [
        {"name": "cache", "kind": "redis", "url": redis_url, "timeout": 3.0}]}})  # fmt: skip
    raw.lpush("jobs", *[f"j{i}" for i in range(5)])  # j0 is the oldest, next to be consumed
    ids = [raw.xadd("events", {"data": f"e{i}"}) for i in range(3)]
    raw.xgroup_create("events", "g", "0")
    before = (raw.lrange("jobs", 0, -1), raw.xinfo_groups("events"))
    peeked = run_mqtui("--config", str(config), "-p", "ro", "peek", "cache", "jobs", "--json")
    limited = run_mqtui("--config", str(config), "-p", "ro", "peek", "cache", "events", "--limit", "2", "--json")
    assert peeked.code == 0 and peeked.err == "", peeked
    assert [(m["position"], m["value"]) for m in peeked.json_lines()] == [(i, f"j{i}") for i in range(5)]
    assert [(m["position"], m["value"]) for m in limited.json_lines()] == [(ids[i].decode(), f"e{i}") for i in (0, 1)]
    assert (raw.lrange("jobs", 0, -1), raw.xinfo_groups("events")) == before
