"""CLI commands for dead-letter queues: `dlq ls`, `show`, `replay` (or requeue), `move` and `delete`.

Reading a DLQ whose reads count as deliveries (a RabbitMQ quorum queue with a delivery limit) is a
write of its own: refused in a readonly profile and confirmed. A replay or a move shows its plan
first (`--dry-run` shows only the plan), then asks before sending anything.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field

from mqtui import jsonl
from mqtui.commands.decoding import decode_letters, decoder_from_args
from mqtui.commands.dlq_where import check_where, select_letters, show_selection
from mqtui.commands.output import Output, confirm, progress_printer, warn, warn_failures
from mqtui.errors import UsageError
from mqtui.figures import age, count, format_table
from mqtui.model import Capability, DeadLetter, ReplayItem, ReplayResult
from mqtui.safetext import safe_line
from mqtui.services.decoding import payload_line
from mqtui.services.gateway import Adapter, Gateway
from mqtui.services.policy import WritePolicy


async def cmd_dlq_ls(gateway: Gateway, args: argparse.Namespace, out: Output) -> int:
    fan_out = await gateway.each(lambda a: a.dead_letter_queues(), args.broker, notices=warn)
    failures = warn_failures(fan_out)
    queues = [q for batch in fan_out.answers for q in batch]
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


async def confirm_reading(policy: WritePolicy, adapter: Adapter, dlq: str, assume_yes: bool) -> None:
    """Reading a DLQ whose reads count as deliveries (`read_hazard`) is a write action: confirmed, never readonly."""
    hazard = await adapter.read_hazard(dlq)
    if hazard is not None:
        hazard = safe_line(hazard)
        policy.require_writable(f"reading {dlq} ({hazard})")
        confirm(f"read the dead letters of {dlq} ({hazard})?", assume_yes)


async def cmd_dlq_show(gateway: Gateway, args: argparse.Namespace, out: Output) -> int:
    check_where(gateway, args)

    async def read(adapter: Adapter) -> list[DeadLetter]:
        await confirm_reading(gateway.policy, adapter, args.dlq, args.yes)
        if args.where is not None:
            selection = await select_letters(gateway, adapter, args, args.limit)
            show_selection(selection, args.dlq, args.where)
            return selection.letters
        return await adapter.dead_letters(args.dlq, limit=args.limit)

    decoder = decoder_from_args(gateway, args.broker, args)
    letters = await gateway.call(args.broker, read)
    try:
        if args.where is None:  # --where letters were decoded to be judged
            letters = await decode_letters(decoder, letters)
    finally:
        decoder.close()
    if out.as_json:
        out.records(jsonl.dead_letter_record(letter, raw=args.raw) for letter in letters)
    else:
        out.text(format_table(
            ("ID", "ORIGIN", "REASON", "ATTEMPTS", "FIRST FAILURE", "LAST FAILURE", "VALUE"),
            [(letter.id, letter.origin or "-", safe_line(letter.reason, 60) if letter.reason else "-",
              count(letter.attempts), age(letter.first_failure), age(letter.last_failure),
              ("(gone) " if letter.gone else "") + payload_line(letter.message, 60))
             for letter in letters],
        ))  # fmt: skip
    return 0


@dataclass
class Replayed:
    """What a `dlq replay` run did, for the lines printed once its adapter is closed."""

    verb: str
    plan: list[ReplayItem] = field(default_factory=list)
    result: ReplayResult = field(default_factory=ReplayResult)
    progress_shown: bool = False

    @property
    def sendable(self) -> list[ReplayItem]:
        return [item for item in self.plan if item.skip_reason is None]


def replay_preview(sendable: list[ReplayItem]) -> str:
    """ "2 to orders, 1 to payments": where the dead letters would go."""
    targets: dict[str, int] = {}
    for item in sendable:
        targets[item.target] = targets.get(item.target, 0) + 1
    preview = ", ".join(f"{n} to {safe_line(target, 100)}" for target, n in sorted(targets.items()))
    return preview or "nothing to send"


async def cmd_dlq_replay(gateway: Gateway, args: argparse.Namespace, out: Output) -> int:
    writes = None if args.dry_run else Capability.REPLAY
    gateway.check(args.broker, writes)
    check_where(gateway, args)

    async def replay(adapter: Adapter) -> Replayed | None:
        await confirm_reading(gateway.policy, adapter, args.dlq, args.yes)
        done = Replayed(adapter.replay_verb)
        if args.where is not None:  # only the letters it selects, counted and previewed first
            selection = await select_letters(gateway, adapter, args, args.limit)
            show_selection(selection, args.dlq, args.where)
            if not selection.ids:
                return done
            args.ids, args.limit = selection.ids, None
        done.plan = await adapter.plan_replay(args.dlq, to=args.to, ids=args.ids, limit=args.limit)
        preview = replay_preview(done.sendable)
        if args.dry_run:
            print_plan(done, preview, out)
            return None
        if done.sendable:
            confirm(f"{done.verb} {len(done.sendable)} dead letter(s) from {args.dlq}: {preview}?", args.yes)
            progress = progress_printer(done.verb) if sys.stderr.isatty() else None
            done.progress_shown = progress is not None
            done.result = await adapter.replay(args.dlq, to=args.to, ids=args.ids, limit=args.limit, progress=progress)
        elif done.plan:
            # Nothing to send, but the adapter still settles what it skips (Kafka records copies a killed
            # run delivered) and reports why the rest cannot go: limited to these ids, nothing else moves.
            ids = [item.id for item in done.plan]
            done.result = await adapter.replay(args.dlq, to=args.to, ids=ids, limit=args.limit)
        return done

    done = await gateway.call(args.broker, replay, writes=writes)
    return 0 if done is None else print_replayed(done, args.dlq, out)


def print_plan(done: Replayed, preview: str, out: Output) -> None:
    """What `--dry-run` shows: each dead letter and where it would go, or why it would be skipped."""
    if out.as_json:
        out.records({"id": i.id, "target": i.target, "skip_reason": i.skip_reason} for i in done.plan)
        return
    out.text(f"would {done.verb} {len(done.sendable)} of {len(done.plan)} dead letter(s): {preview}")
    for item in done.plan:
        out.text(f"  {safe_line(item.id)} -> {safe_line(item.target)}"
                 + (f" (skip: {safe_line(item.skip_reason)})" if item.skip_reason else ""))  # fmt: skip


def print_replayed(done: Replayed, dlq: str, out: Output) -> int:
    result = done.result
    if done.progress_shown:
        print(file=sys.stderr)
    if not done.sendable and not out.as_json:
        out.text(f"nothing to {done.verb} in {dlq}")
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


async def cmd_dlq_move(gateway: Gateway, args: argparse.Namespace, out: Output) -> int:
    writes = None if args.dry_run else Capability.MOVE_QUEUE
    gateway.check(args.broker, writes)
    shown = False

    async def move(adapter: Adapter) -> tuple[int, ReplayResult] | None:
        nonlocal shown
        ready = await adapter.plan_move(args.queue, to=args.to)
        plan = f"{ready:,} message(s) ready in {safe_line(args.queue)} to {safe_line(args.to)}"
        if args.dry_run:
            if out.as_json:
                out.records([{"source": args.queue, "target": args.to, "ready": ready}])
            else:
                out.text(f"would move {plan} with a shovel on the broker")
            return None
        if not ready:
            return ready, ReplayResult()
        confirm(f"move {plan} with a shovel? It runs on the broker and finishes even if mqtui stops; "
                "messages keep their headers and get no requeue headers", args.yes)  # fmt: skip
        progress = progress_printer("move") if sys.stderr.isatty() else None
        shown = progress is not None
        return ready, await adapter.move_queue(args.queue, to=args.to, progress=progress)

    moved = await gateway.call(args.broker, move, writes=writes)
    if moved is None:
        return 0
    ready, result = moved
    if shown:
        print(file=sys.stderr)
    if out.as_json:
        out.records([{"moved": result.sent, "not_moved": result.failed, "errors": list(result.errors)}])
    else:
        out.text(f"moved {result.sent:,} of {ready:,}" if ready else f"nothing to move in {safe_line(args.queue)}")
        for error in result.errors:
            warn(error)
    return 1 if result.failed else 0


async def cmd_dlq_delete(gateway: Gateway, args: argparse.Namespace, out: Output) -> int:
    if not args.ids and args.where is None:
        raise UsageError("dlq delete: give the dead letters as --id ID (repeated) or --where EXPR")
    gateway.check(args.broker, Capability.DELETE_DEAD_LETTER)
    check_where(gateway, args)

    async def delete(adapter: Adapter) -> int:
        if args.where is not None:
            await confirm_reading(gateway.policy, adapter, args.dlq, args.yes)
            selection = await select_letters(gateway, adapter, args, None)
            show_selection(selection, args.dlq, args.where)
            args.ids = selection.ids
            if not args.ids:
                return 0
        # Asked once connected: finding the ids reads the other dead letters, which can cost them a delivery.
        hazard = await adapter.read_hazard(args.dlq)
        reads = f" (finding them reads the others: {safe_line(hazard)})" if hazard is not None else ""
        confirm(f"delete {len(args.ids)} dead letter(s) from {args.dlq}{reads}?", args.yes)
        return await adapter.delete_dead_letters(args.dlq, args.ids)

    deleted = await gateway.call(args.broker, delete, writes=Capability.DELETE_DEAD_LETTER)
    out.text(f"deleted {deleted} dead letter(s)")
    return 0 if deleted == len(args.ids or ()) else 1
