"""Pictures of every pane of the console, taken from the running demo, for the README.

    .venv/bin/python scripts/screenshots.py [--out screenshots] [--warmup 20] [--png DIR]

Starts the demo brokers and traffic (stopped again at the end), lets the lag history fill for
`--warmup` seconds, then drives the console headless at 120x36 and 200x50 and saves an SVG of each
pane and dialog. With `--png`, each SVG is also converted with rsvg-convert, to look at.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot

from mqtui.model import StartPosition
from mqtui.services.backend import LiveBackend
from mqtui.ui.app import MqtuiApp
from mqtui.ui.screens.console import ConsoleScreen

SIZES = [(120, 36), (200, 50)]
Step = Callable[[MqtuiApp, Pilot], Awaitable[None]]  # type: ignore[type-arg]


async def select(app: MqtuiApp, selector: str, column: int, value: str) -> None:
    table = app.screen.query_one(selector)
    for index in range(table.row_count):  # type: ignore[attr-defined]
        if str(table.get_row_at(index)[column]) == value:  # type: ignore[attr-defined]
            table.move_cursor(row=index)  # type: ignore[attr-defined]
            return


async def destinations(app: MqtuiApp, pilot: Pilot) -> None:  # type: ignore[type-arg]
    await pilot.press("1")


async def lag(app: MqtuiApp, pilot: Pilot) -> None:  # type: ignore[type-arg]
    await pilot.press("2")


async def group(app: MqtuiApp, pilot: Pilot) -> None:  # type: ignore[type-arg]
    await pilot.press("2")
    await select(app, "#lag-table", 1, "analytics")
    await pilot.press("enter")
    await pilot.pause(1.5)
    await pilot.press("t", "t", "t")  # the charts' 15-minute range: the demo's history is minutes old
    await pilot.pause(1.0)


async def tail(app: MqtuiApp, pilot: Pilot) -> None:  # type: ignore[type-arg]
    assert isinstance(app.screen, ConsoleScreen)
    app.screen.start_tail("demo-kafka", "orders", StartPosition("end"))
    await pilot.pause(3)
    await pilot.press("up", "up", "up")


async def message(app: MqtuiApp, pilot: Pilot) -> None:  # type: ignore[type-arg]
    await tail(app, pilot)
    await pilot.press("enter")


async def dead_letters(app: MqtuiApp, pilot: Pilot) -> None:  # type: ignore[type-arg]
    await pilot.press("4")
    await pilot.pause(0.5)
    await select(app, "#dlq-table", 1, "orders.dlq")
    await pilot.press("enter")
    await pilot.pause(2)


async def replay(app: MqtuiApp, pilot: Pilot) -> None:  # type: ignore[type-arg]
    await dead_letters(app, pilot)
    await pilot.press("r")
    await pilot.pause(2)


async def publish(app: MqtuiApp, pilot: Pilot) -> None:  # type: ignore[type-arg]
    await pilot.press("1")
    await select(app, "#dest-table", 1, "orders")
    await pilot.press("n")
    await pilot.pause(0.5)
    app.screen.query_one("#body").text = '{"order_id": {{seq}}, "id": "{{uuid}}", "at": "{{now}}"}'  # type: ignore[attr-defined]


async def tail_start(app: MqtuiApp, pilot: Pilot) -> None:  # type: ignore[type-arg]
    await pilot.press("3", "t")
    await pilot.pause(0.3)
    await pilot.press("o", "r", "d", "tab", "tab")  # the common prefix, then the first match in turn


async def server_info(app: MqtuiApp, pilot: Pilot) -> None:  # type: ignore[type-arg]
    await pilot.press("1")
    await select(app, "#dest-table", 0, "demo-nats")
    await pilot.press("i")
    await pilot.pause(1.5)


async def request_reply(app: MqtuiApp, pilot: Pilot) -> None:  # type: ignore[type-arg]
    await pilot.press("1")
    await select(app, "#dest-table", 1, "svc.echo")
    await pilot.press("r")
    await pilot.pause(0.3)
    app.screen.query_one("#body").text = '{"ping": 1}'  # type: ignore[attr-defined]
    await pilot.press("ctrl+s")
    await pilot.pause(1.5)


async def alerts(app: MqtuiApp, pilot: Pilot) -> None:  # type: ignore[type-arg]
    await pilot.press("2")
    await pilot.pause(12)  # the demo's "analytics falling behind" rule needs 30 s of growth
    await pilot.press("exclamation_mark")


async def search(app: MqtuiApp, pilot: Pilot) -> None:  # type: ignore[type-arg]
    await pilot.press("1")
    await select(app, "#dest-table", 1, "payments")
    await pilot.press("f")
    await pilot.pause(0.5)
    await pilot.press(*".value.amount > 390", "enter")
    await pilot.pause(4)


STEPS: dict[str, Step] = {
    "destinations": destinations,
    "lag": lag,
    "group": group,
    "tail": tail,
    "message": message,
    "dead-letters": dead_letters,
    "replay-preview": replay,
    "publish": publish,
    "tail-start": tail_start,
    "server-info": server_info,
    "request-reply": request_reply,
    "alerts": alerts,
    "search": search,
}


async def shoot(backend: LiveBackend, size: tuple[int, int], out: Path, warmup: float, theme: str | None) -> list[Path]:
    saved = []
    for name, step in STEPS.items():
        app = MqtuiApp(backend)
        async with app.run_test(size=size) as pilot:
            if theme:
                app.theme = theme
            await pilot.pause(warmup)
            warmup = 2.0  # the history lives in the backend: later pictures need no long wait
            await step(app, pilot)
            await pilot.pause(1.0)
            suffix = f"-{theme.removeprefix('mqtui-')}" if theme else ""
            filename = f"{name}-{size[0]}x{size[1]}{suffix}.svg"
            app.save_screenshot(filename=filename, path=str(out))
            saved.append(out / filename)
            print(f"saved {out / filename}", file=sys.stderr)
    return saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="screenshots", type=Path)
    parser.add_argument("--warmup", default=20.0, type=float, help="seconds of traffic before the first picture")
    parser.add_argument("--png", type=Path, help="also write PNGs here (needs rsvg-convert)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    backend = LiveBackend.open(None, "demo")
    saved: list[Path] = []
    try:
        warmup = args.warmup
        for size in SIZES:
            saved += asyncio.run(shoot(backend, size, args.out, warmup, None))
            warmup = 2.0
        saved += asyncio.run(shoot(backend, (120, 36), args.out, 2.0, "mqtui-light"))
    finally:
        backend.stop()
    if args.png is not None:
        converter = shutil.which("rsvg-convert")
        if converter is None:
            print("rsvg-convert not found: apt-get install librsvg2-bin", file=sys.stderr)
            return 1
        args.png.mkdir(parents=True, exist_ok=True)
        for svg in saved:
            subprocess.run([converter, str(svg), "-o", str(args.png / svg.with_suffix(".png").name)], check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
