"""What each CLI subcommand does, on top of the session and the broker adapters.

Commands over several brokers ask them all at once and report a broker that fails on stderr while the
others still answer (exit 1 at the end). Write actions check the readonly flag before connecting, then
ask for confirmation unless `--yes` was given.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from mqtui import jsonl, templates
from mqtui.brokers import create_adapter
from mqtui.brokers.base import BrokerAdapter
from mqtui.config import BrokerConfig
from mqtui.errors import Aborted, MqtuiError, NotFound, UsageError
from mqtui.figures import age, count, format_table, rate
from mqtui.model import (
    BacklogRow,
    Capability,
    Destination,
    Detail,
    Message,
    OutgoingMessage,
    ReplayResult,
    StartPosition,
)
from mqtui.safetext import safe_line
from mqtui.secrets import scrub
from mqtui.services.session import Session, connected, open_session, profile_names

T = TypeVar("T")


class Output:
    """Where a command writes: JSON Lines or human tables, on binary stdout for speed."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.stream = sys.stdout.buffer

    def records(self, records: Iterable[dict[str, Any]]) -> None:
        self.stream.write(jsonl.dumps_many(records))
        self.stream.flush()

    def messages(self, messages: Sequence[Message]) -> None:
        self.stream.write(jsonl.dumps_messages(messages))
        self.stream.flush()

    def text(self, text: str) -> None:
        self.stream.write(text.encode("utf-8", errors="replace") + b"\n")
        self.stream.flush()


def warn(message: str) -> None:
    """One line on stderr; broker-provided text in it (names, error strings) is made terminal-safe."""
    print(f"mqtui: {safe_line(scrub(message), None)}", file=sys.stderr, flush=True)


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


async def for_each_broker(
    brokers: Sequence[BrokerConfig], action: Callable[[BrokerAdapter], Awaitable[T]]
) -> tuple[list[T], int]:
    """Run `action` on every broker concurrently; failures are reported and counted, not raised."""

    async def one(config: BrokerConfig) -> T:
        async with connected(config) as adapter:
            answer = await action(adapter)
            for notice in adapter.notices:  # what a bounded answer left out (Redis scans)
                warn(notice)
            return answer

    results = await asyncio.gather(*(one(config) for config in brokers), return_exceptions=True)
    answers: list[T] = []
    failures = 0
    for config, result in zip(brokers, results, strict=True):
        if isinstance(result, MqtuiError):
            warn(f"{config.name}: {result}" if not str(result).startswith(config.name) else str(result))
            failures += 1
        elif isinstance(result, BaseException):
            warn(f"{config.name}: {type(result).__name__}: {result}")
            failures += 1
        else:
            answers.append(result)
    return answers, failures


# -- commands that need no broker ------------------------------------------------------------------
def cmd_profiles(args: argparse.Namespace) -> int:
    from mqtui.config import load_config, permission_warning

    config, path = load_config(args.config)
    notice = permission_warning(path)
    if notice:
        warn(notice)
    out = Output(args.json)
    rows = []
    for name in profile_names(config):
        profile = config.profiles.get(name)
        if profile is None:
            rows.append({"name": name, "brokers": ["kafka", "rabbitmq", "redis", "nats"], "readonly": False,
                         "production": False, "builtin": True})  # fmt: skip
        else:
            rows.append({"name": name, "brokers": [f"{b.name} ({b.kind})" for b in profile.brokers],
                         "readonly": profile.readonly, "production": profile.production, "builtin": False})  # fmt: skip
    if out.as_json:
        out.records(rows)
    else:
        out.text(f"config: {path}")
        table = [
            (r["name"], "built-in" if r["builtin"] else ("production" if r["production"] else ""),
             "readonly" if r["readonly"] else "", ", ".join(r["brokers"]))
            for r in rows
        ]  # fmt: skip
        out.text(format_table(("PROFILE", "TYPE", "MODE", "BROKERS"), table))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from mqtui import demo

    if args.action == "start":
        run = demo.ensure_running(detached=True)
        for notice in run.notices():
            warn(notice)
        _print_demo_brokers(run.brokers)
        return 0
    if args.action == "stop":
        print("demo stopped" if demo.stop_demo() else "demo was not running")
        return 0
    run = demo.running_demo()
    if run is None:
        print("demo is not running")
        return 1
    _print_demo_brokers(run.brokers)
    return 0


def _print_demo_brokers(brokers: Sequence[Mapping[str, Any]]) -> None:
    """Where each demo broker listens; a URL's password is masked even for the demo's guest account."""
    from mqtui.config import redact_url

    for broker in brokers:
        print(f"{broker['name']}: {redact_url(str(broker['url']))}")


def cmd_console(args: argparse.Namespace) -> int:
    from mqtui.ui.launch import run_console

    return run_console(config_path=args.config, profile=args.profile)


# -- reading ---------------------------------------------------------------------------------------
async def cmd_ls(session: Session, args: argparse.Namespace, out: Output) -> int:
    results, failures = await for_each_broker(
        session.brokers(args.broker), lambda a: a.destinations(include_internal=args.all)
    )
    destinations = [d for batch in results for d in batch]
    if out.as_json:
        out.records(jsonl.destination_record(d) for d in destinations)
    else:
        rows = [
            (d.broker, d.name, d.kind.value, count(d.depth), count(d.in_flight), count(d.consumers),
             count(d.partitions), _replicas(d), rate(d.rate_in), rate(d.rate_out), "DLQ" if d.is_dlq else "")
            for d in destinations
        ]  # fmt: skip
        out.text(format_table(
            ("BROKER", "NAME", "KIND", "DEPTH", "IN-FLIGHT", "CONSUMERS", "PARTS", "REPL", "IN", "OUT", ""),
            rows, numeric=(3, 4, 5, 6, 7, 8, 9),
        ))  # fmt: skip
    return 1 if failures else 0


def _replicas(destination: Destination) -> str:
    """Copies kept of each message: a topic under-replicated at 1 is worth seeing next to its depth."""
    return destination.extra.get("replication") or destination.extra.get("replicas") or "-"


async def cmd_describe(session: Session, args: argparse.Namespace, out: Output) -> int:
    async with connected(session.broker(args.broker)) as adapter:
        detail = await adapter.describe(args.destination)
    print_detail(detail, out)
    return 0


async def cmd_group(session: Session, args: argparse.Namespace, out: Output) -> int:
    async with connected(session.broker(args.broker)) as adapter:
        detail = await adapter.describe_group(args.group)
    print_detail(detail, out)
    return 0


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


def sort_backlog(rows: list[BacklogRow]) -> list[BacklogRow]:
    return sorted(rows, key=lambda r: (-(r.lag or 0), r.broker, r.destination, r.group, r.partition or 0))


async def cmd_lag(session: Session, args: argparse.Namespace, out: Output) -> int:
    results, failures = await for_each_broker(session.brokers(args.broker), lambda a: a.backlog(group=args.group))
    rows = sort_backlog([row for batch in results for row in batch])
    if out.as_json:
        out.records(jsonl.backlog_record(r) for r in rows)
    else:
        table = [
            (r.broker, r.destination, r.group, "-" if r.partition is None else r.partition,
             "none" if r.committed is None else r.committed, "-" if r.end is None else r.end,
             ("≥" if r.lag_at_least else "") + count(r.lag),
             count(r.in_flight), count(r.consumers), r.state or "", age(r.last_activity))
            for r in rows
        ]  # fmt: skip
        out.text(format_table(
            ("BROKER", "DESTINATION", "GROUP", "PART", "COMMITTED", "END", "LAG", "IN-FLIGHT", "CONSUMERS",
             "STATE", "ACTIVE"),
            table, numeric=(3, 4, 5, 6, 7, 8),
        ))  # fmt: skip
    return 1 if failures else 0


def message_line(message: Message) -> str:
    when = message.timestamp.strftime("%H:%M:%S.%f")[:-3] if message.timestamp else "-"
    where = message.destination if message.partition is None else f"{message.destination}[{message.partition}]"
    key = safe_line(message.key, 40) if message.key is not None else "-"
    return (
        f"{when}  {safe_line(where, 60)}@{safe_line(str(message.position), 30)}  {key}  {safe_line(message.value, 400)}"
    )


def print_messages(messages: Sequence[Message], out: Output) -> None:
    if out.as_json:
        out.messages(messages)
    else:
        out.text("\n".join(message_line(m) for m in messages))


async def cmd_tail(session: Session, args: argparse.Namespace, out: Output) -> int:
    start = parse_start(args.start, "--from")
    remaining = args.limit
    config = session.broker(args.broker)
    async with connected(config) as adapter:
        if await waits_for_missing(adapter, config.kind, args.destination, start):
            missing = f"no such destination {args.destination!r} on broker {args.broker}"
            if args.end:
                raise UsageError(f"{missing}: nothing to read to its end")
            warn(f"{missing} (waiting for it to appear)")
        stream = adapter.tail(args.destination, start=start, stop_at_end=args.end)
        try:
            async for batch in stream:
                if remaining is not None:
                    batch = batch[:remaining]
                    remaining -= len(batch)
                if batch:
                    print_messages(batch, out)
                if remaining == 0:
                    break
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
    return 0


async def waits_for_missing(adapter: BrokerAdapter, kind: str, destination: str, start: StartPosition) -> bool:
    """Whether a tail would wait in silence for a destination that does not exist (yet).

    Redis tails a missing key as an empty list (an idle queue has no key) and NATS tails a subject no
    stream stores as core traffic from the end: both are right to wait, but an on-call engineer who
    mistyped the name must be told. Kafka and RabbitMQ tails (and NATS ones from a position) end with
    NotFound by themselves. The adapter's `describe` answers NotFound for the same names its tail waits on.
    """
    if not (kind == "redis" or (kind == "nats" and start.kind == "end")):
        return False
    try:
        await adapter.describe(destination)
    except NotFound:
        return True
    except MqtuiError:
        return False  # could not tell; the tail itself reports what is wrong
    return False


async def cmd_peek(session: Session, args: argparse.Namespace, out: Output) -> int:
    config = session.broker(args.broker)
    if not create_adapter(config).can(Capability.PEEK_ONLY_READS):  # asked before any connection
        session.policy.require_writable("peek")
        confirm(f"peek at {args.limit} messages in {args.destination} (they will be marked redelivered)?", args.yes)
    async with connected(config) as adapter:
        messages = await adapter.peek(args.destination, limit=args.limit)
    print_messages(messages, out)
    return 0


# -- writing ---------------------------------------------------------------------------------------
def build_messages(args: argparse.Namespace) -> list[OutgoingMessage]:
    headers = [(k, v) for k, v in parse_pairs(args.header, "--header")]
    if args.file is not None:
        try:
            body = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read --file {args.file}: {exc.strerror}") from None
        bodies: Callable[[int], bytes] = lambda _seq: body  # noqa: E731
    else:
        bodies = lambda seq: templates.expand(args.value, seq).encode()  # noqa: E731
    messages = []
    for seq in range(1, args.count + 1):
        key = templates.expand(args.key, seq).encode() if args.key is not None else None
        message_headers = tuple((k, templates.expand(v, seq).encode()) for k, v in headers)
        messages.append(OutgoingMessage(value=bodies(seq), key=key, headers=message_headers))
    return messages


async def cmd_publish(session: Session, args: argparse.Namespace, out: Output) -> int:
    session.policy.require_writable("publish")
    messages = build_messages(args)
    options = dict(parse_pairs(args.prop, "--prop"))
    confirm(f"publish {len(messages)} message(s) to {args.broker}/{args.destination}?", args.yes)
    async with connected(session.broker(args.broker)) as adapter:
        result = await adapter.publish(args.destination, messages, options=options)
    if out.as_json:
        out.records([{"sent": result.sent, "failed": [{"index": i, "error": e} for i, e in result.failed],
                      "unroutable": result.unroutable, "positions": list(result.positions)}])  # fmt: skip
    else:
        out.text(f"sent {result.sent}, failed {len(result.failed)}"
                 + (f", unroutable {result.unroutable}" if result.unroutable else ""))  # fmt: skip
        for index, error in result.failed:
            warn(f"message {index + 1}: {error}")
    return 1 if result.failed or result.unroutable else 0


async def cmd_request(session: Session, args: argparse.Namespace, out: Output) -> int:
    session.policy.require_writable("request")
    headers = tuple((k, v.encode()) for k, v in parse_pairs(args.header, "--header"))
    confirm(f"send a request to {args.broker}/{args.destination}?", args.yes)
    async with connected(session.broker(args.broker)) as adapter:
        reply = await adapter.request(
            args.destination,
            OutgoingMessage(value=args.value.encode(), headers=headers),
            timeout=args.timeout,
        )
    print_messages([reply], out)
    return 0


async def cmd_purge(session: Session, args: argparse.Namespace, out: Output) -> int:
    session.policy.require_writable("purge")
    confirm(f"purge every message from {args.broker}/{args.destination}?", args.yes)
    async with connected(session.broker(args.broker)) as adapter:
        removed = await adapter.purge(args.destination)
    out.text(f"purged {removed:,} message(s) from {args.destination}")
    return 0


async def cmd_reset_offsets(session: Session, args: argparse.Namespace, out: Output) -> int:
    session.policy.require_writable("offset reset")
    target = parse_start(args.to, "--to")
    scope = f" on {args.topic}" if args.topic else ""
    confirm(f"reset group {args.group}{scope} to {target}?", args.yes)
    async with connected(session.broker(args.broker)) as adapter:
        rows = await adapter.reset_offsets(args.group, to=target, destination=args.topic)
    if out.as_json:
        out.records(jsonl.backlog_record(r) for r in rows)
    else:
        out.text(format_table(
            ("DESTINATION", "PART", "COMMITTED", "END", "LAG"),
            [(r.destination, r.partition, r.committed, r.end, count(r.lag)) for r in rows], numeric=(1, 2, 3, 4),
        ))  # fmt: skip
    return 0


# -- dead letters ----------------------------------------------------------------------------------
async def cmd_dlq_ls(session: Session, args: argparse.Namespace, out: Output) -> int:
    results, failures = await for_each_broker(session.brokers(args.broker), lambda a: a.dead_letter_queues())
    queues = [q for batch in results for q in batch]
    if out.as_json:
        out.records(jsonl.dlq_record(q) for q in queues)
    else:
        out.text(format_table(
            ("BROKER", "DLQ", "KIND", "ORIGIN", "COUNT", "OLDEST", "FOUND BY"),
            [(q.broker, q.name, q.kind.value, q.origin or "-", count(q.count), age(q.oldest), q.detected_by)
             for q in queues],
            numeric=(4,),
        ))  # fmt: skip
    return 1 if failures else 0


async def confirm_reading(session: Session, adapter: BrokerAdapter, dlq: str, assume_yes: bool) -> None:
    """Reading a DLQ whose reads count as deliveries (`read_hazard`) is a write action: confirmed, never readonly."""
    hazard = await adapter.read_hazard(dlq)
    if hazard is not None:
        hazard = safe_line(hazard)
        session.policy.require_writable(f"reading {dlq} ({hazard})")
        confirm(f"read the dead letters of {dlq} ({hazard})?", assume_yes)


async def cmd_dlq_show(session: Session, args: argparse.Namespace, out: Output) -> int:
    async with connected(session.broker(args.broker)) as adapter:
        await confirm_reading(session, adapter, args.dlq, args.yes)
        letters = await adapter.dead_letters(args.dlq, limit=args.limit)
    if out.as_json:
        out.records(jsonl.dead_letter_record(letter) for letter in letters)
    else:
        out.text(format_table(
            ("ID", "ORIGIN", "REASON", "ATTEMPTS", "FIRST FAILURE", "LAST FAILURE", "VALUE"),
            [(letter.id, letter.origin or "-", safe_line(letter.reason, 60) if letter.reason else "-",
              count(letter.attempts), age(letter.first_failure), age(letter.last_failure),
              ("(gone) " if letter.gone else "") + safe_line(letter.message.value, 60))
             for letter in letters],
        ))  # fmt: skip
    return 0


async def cmd_dlq_replay(session: Session, args: argparse.Namespace, out: Output) -> int:
    if not args.dry_run:
        session.policy.require_writable("dlq replay")
    async with connected(session.broker(args.broker)) as adapter:
        await confirm_reading(session, adapter, args.dlq, args.yes)
        plan = await adapter.plan_replay(args.dlq, to=args.to, ids=args.ids, limit=args.limit)
        sendable = [item for item in plan if item.skip_reason is None]
        targets: dict[str, int] = {}
        for item in sendable:
            targets[item.target] = targets.get(item.target, 0) + 1
        preview = ", ".join(f"{n} to {safe_line(target, 100)}" for target, n in sorted(targets.items()))
        preview = preview or "nothing to send"
        if args.dry_run:
            if out.as_json:
                out.records({"id": i.id, "target": i.target, "skip_reason": i.skip_reason} for i in plan)
            else:
                out.text(f"would {adapter.replay_verb} {len(sendable)} of {len(plan)} dead letter(s): {preview}")
                for item in plan:
                    out.text(f"  {safe_line(item.id)} -> {safe_line(item.target)}"
                             + (f" (skip: {safe_line(item.skip_reason)})" if item.skip_reason else ""))  # fmt: skip
            return 0
        progress = None
        if sendable:
            confirm(f"{adapter.replay_verb} {len(sendable)} dead letter(s) from {args.dlq}: {preview}?", args.yes)
            progress = _progress_printer(adapter.replay_verb) if sys.stderr.isatty() else None
            result = await adapter.replay(args.dlq, to=args.to, ids=args.ids, limit=args.limit, progress=progress)
        elif plan:
            # Nothing to send, but the adapter still settles what it skips (Kafka records copies a killed
            # run delivered) and reports why the rest cannot go: limited to these ids, nothing else moves.
            result = await adapter.replay(args.dlq, to=args.to, ids=[item.id for item in plan], limit=args.limit)
        else:
            result = ReplayResult()
    if progress is not None:
        print(file=sys.stderr)
    if not sendable and not out.as_json:
        out.text(f"nothing to {adapter.replay_verb} in {args.dlq}")
        for error in result.errors[:20]:
            warn(error)
        return 1 if result.failed else 0
    if out.as_json:
        out.records([{"sent": result.sent, "failed": result.failed, "skipped": result.skipped,
                      "duplicates": result.duplicates, "errors": list(result.errors)}])  # fmt: skip
    else:
        summary = f"sent {result.sent}, failed {result.failed}, skipped {result.skipped}"
        if result.duplicates:
            summary += f", possible duplicates {result.duplicates}"
        out.text(summary)
        for error in result.errors[:20]:
            warn(error)
    return 1 if result.failed else 0


async def cmd_dlq_move(session: Session, args: argparse.Namespace, out: Output) -> int:
    if not args.dry_run:
        session.policy.require_writable("dlq move")
    async with connected(session.broker(args.broker)) as adapter:
        ready = await adapter.plan_move(args.queue, to=args.to)
        plan = f"{ready:,} message(s) ready in {safe_line(args.queue)} to {safe_line(args.to)}"
        if args.dry_run:
            if out.as_json:
                out.records([{"source": args.queue, "target": args.to, "ready": ready}])
            else:
                out.text(f"would move {plan} with a shovel on the broker")
            return 0
        progress = None
        if ready:
            confirm(f"move {plan} with a shovel? It runs on the broker and finishes even if mqtui stops; "
                    "messages keep their headers and get no requeue headers", args.yes)  # fmt: skip
            progress = _progress_printer("move") if sys.stderr.isatty() else None
        result = await adapter.move_queue(args.queue, to=args.to, progress=progress) if ready else ReplayResult()
    if progress is not None:
        print(file=sys.stderr)
    if out.as_json:
        out.records([{"moved": result.sent, "not_moved": result.failed, "errors": list(result.errors)}])
    else:
        out.text(f"moved {result.sent:,} of {ready:,}" if ready else f"nothing to move in {safe_line(args.queue)}")
        for error in result.errors:
            warn(error)
    return 1 if result.failed else 0


def _progress_printer(verb: str) -> Callable[[int, int], None]:
    def show(done: int, total: int) -> None:
        sys.stderr.write(f"\r{verb}: {done:,}/{total:,}")
        sys.stderr.flush()

    return show


async def cmd_dlq_delete(session: Session, args: argparse.Namespace, out: Output) -> int:
    session.policy.require_writable("dlq delete")
    async with connected(session.broker(args.broker)) as adapter:
        # Asked once connected: finding the ids reads the other dead letters, which can cost them a delivery.
        hazard = await adapter.read_hazard(args.dlq)
        reads = f" (finding them reads the others: {safe_line(hazard)})" if hazard is not None else ""
        confirm(f"delete {len(args.ids)} dead letter(s) from {args.dlq}{reads}?", args.yes)
        deleted = await adapter.delete_dead_letters(args.dlq, args.ids)
    out.text(f"deleted {deleted} dead letter(s)")
    return 0 if deleted == len(args.ids) else 1


BrokerCommand = Callable[[Session, argparse.Namespace, Output], Awaitable[int]]
BROKER_COMMANDS: dict[str, BrokerCommand] = {
    "ls": cmd_ls,
    "describe": cmd_describe,
    "lag": cmd_lag,
    "group": cmd_group,
    "tail": cmd_tail,
    "peek": cmd_peek,
    "publish": cmd_publish,
    "request": cmd_request,
    "purge": cmd_purge,
    "reset-offsets": cmd_reset_offsets,
    "dlq ls": cmd_dlq_ls,
    "dlq show": cmd_dlq_show,
    "dlq replay": cmd_dlq_replay,
    "dlq delete": cmd_dlq_delete,
    "dlq move": cmd_dlq_move,
}


def run_command(args: argparse.Namespace) -> int:
    if args.command is None:
        return cmd_console(args)
    if args.command == "profiles":
        return cmd_profiles(args)
    if args.command == "demo":
        return cmd_demo(args)
    name = f"dlq {args.dlq_command}" if args.command == "dlq" else args.command
    session = open_session(args.config, args.profile)
    for notice in session.notices:
        warn(notice)
    output = Output(getattr(args, "json", False))
    try:
        return asyncio.run(BROKER_COMMANDS[name](session, args, output))
    finally:
        session.close()
