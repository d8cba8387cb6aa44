"""CLI commands that reach no broker: `profiles`, `demo start|stop|status`, and opening the console."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import Any

from mqtui.commands.output import Output, warn
from mqtui.figures import format_table
from mqtui.services.session import profile_names


def cmd_profiles(args: argparse.Namespace) -> int:
    from mqtui.config import load_config, permission_warning

    config, path = load_config(args.config)
    notice = permission_warning(path)
    if notice:
        warn(notice)
    out = Output(args.json)
    rows: list[dict[str, Any]] = []
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
        started = demo.ensure_running(detached=True)
        for notice in started.notices():
            warn(notice)
        print_demo_brokers(started.brokers)
        return 0
    if args.action == "stop":
        print("demo stopped" if demo.stop_demo() else "demo was not running")
        return 0
    running = demo.running_demo()
    if running is None:
        print("demo is not running")
        return 1
    print_demo_brokers(running.brokers)
    return 0


def print_demo_brokers(brokers: Sequence[Mapping[str, Any]]) -> None:
    """Where each demo broker listens; a URL's password is masked even for the demo's guest account."""
    from mqtui.config import redact_url

    for broker in brokers:
        print(f"{broker['name']}: {redact_url(str(broker['url']))}")


def cmd_console(args: argparse.Namespace) -> int:
    from mqtui.ui.launch import run_console

    return run_console(config_path=args.config, profile=args.profile)
