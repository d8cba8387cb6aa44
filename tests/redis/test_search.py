"""`mqtui search` on Redis: a stream by id range (ids are times), a list by index, trimmed entries named,
and the coverage line on stderr after the matches."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from tests.helpers import run_mqtui, write_config

T0 = int(datetime(2026, 12, 6, 10, 0, tzinfo=UTC).timestamp() * 1000)


@pytest.fixture
def cli_config(redis_url: str, tmp_path: Path) -> Path:
    return write_config(tmp_path / "c.toml", {"p": {
        "brokers": [{"name": "cache", "kind": "redis", "url": redis_url, "timeout": 3.0}],
        "filters": {"vip": 'key:vip'},
    }})  # fmt: skip


def search(config: Path, *args: str) -> tuple[int, list[dict], list[str]]:
    result = run_mqtui("--config", str(config), "-p", "p", "search", "cache", *args, "--json", timeout=60)
    lines = [json.loads(line) for line in result.out.splitlines() if line.strip()]
    return result.code, lines, result.err.splitlines()


def test_a_stream_by_time_range_field_key_and_header(cli_config: Path, raw: redis.Redis) -> None:
    for second in range(-2, 20):
        order = 4711 if second in (-1, 3, 15) else second
        fields = {"data": json.dumps({"order_id": order}), "key": "vip" if second == 4 else "k", "trace": f"t{second}"}
        raw.xadd("orders", fields, id=f"{T0 + second * 60_000}-0")  # type: ignore[arg-type]
    code, found, err = search(cli_config, "orders", "--where", ".value.order_id == 4711",
                              "--from", "2026-12-06T10:00:00Z", "--to", "2026-12-06T10:15:00Z")  # fmt: skip
    assert code == 0, err
    assert [m["position"] for m in found] == [f"{T0 + 3 * 60_000}-0"]
    assert err == ["mqtui: scanned 15 of 15 messages in orders 2026-12-06 10:00:00..10:15:00, 1 matched"]
    code, found, err = search(cli_config, "orders", "--where", "@vip")
    assert [m["key"] for m in found] == ["vip"]
    assert err == ["mqtui: scanned 22 of 22 messages in orders (everything it held), 1 matched"]
    code, found, err = search(cli_config, "orders", "--where", '.headers.trace == "t7"')
    assert [m["headers"]["trace"] for m in found] == ["t7"]


def test_a_trimmed_stream_says_what_it_no_longer_holds(cli_config: Path, raw: redis.Redis) -> None:
    for n in range(1, 11):
        raw.xadd("events", {"data": f"event {n}"}, id=f"{n}-0")  # type: ignore[arg-type]
    raw.xtrim("events", maxlen=6, approximate=False)
    code, found, err = search(cli_config, "events", "--where", "event", "--from", "2-0", "--to", "8-0")
    assert (code, len(found)) == (0, 4)
    assert err == [
        "mqtui: scanned 4 of 4 messages in events from position 2-0 to position 8-0, 4 matched",
        "mqtui: not in the broker any more: entries before 5-0 (4 trimmed or deleted from the stream)",
    ]


def test_a_list_by_index_and_a_missing_key(cli_config: Path, raw: redis.Redis) -> None:
    raw.lpush("jobs", *[json.dumps({"n": n, "amount": n * 100}) for n in range(10)])  # next to consume: n=0
    code, found, err = search(cli_config, "jobs", "--where", ".value.amount >= 300", "--from", "2", "--to", "5")
    assert (code, [(m["position"], json.loads(m["value"])["n"]) for m in found]) == (0, [(3, 3), (4, 4), (5, 5)])
    assert err == ["mqtui: scanned 4 of 4 messages in jobs from position 2 to position 5, 3 matched"]
    code, _, err = search(cli_config, "jobs", "--where", "x", "--from", "2026-12-06T10:00:00Z")
    assert code == 2 and err == [
        "mqtui: error: cache: a Redis list has no times or ids; search jobs by index (--from 0 --to 99)"
    ]
    code, _, err = search(cli_config, "gone", "--where", "x")
    assert (code, err) == (2, ["mqtui: error: cannot search gone: cache: no key 'gone'"])


def test_dlq_delete_where_removes_only_what_it_matched(cli_config: Path, raw: redis.Redis, tmp_path: Path) -> None:
    letters = [json.dumps({"id": f"m{i}", "type": "t", "payload": {"amount": i * 100}, "error": "bad" if i % 2 else "timeout"})
               for i in range(5)]  # fmt: skip
    raw.lpush("jobs:dlq", *letters)
    base = ("--config", str(cli_config), "-p", "p", "dlq")
    deleted = run_mqtui(*base, "delete", "cache", "jobs:dlq", "--where", '.reason == "timeout"', "--yes")
    assert deleted.code == 0, deleted.err
    assert "3 of 5 dead letters read in jobs:dlq match '.reason == \"timeout\"'" in deleted.err
    assert "deleted 3 dead letter(s)" in deleted.out
    assert sorted(json.loads(v)["id"] for v in raw.lrange("jobs:dlq", 0, -1)) == ["m1", "m3"]
    neither = run_mqtui(*base, "delete", "cache", "jobs:dlq", "--yes")
    assert (neither.code, neither.err.strip()) == (
        2, "mqtui: error: dlq delete: give the dead letters as --id ID (repeated) or --where EXPR")  # fmt: skip
    bad = write_config(tmp_path / "bad.toml", {"p": {"brokers": [{"name": "cache", "kind": "redis", "url": "redis://x"}],
                                                     "filters": {"no good": "x"}}})  # fmt: skip
    refused = run_mqtui("--config", str(bad), "-p", "p", "search", "cache", "jobs", "--where", "x")
    assert refused.code == 2 and refused.err.count("\n") == 1 and "'no good' is not a filter name" in refused.err


def test_a_pub_sub_channel_is_said_to_hold_nothing_to_search(cli_config: Path, raw: redis.Redis) -> None:
    """A channel has no key: the search said "no key 'notifications'" for a channel the console lists."""
    listener = raw.pubsub()
    listener.subscribe("notifications")
    try:
        assert listener.get_message(timeout=2)["type"] == "subscribe"
        code, found, err = search(cli_config, "notifications", "--where", "true")
    finally:
        listener.close()
    assert (code, found) == (2, [])
    assert err == [
        "mqtui: error: cache: notifications is a pub/sub channel, which holds no messages to search; tail it instead"
    ]
