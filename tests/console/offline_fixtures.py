"""An incident snapshot of the look tests' fixed data, and the console opened offline on it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

from textual.message import Message as TextualMessage
from textual.notifications import Notify

from mqtui.services.alerts import Alert, AlertBoard
from mqtui.services.incident import RecordedDeadLetters, RecordedTail, build_document, write_document
from mqtui.services.offline import OfflineBackend
from mqtui.services.store import Point
from mqtui.ui.app import MqtuiApp
from tests.console.fixtures import LETTERS, MESSAGES, NOW, static_backend
from tests.console.pilot import Console

HISTORY = [Point(NOW - timedelta(seconds=60 - 10 * i), lag=4100 + 100 * i, time_lag=90.0) for i in range(5)]
ALERT = Alert("lag over 1,000", "lag_over", "orders-kafka", "orders", "analytics", NOW, "5,465")


def fixed_snapshot_file(path: Path, *, alert: bool = True) -> Path:
    """What the look tests' console shows (three brokers, the tail of orders, the open orders.DLQ, one
    open alert), written as the `S` key writes it."""
    backend = static_backend()
    snapshots = list(backend.snapshots().values())
    document = build_document(
        "prod",
        backend.profile,
        snapshots,
        NOW,
        tail=RecordedTail("orders-kafka", "orders", tuple(MESSAGES)),
        dead_letters=RecordedDeadLetters(snapshots[0].dlqs[0], tuple(LETTERS), NOW),
        alerts=AlertBoard(open=(ALERT,) if alert else ()),
        history={("orders-kafka", "orders", "billing"): [*HISTORY[:2], Point(HISTORY[2].at), *HISTORY[3:]]},
    )
    return write_document(document, path)


def offline_app(path: Path) -> MqtuiApp:
    app = MqtuiApp(OfflineBackend.open(path))
    app.animation_level = "none"
    return app


@contextlib.asynccontextmanager
async def offline_console(path: Path, size: tuple[int, int] = (120, 36)) -> AsyncIterator[Console]:
    app = offline_app(path)
    notes: list[str] = []

    def hook(message: TextualMessage) -> None:
        if isinstance(message, Notify):
            notes.append(str(message.notification.message))

    async with app.run_test(size=size, message_hook=hook) as pilot:
        yield Console(app, pilot, notes)
