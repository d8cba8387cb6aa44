"""`mqtui search` on Kafka (tansu): every partition read, a time range kept exactly, and the coverage
line on stderr after the matches."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from tests.helpers import run_mqtui
from tests.kafka.conftest import KafkaTools, Record
from tests.kafka.test_dlq import spring_headers
from tests.kafka.test_replay import replayed_copies

T0 = int(datetime(2026, 12, 6, 10, 0, tzinfo=UTC).timestamp() * 1000)
MINUTE = 60_000


def search(config: Path, *args: str) -> tuple[int, list[dict], list[str]]:
    result = run_mqtui("--config", str(config), "-p", "k", "search", "test-kafka", *args, "--json", timeout=60)
    lines = [json.loads(line) for line in result.out.splitlines() if line.strip()]
    return result.code, lines, result.err.splitlines()


def order(order_id: int, amount: int = 10) -> bytes:
    return json.dumps({"order_id": order_id, "amount": amount, "note": "x" * 40}).encode()


def test_a_match_in_every_partition_and_none_outside_the_time_range(cli_config: Path, kafka: KafkaTools) -> None:
    topic = kafka.topic("search", partitions=3)
    records = []
    for partition in range(3):
        records.append(Record(order(4711), partition=partition, timestamp=T0 - MINUTE))  # just before the range
        records += [Record(order(i), partition=partition, timestamp=T0 + i * 1000) for i in range(5)]
        records.append(Record(order(4711), key=b"k%d" % partition, partition=partition, timestamp=T0 + 6 * MINUTE))
        records.append(Record(order(4711), partition=partition, timestamp=T0 + 15 * MINUTE))  # the end is exclusive
    kafka.produce(topic, records)
    code, found, err = search(cli_config, topic, "--where", ".value.order_id == 4711",
                              "--from", "2026-12-06T10:00:00Z", "--to", "2026-12-06T10:15:00Z")  # fmt: skip
    assert code == 0, err
    assert sorted((m["partition"], m["key"]) for m in found) == [(0, "k0"), (1, "k1"), (2, "k2")]
    assert err == [
        f"mqtui: scanned 18 of 18 messages in {topic} 2026-12-06 10:00:00..10:15:00 across 3 partitions, 3 matched"
    ]


def test_found_by_key_header_and_words_and_the_whole_topic_counted(cli_config: Path, kafka: KafkaTools) -> None:
    topic = kafka.topic("search", partitions=2)
    kafka.produce(topic, [
        Record(order(1), key=b"customer-7", partition=0),
        Record(order(2), headers=[("trace", b"t-99")], partition=1),
        Record(b"refund failed for order 3", partition=1),
        Record(b"\xff\x00binary", partition=0),
    ])  # fmt: skip
    code, found, err = search(cli_config, topic, "--where", "key:customer-7")
    assert (code, [json.loads(m["value"])["order_id"] for m in found]) == (0, [1])
    assert err == [f"mqtui: scanned 4 of 4 messages in {topic} (everything it held) across 2 partitions, 1 matched"]
    code, found, _ = search(cli_config, topic, "--where", '.headers.trace == "t-99"')
    assert [m["position"] for m in found] == [0]
    code, found, _ = search(cli_config, topic, "--where", "REFUND order")
    assert [m["value"] for m in found] == ["refund failed for order 3"]
    code, found, err = search(cli_config, topic, "--where", '.value | contains("ff00")')
    assert [m["partition"] for m in found] == [0]  # binary is searched as hex


def test_errors_limit_bad_expression_and_missing_topic(cli_config: Path, kafka: KafkaTools) -> None:
    topic = kafka.topic("search")
    kafka.produce(topic, [order(1, 500), b"plain", order(2, 5000), b"more text", order(3, 7000)])
    code, found, err = search(cli_config, topic, "--where", ".value.amount + 1 > 1000")
    assert (code, [m["position"] for m in found]) == (0, [2, 4])
    assert err == [
        f"mqtui: scanned 5 of 5 messages in {topic} (everything it held), 2 matched",
        'mqtui: 2 messages could not be evaluated (Cannot index string with string ("amount"))',
    ]
    code, found, err = search(cli_config, topic, "--where", ".value.amount > 1000", "--limit", "1")
    assert (code, len(found)) == (0, 1)
    assert err == [f"mqtui: scanned 3 of 5 messages in {topic} (everything it held), 1 matched; "
                   "stopped at the limit of 1 match (2 not searched)",
                   'mqtui: 1 message could not be evaluated (Cannot index string with string ("amount"))']  # fmt: skip
    code, found, err = search(cli_config, topic, "--where", ".value.amount >")
    assert (code, found) == (2, [])
    assert err == ["mqtui: error: bad expression '.value.amount >': syntax error, unexpected end of file at column 15"]
    code, found, err = search(cli_config, "no-such-topic-here", "--where", "x")
    assert code == 2 and len(err) == 1 and "no-such-topic-here" in err[0], err


def test_dlq_replay_and_delete_where_act_only_on_the_letters_selected(cli_config: Path, kafka: KafkaTools) -> None:
    origin = kafka.topic("where-orders")
    dlq = kafka.create(f"{origin}.DLQ")
    kafka.produce(dlq, [
        Record(order(i, amount=100 * i), key=b"o%d" % i, headers=spring_headers(origin, 0, i)) for i in range(6)
    ])  # fmt: skip
    base = ("--config", str(cli_config), "-p", "k", "dlq")
    shown = run_mqtui(*base, "show", "test-kafka", dlq, "--where", ".value.amount >= 300", "--json")
    assert shown.code == 0, shown.err
    assert [line["id"] for line in shown.json_lines()] == ["0:3", "0:4", "0:5"]
    assert f"3 of 6 dead letters read in {dlq} match '.value.amount >= 300'" in shown.err
    bad = run_mqtui(*base, "replay", "test-kafka", dlq, "--where", ".value.amount >=", "--yes")
    assert (bad.code, bad.err.count("\n")) == (2, 1) and "at column 15" in bad.err
    replayed = run_mqtui(*base, "replay", "test-kafka", dlq, "--where", '.reason | test("bad total")', "--id", "0:1",
                         "--id", "0:4", "--yes", "--json")  # fmt: skip
    assert replayed.code == 0, replayed.err
    assert "2 of 6 dead letters read" in replayed.err and "  0:4  Listener failed" in replayed.err
    assert replayed.json_lines()[0]["sent"] == 2
    assert replayed_copies(kafka, origin) == {f"{dlq}/0/1": 1, f"{dlq}/0/4": 1}
    deleted = run_mqtui(*base, "delete", "test-kafka", dlq, "--where", "@small", "--yes")
    assert deleted.code == 2 and "no saved filter @small" in deleted.err  # refused before anything is read
