"""The hostile corpus published through every real broker, then read back with the CLI.

Each test publishes every corpus entry as a value, as a key and as a header value, and again as a
header name, through mqtui's own adapter; then `mqtui tail` (or `peek`) and `mqtui dlq show`, human and
`--json`, must print nothing a terminal would act on, keep markup literal, and give back every byte in
JSON. Dead letters with forged metadata (origin, reason) full of escapes check the replay preview and
its error lines too. Where a broker refuses an entry (NATS header rules, size limits), the refusal
must be a clean per-message failure, and the test counts exactly which ones.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pika
import pytest
import redis

from mqtui import jsonl
from mqtui.demo.localbrokers import LocalKafka, LocalNats, LocalRabbitMQ, LocalRedis
from mqtui.model import Message, OutgoingMessage
from tests.helpers import CliResult, write_config
from tests.trust.corpus import BEL, ESC, deeply_nested_json, huge_value, many_headers
from tests.trust.support import (
    MARKUP,
    PAYLOADS,
    assert_terminal_safe,
    broker_config,
    cli,
    header_name,
    publish,
)

#: Database 8 of the shared Redis belongs to the trust tests.
TRUST_DB = 8
#: Metadata a producer forged into a dead letter: a title change, a screen clear, markup, a bidi override.
FORGED = f"{ESC}]0;pwned{BEL}{ESC}[2J[bold red]x[/]\u202e"
HUGE = 10 * 1024 * 1024
N = len(PAYLOADS)  # 58 entries


def corpus_messages(*, keys: bool = True, header_names: bool = True) -> list[OutgoingMessage]:
    """Every payload as value, key and header value; then every payload as a header name."""
    messages = [
        OutgoingMessage(value=payload, key=(payload[:100] or b"-") if keys else None, headers=(("x-evil", payload),))
        for payload in PAYLOADS.values()
    ]
    if header_names:
        messages += [
            OutgoingMessage(value=b"named " + name.encode(), headers=((header_name(payload), b"v"),))
            for name, payload in PAYLOADS.items()
        ]
    return messages


def big_messages() -> list[OutgoingMessage]:
    return [
        OutgoingMessage(value=huge_value(HUGE)),
        OutgoingMessage(value=b"many headers", headers=many_headers(10_000)),
        OutgoingMessage(value=deeply_nested_json(10_000)),
    ]


def read_back(result: CliResult) -> list[Message]:
    assert result.code == 0, result.err
    assert_terminal_safe(result)
    return [jsonl.message_from_record(line) for line in result.json_lines()]


def assert_same(
    sent: Sequence[OutgoingMessage], read: Sequence[Message], *, keys: bool = True, nul_ends_names: bool = False
) -> None:
    """Every value, key and header came back byte for byte, in order.

    `nul_ends_names`: librdkafka keeps header names as C strings, so a Kafka header name ends at its
    first NUL (the value is kept whole).
    """
    assert len(read) == len(sent)
    for index, (out, got) in enumerate(zip(sent, read, strict=True)):
        assert got.value == out.value, index
        if keys:
            assert got.key == out.key, index
        for name, value in out.headers:
            expected_name = name.split("\x00")[0] if nul_ends_names else name
            assert got.header(expected_name) == value, (index, name)


def assert_human(result: CliResult, rows: int) -> str:
    """Human output: one line per message (plus a header row for tables), literal markup, nothing unsafe."""
    assert result.code == 0, result.err
    assert_terminal_safe(result)
    assert len(result.out.splitlines()) == rows
    return result.out


# -- Redis -----------------------------------------------------------------------------------------
@pytest.fixture
def redis_setup(tmp_path: Path, redis_server: LocalRedis) -> Iterator[tuple[Path, dict[str, str]]]:
    entry = {"name": "r", "kind": "redis", "url": f"redis://127.0.0.1:{redis_server.port}/{TRUST_DB}"}
    client = redis.Redis.from_url(entry["url"])
    client.flushdb()
    yield write_config(tmp_path / "c.toml", {"p": {"brokers": [entry]}}), entry
    client.flushdb()
    client.close()


def test_redis_stream_and_list_dlq(redis_setup: tuple[Path, dict[str, str]]) -> None:
    config_path, entry = redis_setup
    config = broker_config(entry)
    sent = corpus_messages() + big_messages()
    assert publish(config, "hostile", sent, type="stream").sent == len(sent) == 2 * N + 3
    dead = [OutgoingMessage(value=payload) for payload in PAYLOADS.values()]
    assert publish(config, "hostile:dlq", dead, type="list").sent == N

    tail = read_back(cli(config_path, "tail", "r", "hostile", "--from", "beginning", "--end", "--json"))
    assert_same(sent, tail)
    assert len(tail[-3].value) == HUGE and len(tail[-2].headers) == 10_000
    human = assert_human(cli(config_path, "tail", "r", "hostile", "--from", "beginning", "--end"), 2 * N + 3)
    assert all(markup in human for markup in MARKUP)

    letters = cli(config_path, "dlq", "show", "r", "hostile:dlq", "--json")
    assert_same(dead, read_back_letters(letters), keys=False)
    assert all(markup in assert_human(cli(config_path, "dlq", "show", "r", "hostile:dlq"), N + 1) for markup in MARKUP)
    preview = cli(config_path, "dlq", "replay", "r", "hostile:dlq", "--dry-run")
    assert_human(preview, N + 1)
    assert preview.out.startswith(f"would requeue {N} of {N} dead letter(s): {N} to hostile\n")


def read_back_letters(result: CliResult) -> list[Message]:
    assert result.code == 0, result.err
    assert_terminal_safe(result)
    return [jsonl.message_from_record(line["message"]) for line in result.json_lines()]


# -- Kafka -----------------------------------------------------------------------------------------
def test_kafka_topic_and_forged_spring_dlq(tmp_path: Path, kafka_server: LocalKafka) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    topic = f"hostile-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": kafka_server.url, "log_level": 0})
    for future in admin.create_topics([NewTopic(topic, 1, 1), NewTopic(f"{topic}.DLQ", 1, 1)]).values():
        future.result(10)
    entry = {"name": "k", "kind": "kafka", "url": kafka_server.url, "timeout": 10.0}
    config_path = write_config(tmp_path / "c.toml", {"p": {"brokers": [entry]}})
    config = broker_config(entry)
    sent = corpus_messages()
    assert publish(config, topic, sent).sent == 2 * N
    huge, headers, nested = big_messages()
    refused = publish(config, topic, [huge])
    assert refused.sent == 0 and len(refused.failed) == 1  # tansu's message size limit, one clean failure
    assert "too large" in refused.failed[0][1]
    assert publish(config, topic, [headers, nested]).sent == 2
    sent += [headers, nested]

    tail = read_back(cli(config_path, "tail", "k", topic, "--from", "beginning", "--end", "--json"))
    assert_same(sent, tail, nul_ends_names=True)
    assert len(tail[-2].headers) == 10_000
    human = assert_human(cli(config_path, "tail", "k", topic, "--from", "beginning", "--end"), 2 * N + 2)
    assert all(markup in human for markup in MARKUP)

    spring = (("kafka_dlt-original-topic", f"{topic}{FORGED}".encode()),
              ("kafka_dlt-exception-message", f"boom{FORGED}".encode()))  # fmt: skip
    dead = [OutgoingMessage(value=payload, key=payload[:50] or None, headers=spring) for payload in PAYLOADS.values()]
    assert publish(config, f"{topic}.DLQ", dead).sent == N
    assert_same(dead, read_back_letters(cli(config_path, "dlq", "show", "k", f"{topic}.DLQ", "--json")))
    shown = assert_human(cli(config_path, "dlq", "show", "k", f"{topic}.DLQ"), N + 1)
    assert "[bold red]x[/]" in shown and "␛]0;pwned␇" in shown
    assert_forged_replay_is_safe(config_path, "k", f"{topic}.DLQ", N)


def assert_forged_replay_is_safe(config_path: Path, broker: str, dlq: str, count: int) -> None:
    """The preview names the forged origin, the replay says why it cannot go there: both stay safe."""
    shown = "␛]0;pwned␇␛[2J[bold red]x[/]<U+202E>"  # the forged text, as a terminal gets it
    preview = cli(config_path, "dlq", "replay", broker, dlq, "--dry-run")
    assert_human(preview, count + 1)
    assert preview.out.count(shown) >= count
    replay = cli(config_path, "dlq", "replay", broker, dlq, "--yes")
    assert_terminal_safe(replay)
    assert replay.code == 1
    errors = replay.err.splitlines()
    assert len(errors) == 20 and all(shown in line for line in errors)  # the first 20 failures, one line each
    as_json = cli(config_path, "dlq", "replay", broker, dlq, "--yes", "--json")
    assert_terminal_safe(as_json)
    [result] = as_json.json_lines()
    assert (result["sent"], result["failed"], len(result["errors"])) == (0, count, count)
    assert all(FORGED in error for error in result["errors"])  # exact in JSON, escaped on the wire


# -- RabbitMQ --------------------------------------------------------------------------------------
def test_rabbitmq_queue_and_forged_dlx_dead_letters(tmp_path: Path, rabbitmq_server: LocalRabbitMQ) -> None:
    queue = f"hostile-{uuid.uuid4().hex[:8]}"
    dlq = f"{queue}.dlq"
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_server.url))
    channel = connection.channel()
    channel.queue_declare(queue, durable=True)
    channel.queue_declare(dlq, durable=True)
    entry = {**rabbitmq_server.broker_config(), "name": "rb", "timeout": 10.0}
    config_path = write_config(tmp_path / "c.toml", {"p": {"brokers": [entry]}})
    config = broker_config(entry)
    try:
        sent = corpus_messages(keys=False)
        huge, _headers, nested = big_messages()
        assert publish(config, queue, [*sent, huge, nested]).sent == 2 * N + 2
        sent += [huge, nested]
        peeked = read_back(cli(config_path, "peek", "rb", queue, "--limit", "500", "--yes", "--json"))
        assert_same(sent, peeked, keys=False)
        assert len(peeked[-2].value) == HUGE
        human = assert_human(cli(config_path, "peek", "rb", queue, "--limit", "500", "--yes"), 2 * N + 2)
        assert all(markup in human for markup in MARKUP)

        # An AMQP header table must fit in one frame (frame_max, 128 KB here): 10,000 headers do not.
        refused = cli(config_path, "publish", "rb", queue, "--value", "x", "--yes",
                      *[arg for i in range(10_000) for arg in ("--header", f"h{i}={ESC}[31m{i}")])  # fmt: skip
        assert refused.code == 1 and len(refused.err.splitlines()) == 1
        assert_terminal_safe(refused)

        now = datetime.now(UTC).replace(microsecond=0)
        death = {"count": 3, "reason": f"rejected{FORGED}", "queue": f"{queue}{FORGED}", "time": now,
                 "exchange": FORGED, "routing-keys": [f"rk{FORGED}"]}  # fmt: skip
        forged = {"x-death": [death], "x-first-death-queue": f"{queue}{FORGED}",
                  "x-first-death-reason": f"rejected{FORGED}", FORGED: FORGED}  # fmt: skip
        channel.confirm_delivery()
        for payload in PAYLOADS.values():
            properties = pika.BasicProperties(delivery_mode=2, headers=forged, message_id=FORGED, correlation_id=FORGED)
            channel.basic_publish("", dlq, payload, properties)
        dead = [OutgoingMessage(value=payload) for payload in PAYLOADS.values()]
        assert_same(dead, read_back_letters(cli(config_path, "dlq", "show", "rb", dlq, "--json")), keys=False)
        shown = assert_human(cli(config_path, "dlq", "show", "rb", dlq), N + 1)
        assert "[bold red]x[/]" in shown and "␛]0;pwned␇" in shown
        assert_forged_replay_is_safe(config_path, "rb", dlq, N)
    finally:
        channel.queue_delete(queue)
        channel.queue_delete(dlq)
        connection.close()


# -- NATS ------------------------------------------------------------------------------------------
async def _nats_streams(url: str, names: dict[str, str]) -> None:
    import nats

    client = await nats.connect(url)
    try:
        for stream, subject in names.items():
            await client.jetstream().add_stream(name=stream, subjects=[f"{subject}.>"])
    finally:
        await client.close()


def nats_refusal(message: OutgoingMessage) -> bool:
    """NATS headers are text lines of at most 64 KB in all: mqtui refuses a line break, nats-py the size."""
    return any(b"\r" in value or b"\n" in value or len(value) > 64 * 1024 for _name, value in message.headers)


def test_nats_stream_and_dlq_stream(tmp_path: Path, nats_server: LocalNats) -> None:
    import asyncio

    tag = uuid.uuid4().hex[:8].upper()
    stream, dlq = f"HOSTILE{tag}", f"HOSTILE{tag}_DLQ"
    asyncio.run(_nats_streams(nats_server.url, {stream: f"hostile{tag}", dlq: f"hostile{tag}dlq"}))
    entry = {**nats_server.broker_config(), "name": "nt", "timeout": 10.0}
    config_path = write_config(tmp_path / "c.toml", {"p": {"brokers": [entry]}})
    config = broker_config(entry)

    candidates = corpus_messages(keys=False, header_names=False)
    result = publish(config, f"hostile{tag}.x", candidates)
    refused = {index for index, _reason in result.failed}
    assert refused == {i for i, message in enumerate(candidates) if nats_refusal(message)}
    assert len(refused) == 4 and result.sent == N - 4
    sent = [m for i, m in enumerate(candidates) if i not in refused]
    huge, headers, nested = big_messages()
    limits = publish(config, f"hostile{tag}.x", [huge, headers, nested])
    assert limits.sent == 1 and [i for i, _ in limits.failed] == [0, 1]  # max payload 1 MB, headers 64 KB
    sent.append(nested)

    tail = read_back(cli(config_path, "tail", "nt", stream, "--from", "beginning", "--end", "--json"))
    assert [m.value for m in tail] == [m.value for m in sent]
    for out, got in zip(sent, tail, strict=True):
        for name, value in out.headers:  # text: invalid UTF-8 is replaced, nats-py strips the ends
            assert got.header(name) == value.decode("utf-8", "replace").strip().encode()
    human = assert_human(cli(config_path, "tail", "nt", stream, "--from", "beginning", "--end"), len(sent))
    assert all(markup in human for markup in MARKUP)

    dead = [OutgoingMessage(value=payload, headers=(("reason", FORGED.encode()),)) for payload in PAYLOADS.values()]
    assert publish(config, f"hostile{tag}dlq.x", dead).sent == N
    letters = read_back_letters(cli(config_path, "dlq", "show", "nt", dlq, "--json"))
    assert [m.value for m in letters] == [m.value for m in dead]
    shown = assert_human(cli(config_path, "dlq", "show", "nt", dlq), N + 1)
    assert shown.count("[bold red]ALERT[/bold red]") == 1
    preview = cli(config_path, "dlq", "replay", "nt", dlq, "--dry-run")
    assert_human(preview, N + 1)
