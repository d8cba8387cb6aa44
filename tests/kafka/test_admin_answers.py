"""Pure logic fed fake admin answers, for situations tansu cannot produce (see test_tansu_deviations.py).

tansu lists no group members, never rebalances where a test can catch it and answers DescribeConfigs
with nothing, so the offset-reset refusal, the member and assignment tables and the topic-configs
table are checked here with confluent-kafka's own result classes holding what Apache Kafka answers.
The real-broker paths around them are in test_reset.py, test_lag.py and test_topics.py.
"""

from __future__ import annotations

import pytest
from confluent_kafka import ConsumerGroupState, Node, TopicPartition
from confluent_kafka.admin import (
    ConfigEntry,
    ConfigSource,
    ConsumerGroupDescription,
    MemberAssignment,
    MemberDescription,
)

from mqtui.brokers.kafka.groups import _owners, group_detail, reset_refusal
from mqtui.brokers.kafka.topics import config_rows
from mqtui.errors import BrokerError, NotFound
from mqtui.model import BacklogRow

COORDINATOR = Node(3, "kafka-3.internal", 9092)


def member(member_id: str, client: str, host: str, *assigned: tuple[str, int]) -> MemberDescription:
    return MemberDescription(member_id, client, host, MemberAssignment([TopicPartition(t, p) for t, p in assigned]))


def described(
    state: ConsumerGroupState, *members: MemberDescription, assignor: str = "range"
) -> ConsumerGroupDescription:
    return ConsumerGroupDescription("billing", False, list(members), assignor, state, COORDINATOR)


# -- offset reset: allowed only for a group known to be empty --------------------------------------
@pytest.mark.parametrize("state", [ConsumerGroupState.EMPTY, ConsumerGroupState.DEAD])
def test_reset_allowed_for_an_empty_or_dead_group_without_members(state: ConsumerGroupState) -> None:
    assert reset_refusal("k", "billing", described(state)) is None


def test_reset_allowed_for_a_group_the_broker_says_does_not_exist() -> None:
    """Newer brokers answer GROUP_ID_NOT_FOUND for an unknown group: a reset then creates it."""
    assert reset_refusal("k", "billing", NotFound("k: describe consumer groups: group not found")) is None


@pytest.mark.parametrize(
    ("state", "shown"),
    [
        (ConsumerGroupState.STABLE, "stable"),
        (ConsumerGroupState.PREPARING_REBALANCING, "preparing_rebalancing"),
        (ConsumerGroupState.COMPLETING_REBALANCING, "completing_rebalancing"),
        (ConsumerGroupState.UNKNOWN, "unknown"),
    ],
)
def test_reset_refused_in_every_other_state_even_with_no_members_listed(state: ConsumerGroupState, shown: str) -> None:
    assert reset_refusal("k", "billing", described(state)) == (
        f"k: group 'billing' is {shown} with 0 member(s) reported: "
        "stop its consumers before resetting its offsets (a reset needs the group empty)"
    )


def test_every_state_librdkafka_knows_is_decided_on_purpose() -> None:
    """An allow-list: whatever states a confluent-kafka upgrade adds are refused until allowed here."""
    allowed = {s for s in ConsumerGroupState if reset_refusal("k", "g", described(s)) is None}
    assert allowed == {ConsumerGroupState.EMPTY, ConsumerGroupState.DEAD}


def test_reset_refused_for_an_empty_state_that_still_lists_members() -> None:
    busy = described(ConsumerGroupState.EMPTY, member("m-1", "app", "/10.0.0.5", ("orders", 0)))
    refusal = reset_refusal("k", "billing", busy)
    assert refusal is not None and refusal.startswith("k: group 'billing' is empty with 1 member(s) reported:")


def test_reset_refused_when_the_group_could_not_be_described() -> None:
    failed = BrokerError("k: describe consumer groups: Broker: Group authorization failed")
    assert reset_refusal("k", "billing", failed) == (
        "k: describe consumer groups: Broker: Group authorization failed: "
        "cannot tell whether group 'billing' has members, so its offsets were not reset"
    )
    assert reset_refusal("k", "billing", None) == "k: group 'billing' was not described, so its offsets were not reset"


# -- group detail: members, assignments, owners ----------------------------------------------------
def test_members_and_their_assignments_are_listed() -> None:
    description = described(
        ConsumerGroupState.STABLE,
        member("consumer-1-aaa", "app", "/10.0.0.5", ("orders", 1), ("orders", 0), ("audit", 2)),
        member("consumer-2-bbb", "app", "/10.0.0.6", ("orders", 2)),
        member("consumer-3-ccc", "idle", "/10.0.0.7"),
        assignor="cooperative-sticky",
    )
    owners = _owners(description)
    assert owners == {
        ("orders", 1): ("app@/10.0.0.5",),
        ("orders", 0): ("app@/10.0.0.5",),
        ("audit", 2): ("app@/10.0.0.5",),
        ("orders", 2): ("app@/10.0.0.6",),
    }
    rows = [
        BacklogRow("k", "orders", "billing", p, committed=c, end=10, lag=lag, consumers=3, state="stable",
                   members=owners.get(("orders", p), ()))
        for p, c, lag in ((0, 7, 3), (1, None, 10), (2, 10, 0))
    ]  # fmt: skip
    detail = group_detail("k", "billing", description, rows)
    assert detail.summary == (
        ("state", "stable"),
        ("members", "3"),
        ("assignor", "cooperative-sticky"),
        ("coordinator", "kafka-3.internal:9092 (id 3)"),
        ("total lag", "13"),
    )
    members, offsets = detail.sections
    assert members.columns == ("MEMBER", "CLIENT", "HOST", "ASSIGNED")
    assert members.rows == (
        ("consumer-1-aaa", "app", "/10.0.0.5", "audit[2]; orders[0,1]"),
        ("consumer-2-bbb", "app", "/10.0.0.6", "orders[2]"),
        ("consumer-3-ccc", "idle", "/10.0.0.7", "-"),
    )
    assert offsets.rows == (
        ("orders", "0", "7", "10", "3", "app@/10.0.0.5"),
        ("orders", "1", "-", "10", "10", "app@/10.0.0.5"),
        ("orders", "2", "10", "10", "0", "app@/10.0.0.6"),
    )


def test_a_partition_assigned_to_two_members_names_both() -> None:
    """A group caught mid-rebalance (or two groups' members sharing a name) can report that."""
    description = described(
        ConsumerGroupState.COMPLETING_REBALANCING,
        member("m-1", "a", "/h1", ("orders", 0)),
        member("m-2", "b", "/h2", ("orders", 0)),
    )
    assert _owners(description) == {("orders", 0): ("a@/h1", "b@/h2")}


def test_a_group_that_could_not_be_described_shows_its_offsets_and_no_members() -> None:
    failed = BrokerError("k: describe consumer groups: Broker: Group authorization failed")
    rows = [BacklogRow("k", "orders", "billing", 0, committed=4, end=9, lag=5)]
    detail = group_detail("k", "billing", failed, rows)
    assert detail.summary == (("state", "unknown"), ("members", "0"), ("total lag", "5"))
    assert detail.sections[0].rows == ()
    assert detail.sections[1].rows == (("orders", "0", "4", "9", "5", ""),)


# -- topic configs ---------------------------------------------------------------------------------
def test_topic_configs_are_sorted_with_their_source_and_secrets_masked() -> None:
    answer = {
        "retention.ms": ConfigEntry("retention.ms", "604800000", ConfigSource.DEFAULT_CONFIG, is_default=True),
        "cleanup.policy": ConfigEntry("cleanup.policy", "compact,delete", ConfigSource.DYNAMIC_TOPIC_CONFIG),
        "min.insync.replicas": ConfigEntry("min.insync.replicas", "2", ConfigSource.STATIC_BROKER_CONFIG),
        "sasl.jaas.config": ConfigEntry("sasl.jaas.config", "password=hunter2", ConfigSource.DYNAMIC_BROKER_CONFIG,
                                        is_sensitive=True),
        "message.format.version": ConfigEntry("message.format.version", None, ConfigSource.UNKNOWN_CONFIG),
    }  # fmt: skip
    assert config_rows(answer) == (
        ("cleanup.policy", "compact,delete", "dynamic_topic"),
        ("message.format.version", "", "unknown"),
        ("min.insync.replicas", "2", "static_broker"),
        ("retention.ms", "604800000", "default"),
        ("sasl.jaas.config", "(sensitive)", "dynamic_broker"),
    )


def test_no_configs_is_said_plainly() -> None:
    assert config_rows({}) == "none reported (the broker answered DescribeConfigs with no entries)"
