"""Messages a user writes by hand: the publish form's templated bodies and its `NAME=VALUE` headers.

`{{uuid}}`, `{{now}}` and `{{seq}}` are filled in for each message (mqtui.templates), so `count=100`
sends a hundred distinct messages.
"""

from __future__ import annotations

from collections.abc import Sequence

from mqtui import templates
from mqtui.model import OutgoingMessage


def build_messages(
    value: str | bytes,
    *,
    key: str | None = None,
    headers: Sequence[tuple[str, str]] = (),
    count: int = 1,
) -> list[OutgoingMessage]:
    """Messages from the publish form: `{{uuid}}`, `{{now}}`, `{{seq}}` filled in for each (text only).

    A bytes value (duplicating a binary message) is sent as is, never templated.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    messages = []
    for seq in range(1, count + 1):
        body = value if isinstance(value, bytes) else templates.expand(value, seq).encode("utf-8")
        message_key = templates.expand(key, seq).encode("utf-8") if key is not None else None
        message_headers = tuple((name, templates.expand(text, seq).encode("utf-8")) for name, text in headers)
        messages.append(OutgoingMessage(value=body, key=message_key, headers=message_headers))
    return messages


def parse_headers(text: str) -> list[tuple[str, str]]:
    """`K=V` pairs, one per line; raises ValueError naming the bad one."""
    pairs = []
    for raw in text.splitlines():
        item = raw.strip()
        if not item:
            continue
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"header must look like NAME=VALUE, not {item!r}")
        pairs.append((name.strip(), value.strip()))
    return pairs
