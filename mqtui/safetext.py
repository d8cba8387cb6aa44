"""Turning untrusted payload bytes into text that is safe to put on a terminal.

Everything a broker hands us (values, keys, header names and values, destination names) passes through
here before it reaches a screen, a table or a log line. Control characters would let a message move
the cursor, retitle the terminal, ring the bell or write the clipboard (OSC 52); bidi overrides would
let it reorder what the operator reads. Both are replaced by visible stand-ins. Rich/Textual markup
is not handled here: the UI draws `rich.text.Text` objects, which never interpret markup.
"""

from __future__ import annotations

import re
from typing import Final

import orjson

_CONTROL: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CONTROL_WITH_NEWLINES: Final = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
ELLIPSIS: Final = "…"


def _stand_in(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)  # the Unicode control pictures: ␛ for ESC, ␇ for BEL
    if code == 0x7F:
        return "␡"
    return f"<U+{code:04X}>"


def decode(data: bytes | str) -> str:
    """Bytes as text: UTF-8 where valid, `\\xNN` for every byte that is not."""
    if isinstance(data, str):
        return data
    return data.decode("utf-8", errors="backslashreplace")


def is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def safe_line(data: bytes | str | None, limit: int | None = 200) -> str:
    """One line of safe text for a table cell: newlines and tabs become visible too."""
    if data is None:
        return ""
    text = decode(data[: limit * 4] if limit is not None else data)
    text = _CONTROL_WITH_NEWLINES.sub(_stand_in, text)
    return truncate(text, limit)


def safe_block(data: bytes | str | None, limit: int | None = 200_000) -> str:
    """Multi-line safe text for a detail view: keeps newlines and tabs, replaces every other control."""
    if data is None:
        return ""
    text = decode(data[: limit * 4] if limit is not None else data).replace("\r\n", "\n")
    text = _CONTROL.sub(_stand_in, text)
    return truncate(text, limit)


def truncate(text: str, limit: int | None) -> str:
    if limit is None or len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + ELLIPSIS


def pretty_json(data: bytes, limit: int = 200_000) -> str | None:
    """Indented JSON if the payload parses as JSON, else None; safe like `safe_block`."""
    stripped = data.lstrip()[:1]
    if stripped not in (b"{", b"["):
        return None
    try:
        parsed = orjson.loads(data)
        text = orjson.dumps(parsed, option=orjson.OPT_INDENT_2).decode()
    except (orjson.JSONDecodeError, orjson.JSONEncodeError, RecursionError, TypeError):
        return None
    return safe_block(text, limit)


def hexdump(data: bytes, limit: int = 64 * 1024) -> str:
    """Offset, hex bytes and printable ASCII, 16 bytes a row, like `hexdump -C`."""
    rows = []
    shown = data[:limit]
    for offset in range(0, len(shown), 16):
        chunk = shown[offset : offset + 16]
        hex_part = " ".join(f"{byte:02x}" for byte in chunk)
        text_part = "".join(chr(byte) if 0x20 <= byte < 0x7F else "." for byte in chunk)
        rows.append(f"{offset:08x}  {hex_part:<47}  |{text_part}|")
    if len(data) > limit:
        rows.append(f"… {len(data) - limit:,} more bytes")
    return "\n".join(rows)
