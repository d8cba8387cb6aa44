"""The console at production scale: key-to-screen latency and frames while polls land (issue 18).

Two runs of the real console (`MqtuiApp` under Textual's Pilot, 160x45), each in a fresh child process
of this script: a small profile (50 destinations, 50 lag rows, 5 DLQs) and a large one (10,000
destinations, 6,000 lag rows in 200 groups of 30 partitions, 1,000 DLQs), over four brokers. The
snapshots come from `scale_build.py`; a thread hands a new poll to the console every POLL seconds, in
which every figure moved (so the lag rows reorder), while the keys are pressed.

Key-to-screen latency: from the key pressed until the end of the first frame that began with the console
showing its effect (reported too: with the newest poll delivered drawn as well). Frames are timed by
wrapping the screen's compositor refresh, which also looks at whether the effect is there as each frame
starts, and the conversion to terminal output a headless app skips is done too, as in `console_tail.py`.
Keys: pane switch (1 and 2 in turn), cursor move (down/up in the Lag pane), sort (s in Destinations),
filter keystroke (a letter typed into the Destinations filter, then deleted), drill-in open (enter on a
lag row; escape closes it, not timed). Frame interval: a one-line widget asks for a repaint 30 times a
second, so a healthy UI paints about every 33 ms; the intervals within 1.5 s of each poll's delivery are
reported. Idle CPU: the last poll handed over again unchanged (no figure moved), then the process's CPU
time over IDLE seconds. RSS: resident memory after every pane has drawn, per 1,000 rows over the small
profile's.

Targets (issue 18): every key's p99 under 100 ms and within 1.5x of the small profile's; no frame
interval over 100 ms while a poll is applied; CPU near zero between polls.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import os
import subprocess
import sys
import threading
import time
import unicodedata
from collections.abc import Callable
from itertools import pairwise
from typing import Any

from common import PYTHON, figure, header, note, percentile, rss_mb
from scale_build import LARGE, SMALL, Polls, Scale, ScaleBackend

POLL = 2.0
TRIES = int(os.environ.get("SCALE_TRIES", "100"))
IDLE = 3.0
AFTER_APPLIED = 0.1
"""A poll's frames: from its delivery until this long after its rows are drawn."""
TERMINAL = (160, 45)
KEYS = ("pane switch", "cursor move", "sort", "filter keystroke", "drill-in open")


class Awaited:
    """A state awaited on screen (`shown`, checked at the start of each frame of the top screen), and the
    end of the first frame that began with it (0.0: none yet)."""

    def __init__(self, shown: Callable[[], bool]) -> None:
        self.shown = shown
        self.painted = 0.0


class FrameClock:
    """Frame start and end times of the top screen, terminal output included, and the first frame that
    paints each state awaited (`awaited`). A key's effect and the frame that paints it can come without
    a pause between them in which a coroutine could look, so the frame looks itself, as it starts."""

    def __init__(self) -> None:
        self.frames: list[tuple[float, float]] = []
        self.awaited: list[Awaited] = []

    def install(self) -> None:
        from textual._compositor import CompositorUpdate
        from textual.app import App
        from textual.screen import Screen

        clock = self
        refresh = Screen._compositor_refresh
        display = App._display

        def timed_refresh(screen: Screen[Any]) -> None:
            top = screen is screen.app.screen
            painting = [state for state in clock.awaited if state.shown()] if top else []
            started = time.perf_counter()
            refresh(screen)
            if top:
                ended = time.perf_counter()
                clock.frames.append((started, ended))
                for state in painting:
                    state.painted = ended
                    clock.awaited.remove(state)

        def rendering_display(app: App[Any], screen: Screen[Any], renderable: Any) -> None:
            if app.is_headless and isinstance(renderable, CompositorUpdate):
                renderable.render_segments(app.console)
            display(app, screen, renderable)

        Screen._compositor_refresh = timed_refresh  # type: ignore[method-assign,assignment]
        App._display = rendering_display  # type: ignore[method-assign,assignment]


async def child(scale: Scale) -> dict[str, Any]:
    from textual import events
    from textual.keys import REPLACED_KEYS, _get_unicode_name_from_key
    from textual.widgets import TabbedContent

    from mqtui.ui.app import MqtuiApp
    from mqtui.ui.screens.console import ConsoleScreen
    from mqtui.ui.widgets.bars import StatusBar

    clock = FrameClock()
    clock.install()
    backend = ScaleBackend(Polls(scale))
    app = MqtuiApp(backend)
    latencies: dict[str, list[float]] = {key: [] for key in KEYS}
    newest: dict[str, list[float]] = {key: [] for key in KEYS}
    """Until the key's effect is shown with the newest poll delivered drawn too."""
    starts: dict[str, list[float]] = {key: [] for key in KEYS}
    deliveries: list[float] = []
    applied: list[tuple[float, float]] = []
    """(delivered, drawn) of each poll."""
    full_collections: list[float] = []
    collection_started: list[float] = []

    def collected(phase: str, info: dict[str, Any]) -> None:
        if info["generation"] == 2:
            if phase == "start":
                collection_started.append(time.perf_counter())
            else:
                full_collections.append(time.perf_counter() - collection_started[-1])

    gc.callbacks.append(collected)
    stop = threading.Event()

    def poller() -> None:
        while not stop.wait(POLL):
            backend.deliver()  # the poll made (every figure moved), then handed to the console
            deliveries.append(time.perf_counter())

    async with app.run_test(size=TERMINAL) as pilot:
        screen = app.screen
        assert isinstance(screen, ConsoleScreen)

        async def settle() -> None:
            for _ in range(500):
                await asyncio.sleep(0.01)
                if screen.drawn and all(not pane.stale for pane in screen.panes.values() if pane.active):
                    return

        tabs = screen.query_one("#tabs", TabbedContent)

        def send(key: str) -> None:
            """The key as Pilot sends it, without Pilot's waits for the whole process to sit idle."""
            original = REPLACED_KEYS.get(key, key)
            try:
                char: str | None = unicodedata.lookup(_get_unicode_name_from_key(original))
            except KeyError:
                char = key if len(key) == 1 else None
            event = events.Key(key, char)
            event.set_sender(app)
            assert app._driver is not None
            app._driver.send_message(event)

        def on_tab(tab: str) -> bool:
            current = pane()
            return bool(tabs.active == tab and not current.stale and current.answers_keys)

        def on_row(pane: Any, before: int) -> bool:
            return bool(pane.table.cursor_row != before)  # a poll may move the row, and the cursor with it

        def sorted_by(pane: Any, order: int) -> bool:
            return bool(pane.sort_index == order and pane.answers_keys)

        def filtered(pane: Any, text: str) -> bool:
            return bool(pane.filter_text == text and pane.answers_keys)

        def opened() -> bool:
            return app.screen is not screen  # the drill-in, over the console

        def pane() -> Any:
            return next(pane for pane in screen.panes.values() if pane.active)

        def drawn() -> bool:
            current = pane()
            return not current.stale and not getattr(current, "building", False)

        async def timed(name: str, key: str, done: Callable[[], bool]) -> None:
            """From the key sent until the end of the first frame begun with the console showing its
            effect, and with it shown and the newest poll delivered drawn too."""
            answered, complete = Awaited(done), Awaited(lambda: done() and drawn())
            clock.awaited.extend((answered, complete))
            started = time.perf_counter()
            starts[name].append(started)
            send(key)
            deadline = started + 10.0
            while not complete.painted and time.perf_counter() < deadline:
                await asyncio.sleep(0.001)
            clock.awaited.clear()
            for state, into in ((answered, latencies), (complete, newest)):
                into[name].append(state.painted - started if state.painted else 10.0)

        async def watch_polls() -> None:
            """When each poll delivered is drawn: every broker's snapshot taken in, the pane shown drawn."""
            seen = 0
            while True:
                await asyncio.sleep(0.002)
                latest = backend.latest
                taken = all(screen.snapshots.get(s.name) is s for s in latest)
                if len(deliveries) > seen and screen.drawn and drawn() and taken:
                    now = time.perf_counter()
                    applied.extend((at, now) for at in deliveries[seen:])
                    seen = len(deliveries)

        await settle()
        await pilot.press("2")
        await settle()
        await pilot.press("1")
        await settle()
        heartbeat = screen.query_one(StatusBar)  # always on screen, whichever pane is shown
        beat = app.set_interval(1 / 30, heartbeat.refresh)
        thread = threading.Thread(target=poller, daemon=True)
        thread.start()
        watcher = asyncio.create_task(watch_polls())
        for i in range(TRIES):
            target = "tab-lag" if i % 2 == 0 else "tab-destinations"
            await timed("pane switch", "2" if i % 2 == 0 else "1", functools.partial(on_tab, target))
            await asyncio.sleep(0.1)
        lag = pane()
        for i in range(TRIES):
            row = lag.table.cursor_row
            await timed("cursor move", "down" if i % 4 < 2 else "up", functools.partial(on_row, lag, row))
            await asyncio.sleep(0.1)
        for _ in range(TRIES):
            await timed("drill-in open", "enter", opened)
            await pilot.press("escape")
            await asyncio.sleep(0.1)
        await pilot.press("1")
        await settle()
        destinations = pane()
        for _ in range(TRIES):
            order = (destinations.sort_index + 1) % 7
            await timed("sort", "s", functools.partial(sorted_by, destinations, order))
            await asyncio.sleep(0.1)
        await pilot.press("slash")
        for i in range(TRIES):
            text = "o" if i % 2 == 0 else ""
            await timed("filter keystroke", "o" if i % 2 == 0 else "backspace",
                        functools.partial(filtered, destinations, text))  # fmt: skip
            await asyncio.sleep(0.1)
        await pilot.press("escape")
        await asyncio.sleep(POLL * 2)
        stop.set()
        thread.join()
        watcher.cancel()
        frames_during = []
        for start, end in pairwise(clock.frames):
            if any(at <= start[0] <= done + AFTER_APPLIED for at, done in applied):
                frames_during.append(end[0] - start[0])
        beat.stop()
        backend.deliver(same=True)
        await asyncio.sleep(1.0)
        gc.collect()  # garbage cycles left by the run are not memory in use
        cpu = time.process_time()
        await asyncio.sleep(IDLE)
        idle_cpu = (time.process_time() - cpu) / IDLE
        rss = rss_mb()
    gc.callbacks.remove(collected)
    return {"latencies": latencies, "newest": newest, "starts": starts, "deliveries": deliveries, "frames": frames_during,
            "idle_cpu": idle_cpu, "rss": rss, "polls": len(deliveries), "full_collections": full_collections,
            "applied": [done - at for at, done in applied]}  # fmt: skip


def run_child(name: str) -> dict[str, Any]:
    done = subprocess.run([PYTHON, __file__, "--child", name], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{name} run failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    header("console at scale: 10,000 destinations, 6,000 lag rows, 1,000 DLQs vs 50 rows")
    small, large = run_child("small"), run_child("large")
    met = True
    for key in KEYS:
        p50, p99 = percentile(large["latencies"][key], 0.5) * 1000, percentile(large["latencies"][key], 0.99) * 1000
        s50, s99 = percentile(small["latencies"][key], 0.5) * 1000, percentile(small["latencies"][key], 0.99) * 1000
        ok = p99 < 100 and p99 <= 1.5 * s99
        met &= ok
        figure(f"{key} p50/p99", f"{p50:.0f}/{p99:.0f} ms", f"{s50:.0f}/{s99:.0f} ms (50 rows)", p99 / s99,
               "p99 < 100 ms and < 1.5x", ok)  # fmt: skip
    for key in KEYS:
        p50, p99 = percentile(large["newest"][key], 0.5) * 1000, percentile(large["newest"][key], 0.99) * 1000
        s99 = percentile(small["newest"][key], 0.99) * 1000
        note(f"{key} with the newest poll drawn too: p50/p99 {p50:.0f}/{p99:.0f} ms (50 rows: p99 {s99:.0f} ms)")
    worst, small_worst = max(large["frames"], default=0.0) * 1000, max(small["frames"], default=0.0) * 1000
    p99f, small_p99f = percentile(large["frames"], 0.99) * 1000, percentile(small["frames"], 0.99) * 1000
    figure("frame interval during polls p99", f"{p99f:.0f} ms", f"{small_p99f:.0f} ms", p99f / small_p99f)
    ok = worst <= 100
    met &= ok
    figure("frame interval during polls max", f"{worst:.0f} ms", f"{small_worst:.0f} ms", worst / small_worst,
           "<= 100 ms", ok)  # fmt: skip
    figure("CPU between polls (nothing changed)", f"{large['idle_cpu']:.1%}", f"{small['idle_cpu']:.1%}",
           large["idle_cpu"] / max(small["idle_cpu"], 1e-6))  # fmt: skip
    per_k = (large["rss"] - small["rss"]) / ((LARGE.rows - SMALL.rows) / 1000)
    figure("RSS", f"{large['rss']:.0f} MB", f"{small['rss']:.0f} MB", large["rss"] / small["rss"])
    note(f"RSS per 1,000 rows: {per_k:.1f} MB; polls landed during keys: {large['polls']} (large)")
    drawn_in = percentile(large["applied"], 0.5) * 1000, max(large["applied"], default=0.0) * 1000
    note(f"a poll delivered to drawn (large): median {drawn_in[0]:.0f} ms, max {drawn_in[1]:.0f} ms")
    for name, run in (("large", large), ("small", small)):
        pauses = run["full_collections"]
        note(
            f"full garbage collections ({name}, at quiet moments, ui/collector.py): {len(pauses)}, "
            f"max {max(pauses, default=0.0) * 1000:.0f} ms"
        )
    note("targets met" if met else "targets MISSED")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        chosen = {"small": SMALL, "large": LARGE}[sys.argv[2]]
        print(json.dumps(asyncio.run(child(chosen))))
    else:
        main()
