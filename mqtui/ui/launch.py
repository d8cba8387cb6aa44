"""Entry point from the CLI into the console (kept tiny so the CLI can import it cheaply)."""

from __future__ import annotations

from mqtui.services.session import open_session


def run_console(config_path: str | None, profile: str | None) -> int:
    session = open_session(config_path, profile, own_demo=True)
    try:
        print(f"would open the console on profile {session.name!r} with brokers:")
        for broker in session.profile.brokers:
            print(f"  {broker.name} ({broker.kind})")
        return 0
    finally:
        session.close()
