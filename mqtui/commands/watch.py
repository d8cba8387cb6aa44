"""`mqtui watch`: the profile's alert rules, judged poll after poll, printed as alerts open and close.

It polls with the console's own pollers (`services/poller.py`: the same snapshots, trends and backoff)
and judges them with the console's `AlertBook`, so a rule opens at the same moment in both. It runs until
Ctrl-C; `--once` takes one poll of every broker, prints what is open and exits 1 when any rule is
breached (0 when none), for cron and scripts.

One poll cannot tell how long something lasted, nor what rose since: with `--once`, `idle_for` opens
only where the broker says when its consumer was last active (NATS, Redis streams, RabbitMQ), and
`growing_for` and `dead_letters_increase` never do. A line on stderr says so when the profile has such
rules, rather than letting a 0 read as "checked and fine".
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime

from mqtui.commands.output import Output, warn
from mqtui.figures import format_table
from mqtui.safetext import safe_line
from mqtui.services.alerts import Alert, AlertBook
from mqtui.services.gateway import Gateway
from mqtui.services.history import LagHistory
from mqtui.services.poller import BrokerPoller
from mqtui.services.snapshot import BrokerSnapshot

BREACHED = 1


async def cmd_watch(gateway: Gateway, args: argparse.Namespace, out: Output) -> int:
    session = gateway.session
    book = AlertBook(session.profile.alert_rules())
    if not book.rules:
        warn(
            f"profile {session.name!r} has no alert rules (default_alerts = false and no [[alerts]]): nothing to watch"
        )
    interval = args.interval or session.profile.poll_interval

    def judged(snapshot: BrokerSnapshot) -> None:
        changes = book.observe(snapshot, datetime.now(UTC))
        if changes and not args.once:
            print_changes(changes, out)

    history = LagHistory(stall_polls=session.profile.stall_polls)
    pollers = [
        BrokerPoller(
            config, interval=interval, listener=judged, history=history, adapter_factory=session.adapters.create
        )
        for config in session.brokers()
    ]
    if not args.once:
        await asyncio.gather(*(poller.run() for poller in pollers))  # until Ctrl-C
        return 0
    try:
        await asyncio.gather(*(poller.poll_once() for poller in pollers))
    finally:
        await asyncio.gather(*(poller.close() for poller in pollers))
    untold = [rule.label for rule in book.rules if rule.duration_s is not None or rule.dead_letters_increase]
    if untold:
        warn(
            f"--once: one poll cannot tell how long something lasted or what rose ({', '.join(untold)}): idle "
            "rules open only where the broker says when its consumer was last active; run `mqtui watch` to "
            "follow them"
        )
    alerts = book.board.open
    print_open(alerts, out)
    return BREACHED if alerts else 0


def print_changes(alerts: Iterable[Alert], out: Output) -> None:
    """One line per alert opened or closed, as it happens."""
    if out.as_json:
        out.records(alert.record() for alert in alerts)
        return
    for alert in alerts:
        when = (alert.closed_at or alert.since).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        out.text(
            f"{when}  {alert.event:<6}  {safe_line(alert.rule, 60)}  {safe_line(alert.row, 120)}  "
            f"{safe_line(alert.value, 200)}"
        )


def print_open(alerts: Iterable[Alert], out: Output) -> None:
    """The alerts open after `--once`, as a table (or JSON Lines); "no alerts" on an empty table."""
    alerts = list(alerts)
    if out.as_json:
        out.records({**alert.record(), "event": "open"} for alert in alerts)
        return
    if not alerts:
        out.text("no alerts")
        return
    rows = [(a.rule, a.broker, a.destination or "-", a.group or "-", a.value) for a in alerts]
    out.text(format_table(("RULE", "BROKER", "DESTINATION", "GROUP", "VALUE"), rows))
