"""What each CLI subcommand does, grouped by topic: `local` (no broker), `reading`, `writing`, `dlq`.

Every broker command receives the session's `Gateway`, so it reaches adapters and the write policy
the way the console does; `output` holds what they share (tables or JSON Lines, warnings, questions).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from mqtui.commands import dlq, incident, reading, search, watch, writing
from mqtui.commands.local import cmd_console, cmd_demo, cmd_profiles
from mqtui.commands.output import Output, warn
from mqtui.commands.retries import cmd_dlq_retries
from mqtui.services.gateway import Gateway
from mqtui.services.session import open_session

BrokerCommand = Callable[[Gateway, argparse.Namespace, Output], Coroutine[Any, Any, int]]
BROKER_COMMANDS: dict[str, BrokerCommand] = {
    "ls": reading.cmd_ls,
    "describe": reading.cmd_describe,
    "lag": reading.cmd_lag,
    "group": reading.cmd_group,
    "tail": reading.cmd_tail,
    "peek": reading.cmd_peek,
    "search": search.cmd_search,
    "publish": writing.cmd_publish,
    "request": writing.cmd_request,
    "purge": writing.cmd_purge,
    "reset-offsets": writing.cmd_reset_offsets,
    "dlq ls": dlq.cmd_dlq_ls,
    "dlq show": dlq.cmd_dlq_show,
    "dlq replay": dlq.cmd_dlq_replay,
    "dlq delete": dlq.cmd_dlq_delete,
    "dlq move": dlq.cmd_dlq_move,
    "dlq retries": cmd_dlq_retries,
    "snapshot": incident.cmd_snapshot,
    "watch": watch.cmd_watch,
}


def run_command(args: argparse.Namespace) -> int:
    if args.command == "open" or args.snapshot:
        return incident.cmd_open(args)
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
        return asyncio.run(BROKER_COMMANDS[name](Gateway(session), args, output))
    finally:
        session.close()
