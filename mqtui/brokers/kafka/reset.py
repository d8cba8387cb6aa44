"""Moving a stopped consumer group's committed offsets: to the beginning, the end, an offset or a time.

A reset is refused unless the group is empty (`groups.reset_refusal`). Targets stay inside what each
partition holds; a time is first looked up with ListOffsets, then checked by reading, since some
brokers answer by append time rather than by record time.
"""

from __future__ import annotations

from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import OffsetSpec

from mqtui.brokers.kafka import groups
from mqtui.brokers.kafka.client import TP, KafkaClients, broker_error
from mqtui.brokers.kafka.tail import PartitionReader, Reads, first_offsets_since, time_offset
from mqtui.errors import BrokerError, BrokerUnavailable, NotFound, UsageError
from mqtui.model import BacklogRow, StartPosition


async def reset_offsets(
    clients: KafkaClients, reads: Reads, group: str, *, to: StartPosition, destination: str | None
) -> list[BacklogRow]:
    """Commit the new positions of `group` (on `destination`, else on every topic it committed on) and
    answer the backlog rows of the partitions that moved."""
    name = clients.name
    descriptions, offsets = await groups.group_state(clients, [group])
    description = descriptions.get(group)
    refusal = groups.reset_refusal(name, group, description)
    if refusal is not None:
        raise BrokerError(refusal)
    committed = offsets[group]
    if destination is not None:
        tps = [(destination, p) for p in await clients.partitions(destination)]
    else:
        tps = sorted(tp for tp, value in committed.items() if value.offset >= 0)
        if not tps:
            await groups.require_group(clients, group, description, committed)
            raise NotFound(f"{name}: group {group!r} has no committed offsets: name a topic to reset")
    targets = await _targets(clients, reads, tps, to)
    request = ConsumerGroupTopicPartitions(group, [TopicPartition(t, p, o) for (t, p), o in sorted(targets.items())])
    futures = clients.admin.alter_consumer_group_offsets([request], request_timeout=clients.timeout)
    answer = await clients.answer(f"reset offsets of group {group!r}", futures[group])
    for tp in answer.topic_partitions or ():
        if tp.error is not None:
            raise broker_error(name, f"reset offsets of {tp.topic}[{tp.partition}]", tp.error)
    changed = set(targets)
    return [row for row in await groups.backlog(clients, group) if (row.destination, row.partition) in changed]


async def _targets(clients: KafkaClients, reads: Reads, tps: list[TP], to: StartPosition) -> dict[TP, int]:
    low, high = await clients.watermarks(tps)
    lows: dict[TP, int] = {}
    highs: dict[TP, int] = {}
    for tp in tps:
        lo, hi = low.get(tp), high.get(tp)
        if lo is None or hi is None:
            raise BrokerUnavailable(f"{clients.name}: no watermarks for {tp[0]}[{tp[1]}]")
        lows[tp], highs[tp] = lo, hi
    if to.kind == "beginning":
        return lows
    if to.kind == "end":
        return highs
    if to.kind == "offset":
        offset = to.offset
        if not isinstance(offset, int):
            raise UsageError(f"a Kafka offset is a number, not {offset!r}")
        return {tp: min(max(offset, lows[tp]), highs[tp]) for tp in tps}
    assert to.time is not None
    millis = int(to.time.timestamp() * 1000)
    found = await clients.offsets(tps, OffsetSpec.for_timestamp(millis), "find offsets by time")
    targets = {tp: time_offset(found.get(tp), lows[tp], highs[tp]) for tp in tps}
    for topic in sorted({t for t, _p in tps}):
        starts = {p: o for (t, p), o in targets.items() if t == topic}
        ends = {p: highs[(topic, p)] for p in starts}
        reader = PartitionReader(reads.settings(), clients.name, topic, starts, ends,
                                 idle_timeout=clients.timeout, not_before=millis)  # fmt: skip
        checked = await reads.run(clients, first_offsets_since, reader)
        targets.update({(topic, p): o for p, o in checked.items()})
    return targets
