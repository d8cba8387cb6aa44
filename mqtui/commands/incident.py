"""CLI commands for incident snapshots: `snapshot` writes one from every broker, `open` reopens one.

`snapshot` polls each broker once with the console's own poller (`BrokerPoller.poll_once`, through the
session's adapters), so the file holds exactly what the console would have shown; a broker that is
down is recorded as down, with its error, and said on stderr, and the file is still written. `open`
reads the file strictly before anything is drawn: a bad one is one line and exit 2.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

from mqtui.commands.output import Output, warn
from mqtui.errors import UsageError
from mqtui.services.alerts import AlertBook
from mqtui.services.gateway import Gateway
from mqtui.services.history import LagHistory
from mqtui.services.incident import build_document, default_path, write_document
from mqtui.services.poller import BrokerPoller
from mqtui.services.session import Session
from mqtui.services.snapshot import BrokerSnapshot, BrokerStatus


async def poll_each_once(session: Session) -> list[BrokerSnapshot]:
    """Every broker of the session polled once, at once, as the console's pollers poll them."""
    history = LagHistory(stall_polls=session.profile.stall_polls)
    poller_log = logging.getLogger("mqtui.poller")
    if not poller_log.handlers:  # its warnings would repeat on stderr what `cmd_snapshot` says (MQTUI_LOG keeps them)
        poller_log.addHandler(logging.NullHandler())

    async def poll(poller: BrokerPoller) -> BrokerSnapshot:
        try:
            await poller.poll_once()
        finally:
            await poller.close()
        return poller.latest

    pollers = [
        BrokerPoller(
            config,
            interval=session.profile.poll_interval,
            listener=lambda _snapshot: None,
            history=history,
            adapter_factory=session.adapters.create,
        )
        for config in session.profile.brokers
    ]
    return list(await asyncio.gather(*(poll(poller) for poller in pollers)))


async def cmd_snapshot(gateway: Gateway, args: argparse.Namespace, out: Output) -> int:
    session = gateway.session
    path = Path(args.out) if args.out else None
    if path is not None and path.is_dir():
        raise UsageError(f"--out {args.out} is a directory: name the file to write")
    snapshots = await poll_each_once(session)
    for snapshot in snapshots:
        if snapshot.status is BrokerStatus.UNREACHABLE or snapshot.error:
            warn(snapshot.error or f"{snapshot.name}: unreachable")
    taken_at = datetime.now(UTC)
    alerts = AlertBook(session.profile.alert_rules())  # one poll: rules that need a duration cannot open
    for snapshot in snapshots:
        alerts.observe(snapshot, taken_at)
    document = build_document(session.name, session.profile, snapshots, taken_at, alerts=alerts.board)
    try:
        written = write_document(document, path or default_path(session.name, taken_at))
    except OSError as exc:
        raise UsageError(
            f"cannot write the snapshot to {args.out or 'the current directory'}: {exc.strerror}"
        ) from None
    out.text(str(written))
    return 0


def cmd_open(args: argparse.Namespace) -> int:
    """The console, offline, on the snapshot named by `open FILE` or `--snapshot FILE`."""
    path = getattr(args, "file", None) or args.snapshot
    if args.command not in (None, "open"):
        raise UsageError("--snapshot opens the console on a snapshot file: it takes no command")
    if args.command == "open" and args.snapshot:
        raise UsageError("give the snapshot file once: mqtui open FILE")
    from mqtui.ui.launch import run_offline

    return run_offline(path)
