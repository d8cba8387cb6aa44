"""The Confluent wire format: magic byte 0, a 4-byte big-endian schema id, then the payload; a
Protobuf payload starts with its message-index list (zigzag varints: a count, then the indexes of the
message type in the schema's file, nested from the top; a count of 0 means the first message).

Kept apart so every other module reads framed bytes the same way, and so hostile input (truncated
headers, absurd counts) fails here with one clear reason.
"""

from __future__ import annotations

MAGIC = 0
HEADER = 5
_MAX_INDEXES = 64
"""Message nesting deeper than this is not a real schema: a hostile count must not make a long loop."""


class WireError(ValueError):
    """Framed bytes that cannot be what they claim; the message says what is wrong in a few words."""


def _varint(data: bytes | memoryview, offset: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if offset >= len(data):
            raise WireError("truncated message-index list")
        byte = data[offset]
        offset += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return (result >> 1) ^ -(result & 1), offset  # zigzag
        shift += 7
        if shift > 63:
            raise WireError("malformed varint in the message-index list")


def message_indexes(data: bytes | memoryview, offset: int = 0) -> tuple[list[int], int]:
    """The Protobuf message-index list starting at `offset`, and where the message itself starts."""
    count, offset = _varint(data, offset)
    if count == 0:
        return [0], offset
    if not 0 < count <= _MAX_INDEXES:
        raise WireError(f"message-index list of {count} entries")
    indexes = []
    for _ in range(count):
        index, offset = _varint(data, offset)
        if index < 0:
            raise WireError("negative message index")
        indexes.append(index)
    return indexes, offset
