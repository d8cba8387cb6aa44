"""Where tansu 0.6.0 answers differently from Apache Kafka, shown against the real broker.

The adapter is written for Apache Kafka; each test here pins down one way tansu differs, what the
adapter does about it, and keeps the record honest: if a tansu upgrade fixes one, its test fails
and the workaround can go.
"""

from __future__ import annotations

import subprocess
import time

from confluent_kafka import Consumer, ConsumerGroupState, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, OffsetSpec, ResourceType

from mqtui.demo.localbrokers import LocalKafka
from tests.kafka.conftest import QUIET, KafkaTools, Record, unique
from tests.kafka.test_reset import live_member


def latest(kafka: KafkaTools, topic: str, partition: int = 0) -> int:
    futures = kafka.admin.list_offsets({TopicPartition(topic, partition): OffsetSpec.latest()})
    return next(iter(futures.values())).result(10).offset


def test_high_watermark_counts_batches_not_records(kafka: KafkaTools) -> None:
    """Why every test produces one record per batch where offsets or lag are asserted."""
    topic = kafka.topic("batches")
    producer = Producer({"bootstrap.servers": kafka.url, "linger.ms": 200, **QUIET})
    for i in range(10):
        producer.produce(topic, b"%d" % i)
    producer.flush(10)  # one batch of ten records
    assert latest(kafka, topic) == 1  # Apache Kafka: 10
    assert [m.offset() for m in kafka.read_all(topic)] == list(range(10))  # the records are all there
    kafka.produce(topic, [b"single"])
    assert latest(kafka, topic) == 11  # a single-record batch is counted right (after the last base offset)


def test_live_groups_show_no_members_and_are_not_listed_before_a_commit(kafka: KafkaTools) -> None:
    """The adapter refuses offset resets on the group's state, and shows member counts of 0 here."""
    topic = kafka.topic("members")
    group = unique("members")
    with live_member(kafka.url, group, topic):
        [description] = [f.result(10) for f in kafka.admin.describe_consumer_groups([group]).values()]
        assert description.state == ConsumerGroupState.STABLE
        assert description.members == []  # Apache Kafka: one member with its assignment
        listed = kafka.admin.list_consumer_groups().result(10).valid
        assert group not in {g.group_id for g in listed}  # Apache Kafka lists a joined group at once


def test_listed_groups_have_no_state(kafka: KafkaTools) -> None:
    topic = kafka.topic("listed")
    group = unique("listed")
    kafka.commit(group, topic, {0: 0})
    [mine] = [g for g in kafka.admin.list_consumer_groups().result(10).valid if g.group_id == group]
    assert mine.state == ConsumerGroupState.UNKNOWN  # Apache Kafka: EMPTY (DescribeGroups says so here too)


def test_unknown_groups_are_described_as_empty(kafka: KafkaTools) -> None:
    [description] = [f.result(10) for f in kafka.admin.describe_consumer_groups([unique("ghost")]).values()]
    assert description.state == ConsumerGroupState.EMPTY  # Apache Kafka: DEAD


def test_commit_metadata_is_dropped(kafka: KafkaTools) -> None:
    """The replay keeps out-of-order progress in commit metadata; on tansu it relies on its copy search."""
    topic = kafka.topic("meta")
    group = unique("meta")
    consumer = Consumer({"bootstrap.servers": kafka.url, "group.id": group, **QUIET})
    try:
        consumer.commit(offsets=[TopicPartition(topic, 0, 1, metadata='{"v": 1}')], asynchronous=False)
        [committed] = consumer.committed([TopicPartition(topic, 0)], timeout=10)
    finally:
        consumer.close()
    assert (committed.offset, committed.metadata) == (1, None)  # Apache Kafka: the metadata comes back


def test_offsets_by_time_follow_append_time_not_record_time(kafka: KafkaTools) -> None:
    """Records stamped an hour ago but appended now are found for "ten minutes ago"; Apache Kafka
    answers -1 (no record that recent). The tail and offset resets check the records' own times."""
    topic = kafka.topic("times")
    hour_ago = int(time.time() * 1000) - 3_600_000
    kafka.produce(topic, [Record(b"old", timestamp=hour_ago), Record(b"older", timestamp=hour_ago - 1)])
    futures = kafka.admin.list_offsets({TopicPartition(topic, 0): OffsetSpec.for_timestamp(hour_ago + 3_000_000)})
    assert next(iter(futures.values())).result(10).offset == 0


def test_describe_configs_answers_nothing(kafka: KafkaTools) -> None:
    topic = kafka.topic("configs")
    [configs] = [
        f.result(10) for f in kafka.admin.describe_configs([ConfigResource(ResourceType.TOPIC, topic)]).values()
    ]
    assert configs == {}  # Apache Kafka: retention.ms, cleanup.policy and the rest


def test_an_admin_metadata_request_creates_the_topic(kafka: KafkaTools) -> None:
    """With librdkafka's default allow.auto.create.topics, asking about a topic creates it: every
    mqtui client turns that setting off (test_topics.py checks nothing gets created)."""
    name = unique("accidental")
    admin = AdminClient({"bootstrap.servers": kafka.url, **QUIET})
    admin.list_topics(topic=name, timeout=10)
    assert name in kafka.admin.list_topics(timeout=10).topics


def test_tls_cannot_be_configured(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`--cert` and `--key` refuse to be used together, so TLS is not tested against tansu 0.6.0."""
    binary = LocalKafka.binary()
    assert binary is not None
    done = subprocess.run([binary, "broker", "--cert", str(tmp_path / "c.pem"), "--key", str(tmp_path / "k.pem")],
                          capture_output=True, text=True, timeout=30)  # fmt: skip
    assert done.returncode != 0
    assert "'--cert <CERT>' cannot be used with '--key <KEY>'" in done.stderr
