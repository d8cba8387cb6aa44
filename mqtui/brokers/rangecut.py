"""Where a range read stops: the readers of NATS and RabbitMQ streams get messages in order, so the first
one past the range's end (an offset, or a time no position can be planned from) ends the read."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mqtui.model import Message


def before_end(batch: Sequence[Message], past: Callable[[Message], bool]) -> tuple[list[Message], bool]:
    """The messages of `batch` before the first one `past` the end, and whether that end was reached."""
    for index, message in enumerate(batch):
        if past(message):
            return list(batch[:index]), True
    return list(batch), False
