"""`publish --from-jsonl FILE`: send again what `tail --json`, `dlq show --json` or an export wrote.

Every line is read and checked before anything is sent, so a bad line 9,000 is one line naming it and
exit 2 with nothing published. Each message keeps its key, its value bytes (base64 lines included)
and its headers; `--rate` paces the sends, `--dry-run` only says what would go where. The write
policy and the confirmation are those of `publish`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from mqtui import jsonl
from mqtui.commands.output import Output, confirm, parse_pairs, report_published
from mqtui.errors import UsageError
from mqtui.model import Capability, OutgoingMessage, PublishResult
from mqtui.safetext import safe_line
from mqtui.services.gateway import Adapter, Gateway

PACE_STEPS_PER_SECOND = 10
"""A paced send goes out in this many batches a second, so `--rate 1000` is not 1,000 round trips."""


def read_jsonl(path: str) -> list[OutgoingMessage]:
    """The messages of a JSON Lines file; the first bad line is a UsageError naming its number."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read --from-jsonl {path}: {exc.strerror}") from None
    messages = []
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            messages.append(outgoing(orjson.loads(line)))
        except (orjson.JSONDecodeError, ValueError, TypeError, KeyError, AttributeError) as exc:
            reason = "not JSON" if isinstance(exc, orjson.JSONDecodeError) else _reason(exc)
            raise UsageError(f"--from-jsonl {path}: line {number}: {reason}") from None
    if not messages:
        raise UsageError(f"--from-jsonl {path}: no messages in it")
    return messages


def _reason(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"no {exc.args[0]!r}"
    if isinstance(exc, binascii.Error):
        return f"invalid base64 ({exc})"
    return safe_line(str(exc), 120) or type(exc).__name__


def outgoing(record: Any) -> OutgoingMessage:
    """A message line (`tail --json`, an export) or a dead-letter line (`dlq show --json`) to send again."""
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    if isinstance(record.get("message"), dict):  # a dead letter: the message is inside
        record = record["message"]
    if "value" not in record:
        raise KeyError("value")
    for part in ("key", "value"):
        encoding = record.get(f"{part}_encoding", "utf-8")
        if encoding not in ("utf-8", "base64", jsonl.DECODED):
            raise ValueError(f"{part}_encoding must be utf-8, base64 or {jsonl.DECODED}, not {str(encoding)[:20]!r}")
        if encoding != jsonl.DECODED and not isinstance(record.get(part), str | None):
            raise TypeError(f"{part} must be a string (or a decoded value with {part}_encoding {jsonl.DECODED!r})")
        # A lenient decoder would send "%%%" as no bytes at all: base64 is checked strictly.
        if encoding == "base64" and record.get(part) is not None:
            base64.b64decode(record[part], validate=True)
        if isinstance(record.get(f"{part}_raw"), str):
            base64.b64decode(record[f"{part}_raw"], validate=True)
    if not isinstance(record.get("headers") or {}, dict):
        raise TypeError("headers must be an object")
    message = jsonl.message_from_record({"broker": "", "destination": "", **record})
    return OutgoingMessage(value=message.value, key=message.key, headers=message.headers)


async def send(
    adapter: Adapter, destination: str, messages: Sequence[OutgoingMessage], options: dict[str, str], rate: float | None
) -> PublishResult:
    """All at once, or paced at `rate` messages a second in small batches; one result for the whole."""
    if rate is None:
        return await adapter.publish(destination, messages, options=options)
    size = max(1, int(rate // PACE_STEPS_PER_SECOND))
    started, sent, unroutable = time.monotonic(), 0, 0
    failed: list[tuple[int, str]] = []
    positions: list[Any] = []
    for first in range(0, len(messages), size):
        delay = started + first / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        result = await adapter.publish(destination, messages[first : first + size], options=options)
        sent += result.sent
        unroutable += result.unroutable
        failed += [(first + index, error) for index, error in result.failed]
        positions += result.positions
    return PublishResult(sent=sent, failed=tuple(failed), positions=tuple(positions), unroutable=unroutable)


def _preview(messages: Sequence[OutgoingMessage], out: Output, where: str) -> None:
    if out.as_json:
        out.records({"index": index, "key": jsonl.header_value(m.key), "value_bytes": len(m.value),
                     "headers": jsonl.headers_object(m.headers)} for index, m in enumerate(messages))  # fmt: skip
        return
    out.text(f"would send {len(messages):,} message(s) to {where} (dry run: nothing sent)")
    for index, message in enumerate(messages[:20]):
        key = "-" if message.key is None else safe_line(message.key, 40)
        out.text(f"  {index + 1}: key {key}, {len(message.value):,} bytes, {len(message.headers)} header(s)")
    if len(messages) > 20:
        out.text(f"  … and {len(messages) - 20:,} more")


async def cmd_publish_jsonl(gateway: Gateway, args: argparse.Namespace, out: Output) -> int:
    if args.key is not None or args.header or args.count != 1:
        raise UsageError("--from-jsonl keeps each line's key and headers: --key, --header and --count do not apply")
    gateway.check(args.broker, None if args.dry_run else Capability.PUBLISH)
    messages = read_jsonl(args.from_jsonl)
    options = dict(parse_pairs(args.prop, "--prop"))
    where = f"{args.broker}/{args.destination}"
    if args.dry_run:
        _preview(messages, out, where)
        return 0
    pace = f" at {args.rate:g}/s" if args.rate else ""
    confirm(f"publish {len(messages):,} message(s) from {args.from_jsonl} to {where}{pace}?", args.yes)
    result = await gateway.call(
        args.broker, lambda a: send(a, args.destination, messages, options, args.rate), writes=Capability.PUBLISH
    )
    return report_published(out, result)
