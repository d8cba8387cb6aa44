"""CLI commands that change a broker: `publish`, `request`, `purge` and `reset-offsets`.

Each asks the gateway's write policy before anything else (a readonly profile refuses with exit 3
before a question or a connection), then asks for confirmation unless `--yes` was given, then runs
the adapter's method through the gateway.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mqtui import jsonl
from mqtui.commands.decoding import schema_encoded
from mqtui.commands.output import Output, confirm, parse_pairs, parse_start, print_messages, report_published
from mqtui.commands.republish import cmd_publish_jsonl
from mqtui.errors import UsageError
from mqtui.figures import count, format_table
from mqtui.model import Capability, OutgoingMessage
from mqtui.services.compose import build_messages
from mqtui.services.gateway import Gateway


def messages_from(args: argparse.Namespace) -> list[OutgoingMessage]:
    """`--value` (templated for each message) or `--file` (sent as is), with `--key` and `--header`."""
    headers = parse_pairs(args.header, "--header")
    value: str | bytes = args.value
    if args.file is not None:
        try:
            value = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read --file {args.file}: {exc.strerror}") from None
    return build_messages(value, key=args.key, headers=headers, count=args.count)


async def cmd_publish(gateway: Gateway, args: argparse.Namespace, out: Output) -> int:
    if args.from_jsonl is not None:
        return await cmd_publish_jsonl(gateway, args, out)
    if args.rate is not None or args.dry_run:
        raise UsageError("--rate and --dry-run go with --from-jsonl")
    gateway.check(args.broker, Capability.PUBLISH)
    messages = messages_from(args)
    if args.schema:
        messages = await schema_encoded(gateway, args.broker, args.destination, args.schema, messages)
    options = dict(parse_pairs(args.prop, "--prop"))
    confirm(f"publish {len(messages)} message(s) to {args.broker}/{args.destination}?", args.yes)
    result = await gateway.call(
        args.broker, lambda a: a.publish(args.destination, messages, options=options), writes=Capability.PUBLISH
    )
    return report_published(out, result, positions=True)


async def cmd_request(gateway: Gateway, args: argparse.Namespace, out: Output) -> int:
    gateway.check(args.broker, Capability.REQUEST)
    headers = tuple((k, v.encode()) for k, v in parse_pairs(args.header, "--header"))
    confirm(f"send a request to {args.broker}/{args.destination}?", args.yes)
    message = OutgoingMessage(value=args.value.encode(), headers=headers)
    reply = await gateway.call(
        args.broker, lambda a: a.request(args.destination, message, timeout=args.timeout), writes=Capability.REQUEST
    )
    print_messages([reply], out)
    return 0


async def cmd_purge(gateway: Gateway, args: argparse.Namespace, out: Output) -> int:
    gateway.check(args.broker, Capability.PURGE)
    confirm(f"purge every message from {args.broker}/{args.destination}?", args.yes)
    removed = await gateway.call(args.broker, lambda a: a.purge(args.destination), writes=Capability.PURGE)
    out.text(f"purged {removed:,} message(s) from {args.destination}")
    return 0


async def cmd_reset_offsets(gateway: Gateway, args: argparse.Namespace, out: Output) -> int:
    gateway.check(args.broker, Capability.RESET_OFFSETS)
    target = parse_start(args.to, "--to")
    scope = f" on {args.topic}" if args.topic else ""
    confirm(f"reset group {args.group}{scope} to {target}?", args.yes)
    rows = await gateway.call(
        args.broker,
        lambda a: a.reset_offsets(args.group, to=target, destination=args.topic),
        writes=Capability.RESET_OFFSETS,
    )
    if out.as_json:
        out.records(jsonl.backlog_record(r) for r in rows)
    else:
        out.text(format_table(
            ("DESTINATION", "PART", "COMMITTED", "END", "LAG"),
            [(r.destination, r.partition, r.committed, r.end, count(r.lag)) for r in rows], numeric=(1, 2, 3, 4),
        ))  # fmt: skip
    return 0
