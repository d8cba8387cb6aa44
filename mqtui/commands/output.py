"""What every CLI command shares: where it writes (JSON Lines or tables), its one-line warnings, its
confirmation question, and the parsing of `KEY=VALUE` and position arguments.

Broker-provided text (names, error strings, payloads) is made terminal-safe before it is printed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from mqtui import jsonl
from mqtui.errors import Aborted, MqtuiError, UsageError
from mqtui.figures import format_table
from mqtui.model import Detail, Message, PublishResult, StartPosition
from mqtui.safetext import safe_line
from mqtui.secrets import scrub
from mqtui.services.decoding import payload_line
from mqtui.services.gateway import FanOut


class Output:
    """Where a command writes: JSON Lines or human tables, on binary stdout for speed."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.stream = sys.stdout.buffer
        self.raw = True
        """Decoded values also as their bytes (`value_raw`); `--no-raw` turns it off."""

    def records(self, records: Iterable[dict[str, Any]]) -> None:
        self.stream.write(jsonl.dumps_many(records))
        self.stream.flush()

    def messages(self, messages: Sequence[Message]) -> None:
        self.stream.write(jsonl.dumps_messages(messages, self.raw))
        self.stream.flush()

    def text(self, text: str) -> None:
        self.stream.write(text.encode("utf-8", errors="replace") + b"\n")
        self.stream.flush()


def warn(message: str) -> None:
    """One line on stderr; broker-provided text in it (names, error strings) is made terminal-safe."""
    print(f"mqtui: {safe_line(scrub(message), None)}", file=sys.stderr, flush=True)


def report_published(out: Output, result: PublishResult, *, positions: bool = False) -> int:
    """What a publish did (sent, failed, unroutable; with `positions`, where each message landed) and its
    exit status: 1 when any message failed or was unroutable. `publish` and `publish --from-jsonl` say it
    the same way."""
    if out.as_json:
        record: dict[str, Any] = {"sent": result.sent, "failed": [{"index": i, "error": e} for i, e in result.failed],
                                  "unroutable": result.unroutable}  # fmt: skip
        if positions:
            record["positions"] = list(result.positions)
        out.records([record])
    else:
        out.text(f"sent {result.sent}, failed {len(result.failed)}"
                 + (f", unroutable {result.unroutable}" if result.unroutable else ""))  # fmt: skip
        for index, error in result.failed:
            warn(f"message {index + 1}: {error}")
    return 1 if result.failed or result.unroutable else 0


def warn_failures(fan_out: FanOut[Any]) -> int:
    """Say on stderr why each broker of a fan-out failed, naming it once; returns how many failed."""
    for name, error in fan_out.failures:
        if isinstance(error, MqtuiError):
            warn(str(error) if str(error).startswith(name) else f"{name}: {error}")
        else:
            warn(f"{name}: {type(error).__name__}: {error}")
    return len(fan_out.failures)


def confirm(question: str, assume_yes: bool) -> None:
    """Ask on a terminal; without one, refuse rather than guess."""
    if assume_yes:
        return
    if not sys.stdin.isatty():
        raise Aborted(f"{question.rstrip('?')}: refused without --yes (stdin is not a terminal)")
    answer = input(f"{question} [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise Aborted("cancelled")


def parse_pairs(pairs: Sequence[str], what: str) -> list[tuple[str, str]]:
    parsed = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"{what} must look like KEY=VALUE, not {pair!r}")
        parsed.append((key, value))
    return parsed


def parse_start(text: str, option: str) -> StartPosition:
    try:
        return StartPosition.parse(text, option)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def progress_printer(verb: str) -> Callable[[int, int], None]:
    """A progress callback that redraws "verb: done/total" on one stderr line."""

    def show(done: int, total: int) -> None:
        sys.stderr.write(f"\r{verb}: {done:,}/{total:,}")
        sys.stderr.flush()

    return show


def print_detail(detail: Detail, out: Output) -> None:
    if out.as_json:
        out.records([{
            "broker": detail.broker, "name": detail.name, "summary": dict(detail.summary),
            "sections": [{"title": s.title, "columns": list(s.columns), "rows": [list(r) for r in s.rows]}
                         for s in detail.sections],
        }])  # fmt: skip
        return
    width = max((len(k) for k, _ in detail.summary), default=0)
    lines = [f"{detail.broker} / {safe_line(detail.name)}"]
    lines += [f"  {k.ljust(width)}  {safe_line(v)}" for k, v in detail.summary]
    for section in detail.sections:
        lines += ["", section.title, format_table(section.columns, section.rows)]
    out.text("\n".join(lines))


def message_line(message: Message) -> str:
    when = message.timestamp.strftime("%H:%M:%S.%f")[:-3] if message.timestamp else "-"
    where = message.destination if message.partition is None else f"{message.destination}[{message.partition}]"
    key = safe_line(message.key, 40) if message.key is not None else "-"
    return f"{when}  {safe_line(where, 60)}@{safe_line(str(message.position), 30)}  {key}  {payload_line(message, 400)}"


def print_messages(messages: Sequence[Message], out: Output) -> None:
    if out.as_json:
        out.messages(messages)
    else:
        out.text("\n".join(message_line(m) for m in messages))
