"""Kafka consumer groups: their lag per partition, their details, and whether their offsets may move.

A backlog is a handful of batched requests whatever the cluster's size: one ListGroups, one
DescribeConsumerGroups for all groups and one OffsetFetch per group (the API takes one group at a
time), sent concurrently, then one ListOffsets per offset kind for every partition involved. The time
lag adds one read by assignment of the partitions whose waiting record's time is not remembered yet.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from confluent_kafka import TopicPartition
from confluent_kafka.admin import OffsetSpec

from mqtui.brokers.kafka.client import TP, KafkaClients, broker_error
from mqtui.brokers.kafka.time_lag import OldestWaiting
from mqtui.errors import AuthenticationFailed, BrokerError, BrokerUnavailable, NotFound
from mqtui.model import BacklogRow, Detail, DetailSection

#: The only group states in which offsets may be moved: nobody is consuming, nor joining (an allow-list,
#: so a rebalancing group, a state librdkafka reports as "unknown" or one it does not know yet is refused).
_RESETTABLE_STATES = frozenset({"empty", "dead"})

#: A group's description as DescribeConsumerGroups answered it, or the error it answered instead.
Description = Any


async def group_ids(clients: KafkaClients) -> list[str]:
    listing = await clients.answer(
        "list consumer groups", clients.admin.list_consumer_groups(request_timeout=clients.timeout)
    )
    if listing.errors and not listing.valid:  # errors come back inside the answer, not raised
        raise broker_error(clients.name, "list consumer groups", listing.errors[0])
    return sorted(group.group_id for group in listing.valid)


async def _descriptions(clients: KafkaClients, groups: Sequence[str]) -> dict[str, Description]:
    """DescribeConsumerGroups for every group in one request; a group that failed maps to its error
    (an offset reset must tell "no such group" from "could not tell", see `reset_refusal`)."""
    if not groups:
        return {}
    futures = clients.admin.describe_consumer_groups(list(groups), request_timeout=clients.timeout)
    return await clients.answers("describe consumer groups", futures)


async def group_state(
    clients: KafkaClients, groups: Sequence[str]
) -> tuple[dict[str, Description], dict[str, dict[TP, TopicPartition]]]:
    """Descriptions and committed offsets of many groups, fetched together.

    A group whose offsets cannot be read (not authorized, say) shows without offsets when many are
    asked for, so one group does not blank the whole lag view; asked for alone, it raises.
    """
    descriptions, answers = await asyncio.gather(
        _descriptions(clients, groups),
        asyncio.gather(*(clients.committed(group) for group in groups), return_exceptions=True),
    )
    offsets: dict[str, dict[TP, TopicPartition]] = {}
    for group, answer in zip(groups, answers, strict=True):
        if isinstance(answer, BaseException):
            if (
                len(groups) == 1
                or not isinstance(answer, BrokerError)
                or isinstance(answer, BrokerUnavailable | AuthenticationFailed)
            ):
                raise answer
            answer = {}
        offsets[group] = answer
    return descriptions, offsets


async def require_group(
    clients: KafkaClients, group: str, description: Description, committed: dict[TP, TopicPartition]
) -> None:
    """NotFound unless the group exists (brokers describe unknown groups as empty or dead)."""
    if _members(description) or any(tp.offset >= 0 for tp in committed.values()):
        return
    if group not in await group_ids(clients):
        raise NotFound(f"{clients.name}: no consumer group {group!r}")


async def backlog(clients: KafkaClients, group: str | None, waiting: OldestWaiting | None = None) -> list[BacklogRow]:
    """Every partition row of `group` (or of every group); with `waiting`, each row where messages
    wait also says when the oldest of them was written (its time lag, see `time_lag`)."""
    groups = [group] if group is not None else await group_ids(clients)
    if not groups:
        return []
    (descriptions, offsets), metadata = await asyncio.gather(group_state(clients, groups), clients.metadata())
    if group is not None:
        await require_group(clients, group, descriptions.get(group), offsets[group])
    layout: dict[str, list[TP]] = {}
    for name in groups:
        topics = {t for (t, _p) in offsets[name]} | {t for (t, _p) in _owners(descriptions.get(name))}
        layout[name] = [
            (t, p) for t in sorted(topics) if t in metadata.topics for p in sorted(metadata.topics[t].partitions)
        ]
    involved = sorted({tp for tps in layout.values() for tp in tps})
    uncommitted = sorted(
        {tp for name, tps in layout.items() for tp in tps if _committed(offsets[name].get(tp)) is None}
    )
    high, low = await asyncio.gather(
        clients.offsets(involved, OffsetSpec.latest(), "list latest offsets"),
        clients.offsets(uncommitted, OffsetSpec.earliest(), "list earliest offsets"),
    )
    # Where each partition's oldest unconsumed record is: at the committed offset, else the low watermark.
    positions: dict[tuple[str, TP], int] = {}
    for name in groups:
        for tp in layout[name]:
            committed = _committed(offsets[name].get(tp))
            if _lag(committed, low.get(tp), high.get(tp)):
                start = committed if committed is not None else low.get(tp)
                if start is not None:
                    positions[(name, tp)] = start
    times = await waiting.times(clients, {(*tp, o) for (_n, tp), o in positions.items()}) if waiting is not None else {}
    rows = []
    for name in groups:
        description = descriptions.get(name)
        members = _members(description)
        owners = _owners(description)
        state = _state(description)
        for tp in layout[name]:
            committed = _committed(offsets[name].get(tp))
            end = high.get(tp)
            start = positions.get((name, tp))
            oldest = None if start is None else times.get((*tp, start))
            rows.append(
                BacklogRow(
                    broker=clients.name,
                    destination=tp[0],
                    group=name,
                    partition=tp[1],
                    committed=committed,
                    end=end,
                    lag=_lag(committed, low.get(tp), end),
                    consumers=len(members),
                    state=state,
                    members=owners.get(tp, ()),
                    oldest_waiting_at=oldest,
                    time_lag_unknown=(
                        f"the record at offset {start} was not read (yet)"
                        if waiting is not None and start is not None and oldest is None
                        else None
                    ),
                )
            )
    return rows


async def describe_group(clients: KafkaClients, group: str) -> Detail:
    descriptions, offsets = await group_state(clients, [group])
    description = descriptions.get(group)
    await require_group(clients, group, description, offsets[group])
    return group_detail(clients.name, group, description, await backlog(clients, group))


def group_detail(broker: str, group: str, description: Description, rows: Sequence[BacklogRow]) -> Detail:
    """A group's detail from its description and lag rows: pure, so the member and assignment tables
    are tested with fake answers (tansu lists no members, see test_tansu_deviations.py)."""
    summary = [("state", _state(description) or "unknown"), ("members", str(len(_members(description))))]
    described = _described(description)
    if described is not None:
        if described.partition_assignor:
            summary.append(("assignor", described.partition_assignor))
        coordinator = described.coordinator
        if coordinator is not None:
            summary.append(("coordinator", f"{coordinator.host}:{coordinator.port} (id {coordinator.id})"))
    summary.append(("total lag", str(sum(r.lag or 0 for r in rows))))
    member_rows = tuple((m.member_id, m.client_id, m.host, _assignment_text(m)) for m in _members(description))
    offset_rows = tuple(
        (r.destination, str(r.partition), _text(r.committed), _text(r.end), _text(r.lag), ", ".join(r.members))
        for r in rows
    )  # fmt: skip
    return Detail(
        broker=broker,
        name=group,
        summary=tuple(summary),
        sections=(
            DetailSection("Members", ("MEMBER", "CLIENT", "HOST", "ASSIGNED"), member_rows),
            DetailSection("Offsets", ("TOPIC", "PARTITION", "COMMITTED", "END", "LAG", "MEMBER"), offset_rows),
        ),
    )


def reset_refusal(broker: str, group: str, description: Description) -> str | None:
    """Why `group`'s offsets must not be moved now (one line naming its state), or None if they may.

    Allowed only when the broker says the group is empty or dead with no members, or that it does not
    exist (GROUP_ID_NOT_FOUND): a reset may create a group, as kafka-consumer-groups' does. Anything
    else is refused, including a rebalance, librdkafka's "unknown" and a description that failed:
    moving offsets under consumers that are running or joining would be overwritten by their next
    commit, or would make them skip or reread messages. (Apache Kafka also rejects an admin commit
    for a group with members; this check is what says so before anything is sent, on every broker.)
    """
    if isinstance(description, NotFound):
        return None
    if isinstance(description, BaseException):
        return f"{description}: cannot tell whether group {group!r} has members, so its offsets were not reset"
    if description is None:
        return f"{broker}: group {group!r} was not described, so its offsets were not reset"
    state = _state(description)
    members = _members(description)
    if state in _RESETTABLE_STATES and not members:
        return None
    return (
        f"{broker}: group {group!r} is {state} with {len(members)} member(s) reported: "
        "stop its consumers before resetting its offsets (a reset needs the group empty)"
    )


def _described(description: Description) -> Any:
    """The description, or None when there is none (a failed one is its error)."""
    return None if description is None or isinstance(description, BaseException) else description


def _state(description: Description) -> str | None:
    if _described(description) is None:
        return None
    state = getattr(description.state, "name", str(description.state))
    return state.lower()


def _members(description: Description) -> list[Any]:
    return list(description.members or ()) if _described(description) is not None else []


def _owners(description: Description) -> dict[TP, tuple[str, ...]]:
    """Partition -> the members assigned to it, as client-id@host."""
    found: dict[TP, tuple[str, ...]] = {}
    for member in _members(description):
        assignment = getattr(member, "assignment", None)
        for tp in getattr(assignment, "topic_partitions", None) or ():
            key = (tp.topic, tp.partition)
            found[key] = (*found.get(key, ()), f"{member.client_id}@{member.host}")
    return found


def _assignment_text(member: Any) -> str:
    assignment = getattr(member, "assignment", None)
    by_topic: dict[str, list[int]] = {}
    for tp in getattr(assignment, "topic_partitions", None) or ():
        by_topic.setdefault(tp.topic, []).append(tp.partition)
    return "; ".join(f"{t}[{','.join(map(str, sorted(ps)))}]" for t, ps in sorted(by_topic.items())) or "-"


def _committed(tp: TopicPartition | None) -> int | None:
    return tp.offset if tp is not None and tp.offset >= 0 else None


def _lag(committed: int | None, low: int | None, high: int | None) -> int | None:
    """Never negative; with nothing committed, everything the partition holds is still to be read."""
    if high is None:
        return None
    if committed is None:
        return None if low is None else max(0, high - low)
    return max(0, high - committed)


def _text(value: object) -> str:
    return "-" if value is None else str(value)
