"""`publish --from-jsonl` against tansu: what `tail --json` wrote goes out again with the same keys,
value bytes (not UTF-8 included) and headers; a dry run and a readonly profile send nothing."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from mqtui.jsonl import message_from_record
from tests.helpers import run_mqtui, write_config
from tests.kafka.conftest import KafkaTools, Record
from tests.kafka.test_cli import mqtui

RECORDS = [
    Record(b'{"order": 1}', key=b"k1", headers=[("trace", b"abc")]),
    Record(b"\x00\xff\xfe not utf-8 \x1b[2J", key=b"\xff\x01", headers=[("bin", b"\x80\x81"), ("trace", b"t2")]),
    Record(b"no key, no headers"),
    Record(b"\x82\xa5order\x02\xa5total\xcb@)\x00\x00\x00\x00\x00\x00", key=b"mp"),  # MessagePack: tail decodes it
]


def tail_json(config: Path, topic: str) -> str:
    code, out, err, _ = mqtui(config, "tail", "test-kafka", topic, "--from", "beginning", "--end", "--json")
    assert code == 0, err
    return out


def sent(records: list[Any]) -> list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]:
    return [(m.key(), m.value(), m.headers() or []) for m in records]


def test_tail_json_published_again_keeps_keys_value_bytes_and_headers(
    cli_config: Path, kafka: KafkaTools, tmp_path: Path
) -> None:
    source, target = kafka.topic("rt-src"), kafka.topic("rt-dst")
    kafka.produce(source, RECORDS)
    dump = tmp_path / "dump.jsonl"
    dump.write_text(tail_json(cli_config, source))
    decoded = [json.loads(line) for line in dump.read_text().splitlines()]
    encodings = [line["value_encoding"] for line in decoded]
    assert encodings == ["utf-8", "base64", "utf-8", "json"]  # the MessagePack value is decoded
    assert decoded[3]["value_format"] == "msgpack" and "value_raw" in decoded[3]

    code, out, err, _ = mqtui(cli_config, "publish", "test-kafka", target, "--from-jsonl", str(dump), "--dry-run")
    assert code == 0, err
    assert out.splitlines()[0] == f"would send 4 message(s) to test-kafka/{target} (dry run: nothing sent)"
    assert kafka.read_all(target) == []

    code, out, err, _ = mqtui(cli_config, "publish", "test-kafka", target, "--from-jsonl", str(dump), "--rate", "10")
    assert code == 1 and "refused without --yes" in err and kafka.read_all(target) == []

    # --rate 10 sends one message per batch: tansu counts batches in its high watermark, and the second
    # tail below stops at the watermark (see test_tansu_deviations.py).
    args = ("publish", "test-kafka", target, "--from-jsonl", str(dump), "--rate", "10", "--yes")
    code, out, err, _ = mqtui(cli_config, *args)
    assert (code, out.strip()) == (0, "sent 4, failed 0"), err
    expected = [(r.key, r.value, r.headers) for r in RECORDS]
    assert sent(kafka.read_all(target)) == expected
    # And read back by mqtui itself: the second tail's lines decode to the same bytes.
    lines = [message_from_record(json.loads(line)) for line in tail_json(cli_config, target).splitlines()]
    assert [(m.key, m.value) for m in lines] == [(r.key, r.value) for r in RECORDS]


def test_dead_letter_lines_are_published_again(cli_config: Path, kafka: KafkaTools, tmp_path: Path) -> None:
    """`dlq show --json` wraps each message in a dead letter: its message is what is sent."""
    target = kafka.topic("rt-dlq")
    value = base64.b64encode(b"\xfe\xff").decode()
    letter = ('{"id": "0:1", "origin": "orders", "message": {"broker": "b", "destination": "orders.DLQ", '
              f'"key": "k", "value": "{value}", "value_encoding": "base64", "headers": {{"h": "v"}}}}}}\n')  # fmt: skip
    (tmp_path / "letters.jsonl").write_text(letter)
    code, _out, err, _ = mqtui(cli_config, "publish", "test-kafka", target, "--from-jsonl",
                               str(tmp_path / "letters.jsonl"), "--yes")  # fmt: skip
    assert code == 0, err
    assert sent(kafka.read_all(target)) == [(b"k", b"\xfe\xff", [("h", b"v")])]


def test_a_bad_line_is_named_and_nothing_is_sent(cli_config: Path, kafka: KafkaTools, tmp_path: Path) -> None:
    target = kafka.topic("rt-bad")
    dump = tmp_path / "dump.jsonl"
    for bad, reason in (('{"value": "x"', "not JSON"), ('{"key": "k"}', "no 'value'"), ("[1, 2]", "not a JSON object"),
                        ('{"value": 5}', "value must be a string"),
                        ('{"value": "%%%", "value_encoding": "base64"}', "invalid base64")):  # fmt: skip
        dump.write_text('{"value": "fine"}\n' + bad + "\n")
        code, _out, err, _ = mqtui(cli_config, "publish", "test-kafka", target, "--from-jsonl", str(dump), "--yes")
        assert code == 2, err
        assert len(err.strip().splitlines()) == 1 and f"{dump}: line 2: " in err and reason in err, err
    assert kafka.read_all(target) == []


def test_readonly_refuses_before_reading(kafka_server: Any, kafka: KafkaTools, tmp_path: Path) -> None:
    config = write_config(tmp_path / "ro.toml", {"k": {"readonly": True, "brokers": [kafka_server.broker_config()]}})
    target = kafka.topic("rt-ro")
    dump = tmp_path / "dump.jsonl"
    dump.write_text('{"value": "x"}\n')
    result = run_mqtui("--config", str(config), "-p", "k", "publish", "test-kafka", target, "--from-jsonl",
                       str(dump), "--yes", timeout=60)  # fmt: skip
    assert result.code == 3 and "readonly" in result.err
    assert kafka.read_all(target) == []
    dry = run_mqtui("--config", str(config), "-p", "k", "publish", "test-kafka", target, "--from-jsonl", str(dump),
                    "--dry-run", timeout=60)  # fmt: skip
    assert dry.code == 0 and "would send 1 message(s)" in dry.out
