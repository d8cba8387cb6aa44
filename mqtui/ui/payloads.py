"""A decoded payload as the console shows it: one line for a list row (the tail, the DLQ browser) and
a block for the message view. Decoding happened in `services/decoding`; this only draws its result,
always through `safetext`, so a decoded string holding an escape sequence is as harmless as raw bytes.
"""

from __future__ import annotations

from mqtui.model import Decoded, Message
from mqtui.safetext import safe_block, safe_line
from mqtui.services.decoding import describe, payload_line
from mqtui.services.decoding.envelopes import envelope_fields

__all__ = ["decoded_block", "decoding_summary", "key_line", "payload_line"]
"""`payload_line` is the services' own (the CLI's lines use it too), offered here with the console's other drawings."""


def key_line(message: Message, width: int = 40) -> str:
    """A key as a row shows it: its decoded value where a registry or a local schema read it (a framed
    Avro string key is "order-7", not five bytes of framing), else its text."""
    decoded = message.decoded_key
    if decoded is not None and decoded.ok:
        value = decoded.value
        return safe_line(value if isinstance(value, str) else describe(value).replace("\n", " "), width)
    return safe_line(message.key, width)


def decoded_block(decoded: Decoded, limit: int = 200_000) -> str:
    """The message view's decoded body: envelope fields first, then the value as indented JSON."""
    lines = [f"{name}: {safe_line(value, 300)}" for name, value in envelope_fields(decoded.value)]
    if decoded.error:
        lines.append(f"! {safe_line(decoded.error, 300)}")
    if lines:
        lines.append("")
    return "\n".join(lines) + safe_block(describe(decoded.value), limit)


def decoding_summary(message: Message) -> str | None:
    """The message view's "decoding" row: what it was read as, or why it could not be."""
    decoded = message.decoded
    if decoded is None:
        return None
    if not decoded.ok:
        return f"not decoded: {decoded.error}"
    return decoded.label
