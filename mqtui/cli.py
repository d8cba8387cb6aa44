"""Command line: global options, then a subcommand; no subcommand opens the console.

Only argparse and the error types are imported at module level: `mqtui --help` and `--version` must
not pay for Textual or any broker client. Every failure ends as one line on stderr and an exit code
(2: bad config or arguments, 3: refused by a readonly profile, 1: anything else), never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from collections.abc import Sequence

from mqtui import __version__
from mqtui.errors import MqtuiError


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors in our one-line format with exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        command = self.prog.removeprefix("mqtui").strip()  # "mqtui: error: tail: ...", not "mqtui tail: ..."
        raise SystemExit(_fail(f"{command + ': ' if command else ''}{message} (see --help)", 2))


def _fail(message: str, code: int) -> int:
    from mqtui.safetext import safe_line
    from mqtui.secrets import scrub

    line = safe_line(" ".join(scrub(str(message)).split()), None)
    print(f"mqtui: error: {line}", file=sys.stderr)
    return code


def _log() -> logging.Logger:
    return logging.getLogger("mqtui.cli")


SEARCH_EXAMPLES = """examples:
  # where is order 4711? (a field of the value: JSON, or decoded Avro/Protobuf/MessagePack)
  mqtui search prod-kafka orders --where '.value.order_id == 4711'

  # dead letters whose exception header says timeout, between 10:00 and 10:15 UTC
  mqtui search prod-kafka orders.DLT --from 2026-12-06T10:00 --to 2026-12-06T10:15 \\
      --where '.headers["kafka_dlt-exception-message"] | test("timeout"; "i")'

  # plain words in the value, the first 5 matches as JSON Lines; then a saved filter
  mqtui search local-redis events --where 'refund failed' --limit 5 --json
  mqtui search prod-kafka payments --where @big    # [profiles.prod.filters] big = '.value.amount > 1000'
"""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mqtui",
        description="Terminal operations console for Kafka, RabbitMQ, Redis and NATS. "
        "Without a command, opens the console.",
    )
    parser.add_argument("--version", action="version", version=f"mqtui {__version__}")
    parser.add_argument(
        "--config", metavar="PATH", help="config file (default: $MQTUI_CONFIG, then the user config dir)"
    )
    parser.add_argument("--profile", "-p", metavar="NAME", help="profile to use (built-in: demo)")
    parser.add_argument("--snapshot", metavar="FILE", help="open the console offline on an incident snapshot file")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text)

    def json_flag(p: argparse.ArgumentParser) -> None:
        p.add_argument("--json", action="store_true", help="print JSON Lines, one object per line")

    def yes_flag(p: argparse.ArgumentParser) -> None:
        p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")

    def where_flag(p: argparse.ArgumentParser, what: str) -> None:
        p.add_argument("--where", "-w", metavar="EXPR",
                       help=f"jq expression, plain words or @saved-filter: {what}; see `mqtui search --help`")  # fmt: skip

    def decode_flags(p: argparse.ArgumentParser) -> None:
        p.add_argument("--decode", default="auto", metavar="FORMAT",
                       help="how to read payloads: auto (registry framing, local schemas, JSON, MessagePack, "
                            "CBOR, compression; the default) | none | avro | protobuf | json-schema | json | "
                            "msgpack | cbor | gzip | zstd | snappy | lz4 | base64 | text")  # fmt: skip
        p.add_argument("--no-raw", dest="raw", action="store_false",
                       help="with --json: leave out the bytes of decoded values (value_raw, base64)")  # fmt: skip

    p = command("profiles", "list profiles")
    json_flag(p)

    p = command("ls", "list destinations (topics, queues, streams, lists, subjects)")
    p.add_argument("--broker", "-b", metavar="B")
    p.add_argument("--all", action="store_true", help="include internal topics, system queues and streams")
    json_flag(p)

    p = command("describe", "details of one destination (partitions, configs, bindings, consumers)")
    p.add_argument("broker")
    p.add_argument("destination")
    json_flag(p)

    p = command("lag", "backlog of every consumer group or queue consumer")
    p.add_argument("--broker", "-b", metavar="B")
    p.add_argument("--group", "-g", metavar="G")
    json_flag(p)

    p = command("group", "one consumer group: state, members and assignments")
    p.add_argument("broker")
    p.add_argument("group")
    json_flag(p)

    p = command("tail", "read messages without consuming them from anyone")
    p.add_argument("broker")
    p.add_argument("destination")
    p.add_argument("--from", dest="start", default="end", metavar="WHERE",
                   help="beginning | end | OFFSET | ISO8601 time (default: end)")  # fmt: skip
    p.add_argument("--limit", "-n", type=_positive_int, metavar="N", help="stop after N messages")
    p.add_argument("--end", action="store_true", help="stop once caught up with the end (like kcat -e)")
    decode_flags(p)
    json_flag(p)

    p = sub.add_parser(
        "search",
        help="find the messages of a range an expression matches, and say what was covered",
        description="Find the messages of a range that a jq expression (or plain words) matches. Matches go to "
        "stdout; the coverage (what was scanned of what, and what was not and why) goes to stderr after them.",
        epilog=SEARCH_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("broker")
    p.add_argument("destination")
    p.add_argument("--where", "-w", required=True, metavar="EXPR",
                   help="jq on {broker, destination, partition, position, timestamp, key, value, headers, ...}, "
                        "plain words (the value contains them), key:K, header:NAME[=V], or @saved-filter")  # fmt: skip
    p.add_argument("--from", dest="start", default="beginning", metavar="WHERE",
                   help="beginning | OFFSET | stream id | ISO8601 time (default: beginning)")  # fmt: skip
    p.add_argument("--to", dest="end", metavar="WHERE",
                   help="OFFSET or id (inclusive) | ISO8601 time (exclusive) | end (default: the end as it is now)")  # fmt: skip
    p.add_argument("--limit", "-n", type=_positive_int, metavar="N", help="stop after N matches")
    decode_flags(p)
    yes_flag(p)
    json_flag(p)

    p = command("peek", "read messages already in a queue (RabbitMQ: marks them redelivered)")
    p.add_argument("broker")
    p.add_argument("destination")
    p.add_argument("--limit", "-n", type=_positive_int, default=10, metavar="N")
    decode_flags(p)
    yes_flag(p)
    json_flag(p)

    p = command("publish", "publish test messages")
    p.add_argument("broker")
    p.add_argument("destination")
    body = p.add_mutually_exclusive_group(required=True)
    body.add_argument("--value", metavar="TEXT", help="message body; {{uuid}}, {{now}}, {{seq}} are filled in")
    body.add_argument("--file", metavar="PATH", help="message body from a file (- for stdin), sent as is")
    body.add_argument("--from-jsonl", metavar="FILE",
                      help="send again every message of a tail --json, dlq show --json or export file")  # fmt: skip
    p.add_argument("--key", metavar="K")
    p.add_argument("--header", action="append", default=[], metavar="K=V")
    p.add_argument("--prop", action="append", default=[], metavar="K=V",
                   help="broker-specific property (exchange, routing_key, content_type, mode=jetstream...)")  # fmt: skip
    p.add_argument("--count", type=_positive_int, default=1, metavar="N")
    p.add_argument("--schema", metavar="SUBJECT[:VERSION]",
                   help="encode the JSON value with this registry subject's schema (Avro, Protobuf, JSON Schema)")  # fmt: skip
    p.add_argument("--rate", type=_rate, metavar="N", help="with --from-jsonl: at most N messages per second")
    p.add_argument("--dry-run", action="store_true", help="with --from-jsonl: say what would be sent, send nothing")
    yes_flag(p)
    json_flag(p)

    p = command("request", "send a request and wait for one reply (NATS)")
    p.add_argument("broker")
    p.add_argument("destination")
    p.add_argument("--value", default="", metavar="TEXT")
    p.add_argument("--header", action="append", default=[], metavar="K=V")
    p.add_argument("--timeout", type=_seconds, default=5.0, metavar="SECONDS", help="at most 3600 (default: 5)")
    yes_flag(p)
    json_flag(p)

    p = command("purge", "remove every message from a queue")
    p.add_argument("broker")
    p.add_argument("destination")
    yes_flag(p)

    p = command("reset-offsets", "move a stopped consumer group's committed offsets")
    p.add_argument("broker")
    p.add_argument("group")
    p.add_argument("--to", required=True, metavar="WHERE", help="earliest | latest | OFFSET | ISO8601 time")
    p.add_argument("--topic", metavar="T", help="only this topic's partitions")
    yes_flag(p)
    json_flag(p)

    dlq = command("dlq", "dead-letter queues: list, show, replay/requeue, delete")
    dlq_sub = dlq.add_subparsers(dest="dlq_command", metavar="ACTION", required=True, parser_class=_Parser)
    p = dlq_sub.add_parser("ls", help="every dead-letter queue with counts and oldest age")
    p.add_argument("--broker", "-b", metavar="B")
    json_flag(p)
    p = dlq_sub.add_parser("retries", help="parked retries (retry topics, TTL queues, schedules): due now, later, next")
    p.add_argument("--broker", "-b", metavar="B")
    json_flag(p)
    p = dlq_sub.add_parser("show", help="dead letters with reason, origin and attempts")
    p.add_argument("broker")
    p.add_argument("dlq")
    p.add_argument("--limit", "-n", type=_positive_int, default=100, metavar="N")
    where_flag(p, "show only the dead letters it matches")
    decode_flags(p)
    yes_flag(p)  # reading a RabbitMQ quorum DLQ with a delivery limit counts as a delivery
    json_flag(p)
    p = dlq_sub.add_parser("replay", help="send dead letters back to their origin (or --to)")
    p.add_argument("broker")
    p.add_argument("dlq")
    p.add_argument("--to", metavar="DEST")
    p.add_argument("--limit", "-n", type=_positive_int, metavar="N")
    p.add_argument("--id", dest="ids", action="append", metavar="ID", help="only these dead letters")
    where_flag(p, "only the dead letters it matches (their count and a preview are shown first)")
    p.add_argument("--dry-run", action="store_true", help="show what would be sent, send nothing")
    yes_flag(p)
    json_flag(p)
    p = dlq_sub.add_parser("move", help="move every message of a queue to another inside the broker (RabbitMQ shovel)")
    p.add_argument("broker")
    p.add_argument("queue")
    p.add_argument("--to", required=True, metavar="QUEUE")
    p.add_argument("--dry-run", action="store_true", help="say how many would move, move nothing")
    yes_flag(p)
    json_flag(p)
    p = dlq_sub.add_parser("delete", help="delete dead letters by id or by --where")
    p.add_argument("broker")
    p.add_argument("dlq")
    p.add_argument("--id", dest="ids", action="append", metavar="ID")
    where_flag(p, "the dead letters it matches (their count and a preview are shown first)")
    yes_flag(p)

    p = command("watch", "print alerts as the profile's alert rules open and close them, until Ctrl-C")
    p.add_argument(
        "--interval", type=_seconds, metavar="SECONDS", help="seconds between polls (default: poll_interval)"
    )
    p.add_argument("--once", action="store_true", help="poll once, print open alerts, exit 1 if any rule is breached")
    json_flag(p)

    p = command("snapshot", "write an incident snapshot: every broker polled once, into one JSON file")
    p.add_argument("--out", "-o", metavar="FILE", help="where (default: mqtui-snapshot-PROFILE-TIME.json here)")

    p = command("open", "open the console offline, readonly, on an incident snapshot file")
    p.add_argument("file", metavar="FILE")

    demo = command("demo", "the demo's local brokers: start (detached), stop, status")
    demo.add_argument("action", choices=["start", "stop", "status"])
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, not {text!r}")
    return value


def _rate(text: str) -> float:
    """Messages per second: above 0 and finite."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= 1_000_000):
        raise argparse.ArgumentTypeError(f"expected messages per second above 0 and at most 1000000, not {text!r}")
    return value


def _seconds(text: str) -> float:
    """A wait in seconds: above 0, finite (float() takes "nan" and "inf") and at most an hour."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= 3600):  # NaN fails every comparison
        raise argparse.ArgumentTypeError(f"expected seconds above 0 and at most 3600, not {text!r}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        from mqtui import logs

        if logs.configure():
            _log().debug("mqtui %s: %s", __version__, args.command or "console")
        from mqtui.commands import run_command

        return run_command(args)
    except MqtuiError as exc:
        _log().info("%s failed: %s", args.command or "console", exc)
        return _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (head, less) went away: not an error worth a word.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # the promise is "never a traceback"; MQTUI_DEBUG=1 or MQTUI_LOG shows one
        _log().exception("internal error")
        if os.environ.get("MQTUI_DEBUG"):
            raise
        return _fail(
            f"internal error: {type(exc).__name__}: {exc} (MQTUI_LOG=FILE or MQTUI_DEBUG=1 for a traceback)", 1
        )
