"""Dead letters: the three formats real tools write, parsed to their origin from real DLQ records."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

import orjson
from hypothesis import given
from hypothesis import strategies as st

from mqtui.brokers.kafka.adapter import KafkaAdapter
from mqtui.brokers.kafka.dlq import parse_dead_letter, replay_value
from mqtui.dlqnames import DEFAULT_RULES
from mqtui.model import Message
from tests.kafka.conftest import KafkaTools, Record, unique


def spring_headers(topic: str, partition: int, offset: int, *, binary: bool = True) -> list[tuple[str, bytes | None]]:
    as_int = struct.pack(">i", partition) if binary else str(partition).encode()
    as_long = struct.pack(">q", offset) if binary else str(offset).encode()
    return [
        ("kafka_dlt-original-topic", topic.encode()),
        ("kafka_dlt-original-partition", as_int),
        ("kafka_dlt-original-offset", as_long),
        ("kafka_dlt-original-timestamp", struct.pack(">q", 1_700_000_000_000)),
        ("kafka_dlt-exception-fqcn", b"org.springframework.kafka.listener.ListenerExecutionFailedException"),
        (
            "kafka_dlt-exception-message",
            b"Listener failed; nested exception is java.lang.IllegalStateException: bad total",
        ),
        ("kafka_dlt-original-consumer-group", b"fulfillment"),
    ]


def connect_headers(topic: str, partition: int, offset: int) -> list[tuple[str, bytes | None]]:
    return [
        ("__connect.errors.topic", topic.encode()),
        ("__connect.errors.partition", str(partition).encode()),
        ("__connect.errors.offset", str(offset).encode()),
        ("__connect.errors.connector.name", b"jdbc-sink"),
        ("__connect.errors.task.id", b"0"),
        ("__connect.errors.stage", b"VALUE_CONVERTER"),
        ("__connect.errors.exception.class.name", b"org.apache.kafka.connect.errors.DataException"),
        ("__connect.errors.exception.message", b"Converting byte[] to Kafka Connect data failed"),
    ]


def envelope(original: object, **metadata: object) -> bytes:
    return orjson.dumps({
        "type": "dead_letter",
        "data": {
            "metadata": {"original_message": original, "retry_count": 3, "first_failed_at": "2030-01-01T10:00:00Z",
                         "last_failed_at": "2030-01-01T10:05:00Z", "error_message": "timeout calling ledger",
                         **metadata},
            "reason": "max retries exceeded",
        },
    })  # fmt: skip


async def test_spring_binary_headers_give_the_origin(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    origin = unique("orders")
    dlq = kafka.create(f"{origin}.DLT")
    kafka.produce(dlq, [Record(b'{"id": 7}', key=b"o-7", headers=spring_headers(origin, 2, 12345678901))])
    [letter] = await adapter.dead_letters(dlq)
    assert letter.id == "0:0"
    assert (letter.origin, letter.origin_partition, letter.origin_position) == (origin, 2, 12345678901)
    assert letter.reason == "Listener failed; nested exception is java.lang.IllegalStateException: bad total"
    assert letter.extra["format"] == "spring"
    assert letter.extra["exception"].endswith("ListenerExecutionFailedException")
    assert letter.extra["consumer group"] == "fulfillment"
    assert letter.message.key == b"o-7" and letter.message.value == b'{"id": 7}'
    assert letter.last_failure == letter.message.timestamp


async def test_spring_text_numbers_are_read_too(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    origin = unique("orders")
    dlq = kafka.create(f"{origin}.DLQ")
    kafka.produce(dlq, [Record(b"x", headers=spring_headers(origin, 1, 42, binary=False))])
    [letter] = await adapter.dead_letters(dlq)
    assert (letter.origin, letter.origin_partition, letter.origin_position) == (origin, 1, 42)


async def test_kafka_connect_headers_give_the_origin(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    dlq = kafka.create(unique("sink-dlq"))
    kafka.produce(dlq, [Record(b"\x00\x00\x01", headers=connect_headers("customers", 4, 991))])
    [letter] = await adapter.dead_letters(dlq)
    assert (letter.origin, letter.origin_partition, letter.origin_position) == ("customers", 4, 991)
    assert letter.reason == "Converting byte[] to Kafka Connect data failed"
    assert letter.extra == {
        "format": "kafka connect",
        "exception": "org.apache.kafka.connect.errors.DataException",
        "connector": "jdbc-sink",
        "task": "0",
        "stage": "VALUE_CONVERTER",
    }


async def test_json_envelope_gives_reason_attempts_and_failure_times(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    origin = unique("payments")
    dlq = kafka.create(f"{origin}-dlq")
    kafka.produce(dlq, [Record(envelope({"payment": 9, "amount": "12.50"}), key=b"p-9")])
    [letter] = await adapter.dead_letters(dlq)
    assert letter.origin == origin  # the envelope names no topic: the DLQ's naming rule does
    assert letter.reason == "max retries exceeded"
    assert letter.attempts == 3
    assert letter.first_failure == datetime(2030, 1, 1, 10, 0, tzinfo=UTC)
    assert letter.last_failure == datetime(2030, 1, 1, 10, 5, tzinfo=UTC)
    assert letter.extra == {"format": "json envelope", "error": "timeout calling ledger"}
    assert orjson.loads(replay_value(letter.message) or b"") == {"payment": 9, "amount": "12.50"}


async def test_a_bare_message_in_a_dlq_belongs_to_the_named_origin(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    origin = unique("audit")
    dlq = kafka.create(f"{origin}.DLQ")
    kafka.produce(dlq, [Record(b"not json at all", partition=0)])
    [letter] = await adapter.dead_letters(dlq)
    assert (letter.origin, letter.reason, letter.extra["format"]) == (origin, None, "naming rule")


async def test_malformed_headers_give_less_information_not_an_error(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    origin = unique("bad")
    dlq = kafka.create(f"{origin}.DLQ")
    kafka.produce(dlq, [Record(b"{\"type\": \"dead_letter\", \"data\": 5}", headers=[
        ("kafka_dlt-original-topic", b"\xff\xfe"),
        ("kafka_dlt-original-partition", b"\x01\x02\x03"),
        ("kafka_dlt-original-offset", None),
        ("kafka_dlt-exception-message", b"\xc3\x28"),
    ])])  # fmt: skip
    [letter] = await adapter.dead_letters(dlq)
    assert (letter.origin, letter.origin_partition, letter.origin_position, letter.reason) == (origin, None, None, None)


async def test_dead_letter_queues_list_counts_origins_and_oldest(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    origin = unique("inv")
    dlq = kafka.create(f"{origin}.DLQ", partitions=2)
    first = int(datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC).timestamp() * 1000)
    kafka.produce(dlq, [Record(b"a", partition=1, timestamp=first + 5000), Record(b"b", partition=0, timestamp=first),
                        Record(b"c", partition=1, timestamp=first + 9000)])  # fmt: skip
    empty = kafka.create(f"{unique('quiet')}.DLT")
    queues = {q.name: q for q in await adapter.dead_letter_queues()}
    assert (queues[dlq].origin, queues[dlq].count, queues[dlq].detected_by) == (origin, 3, "naming rule")
    assert queues[dlq].oldest == datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert (queues[empty].count, queues[empty].oldest) == (0, None)
    assert origin not in queues
    again = {q.name: q for q in await adapter.dead_letter_queues()}  # the oldest record is read once, then cached
    assert again[dlq].oldest == queues[dlq].oldest


async def test_dead_letters_limit_and_order(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    dlq = kafka.create(f"{unique('lim')}.DLQ", partitions=2)
    kafka.produce(dlq, [Record(b"%d" % i, partition=i % 2, timestamp=1_900_000_000_000 + i) for i in range(6)])
    letters = await adapter.dead_letters(dlq, limit=4)
    assert [letter.id for letter in letters] == ["0:0", "1:0", "0:1", "1:1"]
    assert [letter.message.value for letter in letters] == [b"0", b"1", b"2", b"3"]


header_values = st.one_of(st.none(), st.binary(max_size=12), st.sampled_from([b"7", b"-1", b"\x00\x00\x00\x07", b""]))
header_names = st.sampled_from([
    "kafka_dlt-original-topic", "kafka_dlt-original-partition", "kafka_dlt-original-offset",
    "kafka_dlt-exception-message", "kafka_dlt-original-timestamp", "retry_topic-attempts",
    "__connect.errors.topic", "__connect.errors.partition", "__connect.errors.offset", "x",
])  # fmt: skip
values = st.one_of(
    st.binary(max_size=64),
    st.builds(lambda m, r: orjson.dumps({"type": "dead_letter", "data": {"metadata": m, "reason": r}}),
              st.dictionaries(st.sampled_from(["original_message", "retry_count", "first_failed_at", "last_failed_at",
                                                "error_message"]),
                              st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.text(max_size=8), st.booleans(), st.floats())),
              st.one_of(st.none(), st.text(max_size=8), st.integers(-(2**63), 2**63 - 1))),
)  # fmt: skip


@given(st.lists(st.tuples(header_names, header_values), max_size=8), values)
def test_parsing_never_raises_on_hostile_records(headers: list[tuple[str, bytes | None]], value: bytes) -> None:
    message = Message("k", "orders.DLQ", 0, 0, None, None, value, tuple(headers))
    letter = parse_dead_letter(message, DEFAULT_RULES["kafka"])
    assert letter.origin is not None  # at worst, the naming rule's
    replay_value(message)
