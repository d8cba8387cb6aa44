"""The CLI end to end against tansu: ls, describe, lag, group, tail, publish, reset-offsets, dlq."""

from __future__ import annotations

import base64
from pathlib import Path

from mqtui.brokers.kafka.replay import REPLAYED_FROM
from tests.helpers import run_mqtui, write_config
from tests.kafka.conftest import KafkaTools, Record, unique
from tests.kafka.test_dlq import spring_headers
from tests.kafka.test_replay import replayed_copies


def mqtui(config: Path, *args: str) -> tuple[int, str, str, list[dict]]:
    result = run_mqtui("--config", str(config), "-p", "k", *args, timeout=60)
    lines = result.json_lines() if "--json" in args and result.code == 0 else []
    return result.code, result.out, result.err, lines


def test_ls_and_describe(cli_config: Path, kafka: KafkaTools) -> None:
    topic = kafka.topic("cli-ls", partitions=2)
    kafka.produce(topic, [Record(b"a", partition=0), Record(b"b", partition=1), Record(b"c", partition=1)])
    dlq = kafka.create(f"{topic}.DLQ")
    code, _out, err, lines = mqtui(cli_config, "ls", "--json")
    assert code == 0, err
    rows = {line["name"]: line for line in lines}
    assert (rows[topic]["broker"], rows[topic]["kind"], rows[topic]["depth"], rows[topic]["partitions"]) == (
        "test-kafka", "topic", 3, 2,
    )  # fmt: skip
    assert rows[dlq]["is_dlq"] is True and rows[topic]["is_dlq"] is False
    code, out, err, _ = mqtui(cli_config, "ls")
    assert code == 0 and "REPL" in out.splitlines()[0]
    [topic_row] = [line.split() for line in out.splitlines() if f" {topic} " in line]
    assert topic_row[1:] == [topic, "topic", "3", "-", "-", "2", "1", "-", "-"]  # tansu keeps one replica
    [dlq_row] = [line.split() for line in out.splitlines() if f" {dlq} " in line]
    assert dlq_row[-1] == "DLQ"
    code, _out, err, [detail] = mqtui(cli_config, "describe", "test-kafka", topic, "--json")
    assert code == 0, err
    assert detail["summary"]["messages"] == "3"
    assert detail["sections"][0]["rows"] == [
        ["0", "0", "1", "1", "111", "111", "111"],
        ["1", "0", "2", "2", "111", "111", "111"],
    ]


def test_lag_and_group(cli_config: Path, kafka: KafkaTools) -> None:
    topic = kafka.topic("cli-lag", partitions=2)
    kafka.produce(topic, [Record(b"%d" % i, partition=i % 2) for i in range(8)])
    group = unique("cli-group")
    kafka.consume_and_commit(group, topic, 0, 3)
    code, _out, err, lines = mqtui(cli_config, "lag", "--group", group, "--json")
    assert code == 0, err
    assert [
        (r["broker"], r["destination"], r["group"], r["partition"], r["committed"], r["end"], r["lag"]) for r in lines
    ] == [
        ("test-kafka", topic, group, 1, None, 4, 4),
        ("test-kafka", topic, group, 0, 3, 4, 1),
    ]  # fmt: skip  (worst first)
    code, out, err, _ = mqtui(cli_config, "group", "test-kafka", group)
    assert code == 0, err
    assert "state" in out and "empty" in out and topic in out


def test_tail_json_lines(cli_config: Path, kafka: KafkaTools) -> None:
    topic = kafka.topic("cli-tail", partitions=2)
    kafka.produce(topic, [
        Record(b'{"n": 1}', key=b"k1", partition=0, headers=[("h", b"1"), ("h", b"2")], timestamp=1_900_000_000_123),
        Record(b"\xff\x00binary", key=None, partition=1, headers=[("empty", None)]),
        Record(b"third", key=b"k3", partition=0),
    ])  # fmt: skip
    code, _out, err, lines = mqtui(cli_config, "tail", "test-kafka", topic, "--from", "beginning", "--end", "--json")
    assert code == 0, err
    by_place = {(line["partition"], line["position"]): line for line in lines}
    assert sorted(by_place) == [(0, 0), (0, 1), (1, 0)]
    first = by_place[(0, 0)]
    assert first == first | {
        "broker": "test-kafka", "destination": topic, "partition": 0, "position": 0,
        "timestamp": "2030-03-17T17:46:40.123000Z", "key": "k1", "value": '{"n": 1}', "value_encoding": "utf-8",
        "headers": {"h": ["1", "2"]},
    }  # fmt: skip
    binary = by_place[(1, 0)]
    assert (binary["key"], binary["value_encoding"], base64.b64decode(binary["value"])) == (
        None,
        "base64",
        b"\xff\x00binary",
    )
    assert binary["headers"] == {"empty": None}
    code, _out, err, lines = mqtui(cli_config, "tail", "test-kafka", topic, "--from", "1", "--end", "--json")
    assert [(line["partition"], line["position"], line["value"]) for line in lines] == [(0, 1, "third")]
    code, _out, err, lines = mqtui(
        cli_config, "tail", "test-kafka", topic, "--from", "beginning", "--limit", "2", "--json"
    )
    assert code == 0 and len(lines) == 2


def test_publish(cli_config: Path, kafka: KafkaTools) -> None:
    topic = kafka.topic("cli-pub")
    code, _out, err, [result] = mqtui(cli_config, "publish", "test-kafka", topic, "--value", "order {{seq}}",
                                      "--key", "k{{seq}}", "--header", "source=cli", "--count", "3", "--yes", "--json")  # fmt: skip
    assert code == 0, err
    assert (result["sent"], result["failed"], result["positions"]) == (3, [], ["0:0", "0:1", "0:2"])
    assert [(m.key(), m.value(), m.headers()) for m in kafka.read_all(topic)] == [
        (b"k%d" % i, b"order %d" % i, [("source", b"cli")]) for i in (1, 2, 3)
    ]
    code, _out, err, _ = mqtui(cli_config, "publish", "test-kafka", topic, "--value", "x")
    assert code == 1 and "refused without --yes" in err
    code, _out, err, _ = mqtui(cli_config, "publish", "test-kafka", unique("nope"), "--value", "x", "--yes")
    assert code == 1 and err.startswith("mqtui: error: test-kafka: no topic") and len(err.strip().splitlines()) == 1


def largest_value_with_a_one_byte_key() -> int:
    """The longest value librdkafka's producer accepts next to a 1-byte key (its message.max.bytes,
    1,000,000 by default, less its per-record overhead), found by asking it: produce() refuses a
    message over the limit at once, without any broker."""
    from confluent_kafka import KafkaException, Producer

    producer = Producer({"bootstrap.servers": "127.0.0.1:1", "log_level": 0})
    low, high = 0, 1_000_000
    while low < high:
        middle = (low + high + 1) // 2
        try:
            producer.produce("probe", b"x" * middle, key=b"1")
            low = middle
        except KafkaException:
            high = middle - 1
    producer.purge()
    return low


def test_publish_reports_the_one_message_that_failed(cli_config: Path, kafka: KafkaTools, tmp_path: Path) -> None:
    """Ten messages with keys 1..10 and a value just small enough for a 1-byte key: the tenth (key
    "10") is one byte over the producer's limit and fails alone; the other nine are delivered."""
    topic = kafka.topic("cli-pub-bad")
    body = tmp_path / "body"
    body.write_bytes(b"v" * largest_value_with_a_one_byte_key())
    args = ("publish", "test-kafka", topic, "--file", str(body), "--key", "{{seq}}", "--count", "10", "--yes")
    code, out, err, _ = mqtui(cli_config, *args)
    assert (code, out.strip()) == (1, "sent 9, failed 1")
    assert err.strip().splitlines() == ["mqtui: message 10: Unable to produce message: Broker: Message size too large"]
    as_json = run_mqtui("--config", str(cli_config), "-p", "k", *args, "--json", timeout=60)
    assert as_json.code == 1
    [result] = as_json.json_lines()
    assert (result["sent"], result["failed"]) == (
        9, [{"index": 9, "error": "Unable to produce message: Broker: Message size too large"}],
    )  # fmt: skip
    assert [m.key() for m in kafka.read_all(topic)] == [b"%d" % i for i in range(1, 10)] * 2  # two runs


def test_dlq_ls_show_and_replay(cli_config: Path, kafka: KafkaTools) -> None:
    origin = kafka.topic("cli-orders", partitions=3)
    dlq = kafka.create(f"{origin}.DLQ")
    kafka.produce(
        dlq, [Record(b"o%d" % i, key=b"o%d" % i, headers=spring_headers(origin, i, 10 + i)) for i in range(3)]
    )
    code, _out, err, lines = mqtui(cli_config, "dlq", "ls", "--json")
    assert code == 0, err
    [row] = [line for line in lines if line["name"] == dlq]
    assert (row["origin"], row["count"], row["detected_by"]) == (origin, 3, "naming rule")
    code, _out, err, lines = mqtui(cli_config, "dlq", "show", "test-kafka", dlq, "--json")
    assert code == 0, err
    assert [(d["id"], d["origin"], d["origin_partition"], d["origin_position"]) for d in lines] == [
        ("0:0", origin, 0, 10), ("0:1", origin, 1, 11), ("0:2", origin, 2, 12),
    ]  # fmt: skip
    assert lines[0]["reason"].startswith("Listener failed") and lines[0]["message"]["value"] == "o0"
    code, _out, err, lines = mqtui(cli_config, "dlq", "replay", "test-kafka", dlq, "--dry-run", "--json")
    assert code == 0, err
    assert [(i["id"], i["target"], i["skip_reason"]) for i in lines] == [(f"0:{n}", origin, None) for n in range(3)]
    code, _out, err, [result] = mqtui(cli_config, "dlq", "replay", "test-kafka", dlq, "--yes", "--json")
    assert code == 0, err
    assert (result["sent"], result["failed"], result["skipped"], result["duplicates"]) == (3, 0, 0, 0)
    code, out, err, _ = mqtui(cli_config, "dlq", "replay", "test-kafka", dlq, "--yes")
    assert code == 0 and f"nothing to replay in {dlq}" in out
    assert replayed_copies(kafka, origin, 3) == {f"{dlq}/0/{n}": 1 for n in range(3)}
    assert {REPLAYED_FROM} <= {name for m in kafka.read_all(origin, 3) for name, _ in m.headers()}
    code, _out, err, _ = mqtui(cli_config, "dlq", "move", "test-kafka", dlq, "--to", origin, "--yes")
    assert (code, err.strip()) == (2, "mqtui: error: test-kafka: kafka cannot move a whole queue; use dlq replay")


def test_reset_offsets(cli_config: Path, kafka: KafkaTools) -> None:
    topic = kafka.topic("cli-reset")
    kafka.produce(topic, [b"a", b"b", b"c", b"d"])
    group = unique("cli-reset")
    kafka.commit(group, topic, {0: 4})
    code, _out, err, lines = mqtui(cli_config, "reset-offsets", "test-kafka", group, "--to", "1", "--yes", "--json")
    assert code == 0, err
    assert [(r["destination"], r["partition"], r["committed"], r["lag"]) for r in lines] == [(topic, 0, 1, 3)]
    assert kafka.committed(group, topic, 1) == {0: 1}


def test_unreachable_kafka_is_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = write_config(tmp_path / "c.toml", {"k": {"brokers": [
        {"name": "gone", "kind": "kafka", "url": f"127.0.0.1:{port}", "timeout": 1.0}]}})  # fmt: skip
    for args in (("ls",), ("tail", "gone", "orders"), ("dlq", "ls")):
        result = run_mqtui("--config", str(config), "-p", "k", *args, timeout=30)
        assert result.code == 1, result
        assert "Traceback" not in result.err
        [line] = result.err.strip().splitlines()
        assert "gone: cannot reach 127.0.0.1:" in line
