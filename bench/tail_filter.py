"""The Tail pane's filter over a full buffer: how long the UI is held by one step.

A new filter judges the pane's buffer (50,000 messages of ~200 B JSON here) `FILTER_BATCH` messages
between two frames (`ui/panes/tail.py:_refilter`), so the longest step is one batch, not the buffer.
Measured for three filters: words (the byte matcher), a field comparison (jq's subset run in Python) and
an expression outside that subset (jq itself). Baseline, same run: the whole buffer judged in
one step, as the pane did before (the UI frozen for all of it). Target: no step over 50 ms.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import figure, header, note

from mqtui.model import Message
from mqtui.ui.choosing import message_chooser
from mqtui.ui.panes.tail import FILTER_BATCH

BUFFER = 50_000
FILTERS = {
    "words": "refund failed",
    "field comparison": ".value.amount > 990",
    "jq only": '.value | has("refund") or (.customer | endswith("-7"))',
}


def buffer() -> list[Message]:
    now = datetime.now(UTC)
    messages = []
    for n in range(BUFFER):
        value = {"order_id": n, "amount": n % 1000, "status": "refund failed" if n % 97 == 0 else "paid",
                 "customer": f"customer-{n % 313}", "note": "x" * 80}  # fmt: skip
        messages.append(Message("k", "orders", n % 3, n, now, b"order-%d" % n, json.dumps(value).encode(), ()))
    return messages


def main() -> None:
    header(f"tail pane filter over a {BUFFER:,}-message buffer, {FILTER_BATCH:,} a frame")
    messages = buffer()
    note(f"{len(messages):,} messages, {sum(len(m.value) for m in messages) // len(messages)} B values on average")
    for name, text in FILTERS.items():
        chooser = message_chooser(text, {})
        assert chooser is not None
        steps, kept = [], 0
        for start in range(0, len(messages), FILTER_BATCH):
            began = time.perf_counter()
            kept += len(chooser.keep(messages[start : start + FILTER_BATCH]))
            steps.append(time.perf_counter() - began)
        chooser = message_chooser(text, {})  # a fresh one: the expression counts its errors
        assert chooser is not None
        began = time.perf_counter()
        whole = len(chooser.keep(messages))
        one_step = time.perf_counter() - began
        assert whole == kept
        longest = max(steps)
        figure(f"{name}: longest step", f"{longest * 1000:.1f} ms", f"{one_step * 1000:.0f} ms in one step",
               one_step / longest, target="<= 50 ms", ok=longest <= 0.05)  # fmt: skip
        median = sorted(steps)[len(steps) // 2]
        note(f"{name}: {kept:,} kept; median step {median * 1000:.1f} ms, all batches {sum(steps) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
