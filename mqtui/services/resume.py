"""Where a tail continues after its broker came back: just after the last message it showed, if it can.

What a message's position means depends on the broker and on what is tailed: a Kafka offset counts per
partition, a NATS or RabbitMQ stream sequence per stream, a Redis stream id per stream; lists, queues,
channels and core NATS subjects keep no position a reader could return to, so their tails continue
from the end and say so.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from mqtui.model import DestinationKind, Position, StartPosition


class ResumeMode(enum.StrEnum):
    PARTITIONS = "partitions"
    """An offset per partition (Kafka)."""
    SEQUENCE = "sequence"
    """One growing number per stream (NATS JetStream, RabbitMQ streams)."""
    STREAM_ID = "stream-id"
    """`<millis>-<seq>` ids (Redis streams)."""
    NONE = "none"
    """Nothing to return to: the tail continues from the end."""


def resume_mode(broker_kind: str, destination: DestinationKind | None, start: StartPosition) -> ResumeMode:
    """How a tail of this destination can resume; `destination` is its kind as last polled (None: unknown)."""
    if broker_kind == "kafka":
        return ResumeMode.PARTITIONS
    if broker_kind == "nats":
        # A subject tailed from the end is a core subscription (positions only count what arrived);
        # anything else is read from the stream that stores it, by stream sequence.
        if destination is DestinationKind.STREAM or start.kind != "end":
            return ResumeMode.SEQUENCE
        return ResumeMode.NONE
    if broker_kind == "redis" and destination is DestinationKind.STREAM:
        return ResumeMode.STREAM_ID
    if broker_kind == "rabbitmq" and destination is DestinationKind.STREAM:
        return ResumeMode.SEQUENCE
    return ResumeMode.NONE


def next_stream_id(entry_id: str) -> str | None:
    """The smallest Redis stream id after `entry_id` (an inclusive start that skips it), or None."""
    millis, sep, seq = entry_id.partition("-")
    if not (sep and millis.isdigit() and seq.isdigit()):
        return None
    return f"{millis}-{int(seq) + 1}"


def resume_start(
    mode: ResumeMode, original: StartPosition, last: Mapping[int | None, Position]
) -> tuple[StartPosition, str]:
    """(where to start again, a few words for the status line) given the last position shown per partition."""
    if not last:
        if original.kind == "end":
            return StartPosition("end"), "from the end (nothing was shown yet)"
        return original, f"from {original} again (nothing was shown yet)"
    if mode is ResumeMode.PARTITIONS:
        offsets = tuple(sorted((p, pos + 1) for p, pos in last.items() if isinstance(p, int) and isinstance(pos, int)))
        if offsets:
            return (
                StartPosition(original.kind, original.offset, original.time, partition_offsets=offsets),
                "after the last message shown",
            )
    position = last.get(None)
    if mode is ResumeMode.SEQUENCE and isinstance(position, int):
        return StartPosition("offset", offset=position + 1), "after the last message shown"
    if mode is ResumeMode.STREAM_ID and isinstance(position, str):
        following = next_stream_id(position)
        if following is not None:
            return StartPosition("offset", offset=following), "after the last message shown"
    return StartPosition("end"), "from the end (this destination keeps no positions to return to)"
