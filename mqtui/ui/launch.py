"""Entry point from the CLI into the console (kept tiny so the CLI can import it cheaply)."""

from __future__ import annotations


def run_console(config_path: str | None, profile: str | None) -> int:
    """Open the profile (the demo starts its brokers first), run the console, then stop everything."""
    import logging

    from mqtui.services.backend import ConsoleBackend, LiveBackend

    # Log lines on stderr (ours or a client library's) would be drawn over the screen: the console
    # reports through its status line and notifications instead.
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.NullHandler())

    backend: ConsoleBackend = LiveBackend.open(config_path, profile)
    try:
        from mqtui.ui.app import MqtuiApp

        app = MqtuiApp(backend)
        app.run()
        backend = app.backend  # the profile may have been switched
        return app.return_code or 0
    finally:
        backend.stop()


def run_offline(path: str) -> int:
    """The console on a snapshot file: read and checked first (a bad file is one line, exit 2), then
    shown readonly with no broker contacted."""
    import logging

    from mqtui.services.offline import OfflineBackend

    backend = OfflineBackend.open(path)
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.NullHandler())
    from mqtui.ui.app import MqtuiApp

    app = MqtuiApp(backend)
    app.run()
    return app.return_code or 0
