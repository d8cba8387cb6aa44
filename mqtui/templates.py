"""`{{uuid}}`, `{{now}}` and `{{seq}}` in test messages, so `--count 100` sends 100 distinct messages."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

_PLACEHOLDER = re.compile(r"\{\{\s*(uuid|now|seq)\s*\}\}")


def has_placeholders(text: str) -> bool:
    return bool(_PLACEHOLDER.search(text))


def expand(text: str, seq: int) -> str:
    """Fill the placeholders for the `seq`-th message (counting from 1)."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "uuid":
            return str(uuid.uuid4())
        if name == "now":
            return datetime.now(UTC).isoformat().replace("+00:00", "Z")
        return str(seq)

    return _PLACEHOLDER.sub(fill, text)
