"""The console's tail pane under a 20,000 msg/s stream, and its memory after tailing 1,000,000 messages.

Both run the real console (`MqtuiApp` on a `LiveBackend`, a profile holding one tansu broker) under
Textual's Pilot (`App.run_test`, 120x36), each in a fresh child process of this script.

Stream: the tail pane follows a 3-partition topic from its end while a separate producer process writes
20,000 msg/s of 200 bytes into it, paced every 2 ms. The frames are timed by wrapping the screen's
compositor refresh (layout, widget render lines, compositor update) and, because a headless app skips
it, the conversion of each frame into terminal output is done too and counted. To measure how fast the
UI can paint rather than how often it is asked to, a one-line widget is refreshed 30 times a second
(like a spinner or a key press would), so a healthy UI paints about every 33 ms and a UI busy ingesting
messages paints later. Reported over MEASURE seconds after WARM seconds: frame interval p50/p95/max, the
longest gap between two runs of a 20 ms timer on the UI loop, and whether the pane keeps up: messages
taken by the pane vs produced, dropped, and the age of the newest message shown, sampled every 100 ms.
Baseline: a bare Textual app doing what toolong recommends for a fast tail, `Log(max_lines=10_000)`
fed with `write_lines()` every 100 ms from a confluent-kafka consumer thread that formats each message
into one text line, with the same probes on the same stream. Target: frame interval under 100 ms.

Memory: the console tails a 1,000,000-message topic from the beginning; its resident memory is read
before the tail starts, after 10,000 messages and after 1,000,000. Target: within 50 MB from 10,000 to
1,000,000 (the pane keeps 10,000 messages, the tail stream at most 50,000 pending).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from itertools import pairwise
from pathlib import Path
from typing import Any

from common import (
    PYTHON,
    QUIET,
    figure,
    header,
    local_brokers,
    mqtui_env,
    note,
    percentile,
    rss_mb,
    write_profile,
)
from kafka_data import create_topics, fill

RATE = 20_000
WARM = 3.0
MEASURE = 10.0
SIZE = 200
PROBE = 0.02
DEMAND = 1 / 30
BIG = 1_000_000
TERMINAL = (120, 36)

PRODUCER = """
import sys, time
from confluent_kafka import Producer
url, topic, rate, seconds, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
producer = Producer({"bootstrap.servers": url, "linger.ms": 5, "log_level": 0})
value = b"v" * size
sent = 0
started = time.perf_counter()
while (now := time.perf_counter() - started) < seconds:
    due = int(now * rate)
    while sent < due:
        try:
            producer.produce(topic, value, key=b"k%d" % (sent % 100))
            sent += 1
        except BufferError:
            producer.poll(0.001)
    producer.poll(0)
    time.sleep(0.002)
producer.flush(30)
print(sent, time.perf_counter() - started, flush=True)
"""


# -- measuring inside the child ---------------------------------------------------------------------
class FrameClock:
    """Times every frame the top screen paints, including the terminal output a headless app skips."""

    def __init__(self) -> None:
        self.frames: list[tuple[float, float]] = []  # (start, seconds)
        self.recording = False

    def install(self) -> None:
        from textual._compositor import CompositorUpdate
        from textual.app import App
        from textual.screen import Screen

        clock = self
        refresh = Screen._compositor_refresh
        display = App._display

        def timed_refresh(screen: Screen) -> None:
            started = time.perf_counter()
            refresh(screen)
            if clock.recording and screen is screen.app.screen:
                clock.frames.append((started, time.perf_counter() - started))

        def rendering_display(app: App, screen: Screen, renderable: Any) -> None:
            if app.is_headless and isinstance(renderable, CompositorUpdate):
                renderable.render_segments(app.console)  # what a terminal would be sent
            display(app, screen, renderable)

        Screen._compositor_refresh = timed_refresh  # type: ignore[method-assign]
        App._display = rendering_display  # type: ignore[method-assign]

    def intervals(self) -> list[float]:
        starts = [start for start, _ in self.frames]
        return [b - a for a, b in pairwise(starts)]


class Probes:
    """A 20 ms timer (how late it runs is how long the loop was busy) and the newest message's age."""

    def __init__(self) -> None:
        self.ticks: list[float] = []
        self.ages: list[float] = []

    def tick(self) -> None:
        self.ticks.append(time.perf_counter())

    def gaps(self) -> list[float]:
        return [b - a for a, b in pairwise(self.ticks)]


def summary(clock: FrameClock, probes: Probes, shown: int, produced: int, dropped: int) -> dict[str, Any]:
    intervals = clock.intervals()
    return {
        "frames": len(clock.frames),
        "interval_p50": percentile(intervals, 0.5),
        "interval_p95": percentile(intervals, 0.95),
        "interval_p99": percentile(intervals, 0.99),
        "interval_max": max(intervals, default=float("nan")),
        "frame_cost_p95": percentile([cost for _, cost in clock.frames], 0.95),
        "stall_max": max(probes.gaps(), default=float("nan")),
        "age_p50": percentile(probes.ages, 0.5),
        "age_p95": percentile(probes.ages, 0.95),
        "shown": shown,
        "produced": produced,
        "dropped": dropped,
    }


def start_producer(url: str, topic: str) -> subprocess.Popen[bytes]:
    seconds = WARM + MEASURE + 1
    return subprocess.Popen([PYTHON, "-c", PRODUCER, url, topic, str(RATE), str(seconds), str(SIZE)],
                            stdout=subprocess.PIPE)  # fmt: skip


def finish_producer(producer: subprocess.Popen[bytes]) -> int:
    out, _ = producer.communicate(timeout=60)
    return int(out.split()[0])


async def run_stream(app: Any, url: str, topic: str, start: Any, refreshable: Any, pulled: Any) -> dict[str, Any]:
    """Common to both apps: warm up, record MEASURE seconds under the stream, return the summary.

    `start()` begins the tail, `refreshable()` is the one-line widget asked to repaint 30 times a second,
    `pulled()` answers (messages the pane took, newest timestamp in epoch seconds or None, messages
    dropped before the pane took them).
    """
    clock, probes = FrameClock(), Probes()
    clock.install()
    async with app.run_test(size=TERMINAL) as pilot:
        await pilot.pause()
        start()
        await asyncio.sleep(2.0)  # the tail connects and is assigned its partitions
        producer = start_producer(url, topic)
        try:
            app.set_interval(PROBE, probes.tick)
            app.set_interval(DEMAND, lambda: refreshable().refresh())
            await asyncio.sleep(WARM)
            taken_before = pulled()[0]
            clock.recording = True
            probes.ticks.clear()
            finish = time.perf_counter() + MEASURE
            while time.perf_counter() < finish:
                await asyncio.sleep(0.1)
                newest = pulled()[1]
                if newest is not None:
                    probes.ages.append(time.time() - newest)
            clock.recording = False
            taken, _, dropped = pulled()
        finally:
            produced = finish_producer(producer)
        return summary(clock, probes, taken - taken_before, produced, dropped)


def child_mqtui(config: str, url: str, topic: str) -> dict[str, Any]:
    from mqtui.model import StartPosition
    from mqtui.services.backend import LiveBackend
    from mqtui.ui.app import MqtuiApp
    from mqtui.ui.widgets.bars import StatusBar

    backend = LiveBackend.open(config, "bench")
    app = MqtuiApp(backend)

    def pulled() -> tuple[int, float | None, int]:
        pane = app.screen.panes["tail"]  # type: ignore[attr-defined] - the console screen
        newest = pane.buffer[-1] if pane.buffer else None  # type: ignore[attr-defined]
        stamp = newest.timestamp.timestamp() if newest is not None and newest.timestamp else None
        stream = pane.stream  # type: ignore[attr-defined]
        return pane.taken, stamp, stream.dropped if stream is not None else 0  # type: ignore[attr-defined]

    try:
        return asyncio.run(
            run_stream(
                app, url, topic,
                start=lambda: app.screen.start_tail("bench-kafka", topic, StartPosition("end")),  # type: ignore[attr-defined]
                refreshable=lambda: app.screen.query_one(StatusBar),
                pulled=pulled,
            )
        )  # fmt: skip
    finally:
        app.backend.stop()


def child_bare(url: str, topic: str) -> dict[str, Any]:
    from confluent_kafka import Consumer, TopicPartition
    from textual.app import App, ComposeResult
    from textual.widgets import Log, Static

    class BareTail(App[None]):
        def __init__(self) -> None:
            super().__init__()
            self.pending: deque[str] = deque(maxlen=50_000)
            self.lock = threading.Lock()
            self.taken = 0
            self.newest: float | None = None
            self.stop = threading.Event()

        def compose(self) -> ComposeResult:
            yield Static("bare tail", id="status")
            yield Log(max_lines=10_000, id="log")

        def begin(self) -> None:
            threading.Thread(target=self.read, daemon=True).start()
            self.set_interval(0.1, self.pull)

        def read(self) -> None:
            consumer = Consumer({"bootstrap.servers": url, "group.id": "bench-bare-tail", **QUIET})
            metadata = consumer.list_topics(topic, timeout=10)
            ends = []
            for partition in metadata.topics[topic].partitions:
                ends.append(TopicPartition(topic, partition, consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), timeout=10)[1]))  # fmt: skip
            consumer.assign(ends)
            while not self.stop.is_set():
                batch = consumer.consume(2000, 0.1)
                lines = []
                stamp = None
                for m in batch:
                    if m.error() is None:
                        stamp = m.timestamp()[1] / 1000
                        key = m.key().decode("utf-8", "replace") if m.key() else "-"
                        clock = time.strftime("%H:%M:%S", time.localtime(stamp))
                        lines.append(
                            f"{clock} [{m.partition()}]@{m.offset()} {key} {m.value().decode('utf-8', 'replace')}"
                        )
                with self.lock:
                    self.pending.extend(lines)
                    if stamp is not None:
                        self.last_stamp = stamp
            consumer.close()

        def pull(self) -> None:
            with self.lock:
                lines = list(self.pending)
                self.pending.clear()
                stamp = getattr(self, "last_stamp", None)
            if lines:
                self.taken += len(lines)
                self.newest = stamp
                self.query_one(Log).write_lines(lines)

    app = BareTail()
    try:
        return asyncio.run(
            run_stream(
                app, url, topic,
                start=app.begin,
                refreshable=lambda: app.query_one("#status"),
                pulled=lambda: (app.taken, app.newest, 0),
            )
        )  # fmt: skip
    finally:
        app.stop.set()


def child_memory(config: str, topic: str) -> dict[str, Any]:
    from mqtui.model import StartPosition
    from mqtui.services.backend import LiveBackend
    from mqtui.ui.app import MqtuiApp

    backend = LiveBackend.open(config, "bench")
    app = MqtuiApp(backend)
    marks: dict[str, float] = {}

    async def run() -> None:
        async with app.run_test(size=TERMINAL) as pilot:
            await pilot.pause()
            await asyncio.sleep(1.0)
            marks["idle"] = rss_mb()
            app.screen.start_tail("bench-kafka", topic, StartPosition("beginning"))  # type: ignore[attr-defined]
            pane = app.screen.panes["tail"]  # type: ignore[attr-defined] - the console screen
            deadline = time.monotonic() + 300
            for mark, count in (("10k", 10_000), ("1M", BIG)):
                while pane.stream is None or pane.stream.received < count:  # type: ignore[attr-defined]
                    assert time.monotonic() < deadline, "the tail did not get there in time"
                    await asyncio.sleep(0.02)
                marks[mark] = rss_mb()
            marks["shown"] = len(pane.messages)  # type: ignore[attr-defined]
            marks["stream_dropped"] = pane.stream.dropped  # type: ignore[attr-defined]

    try:
        asyncio.run(run())
    finally:
        app.backend.stop()
    return marks


# -- the parent --------------------------------------------------------------------------------------
def child(*args: str) -> dict[str, Any]:
    done = subprocess.run([PYTHON, __file__, "child", *args], capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"child {args[0]} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    header("console tail: the tail pane under 20,000 msg/s, and its memory over 1,000,000 messages")
    with tempfile.TemporaryDirectory(prefix="mqtui-bench-") as scratch, local_brokers("kafka") as brokers:
        home = Path(scratch)
        kafka = brokers["kafka"]
        config = write_profile(home / "config.toml", [kafka.broker_config()], poll_interval=2.0)
        create_topics(kafka.url, ["live-mqtui", "live-bare"], 3)
        create_topics(kafka.url, ["big"], 1)
        os.environ.update(mqtui_env(home))
        mine = child("mqtui", str(config), kafka.url, "live-mqtui")
        theirs = child("bare", kafka.url, "live-bare")
        for name, found in (("mqtui", mine), ("bare Log", theirs)):
            note(f"{name}: {found['frames']} frames in {MEASURE:.0f} s, interval p50 {found['interval_p50'] * 1000:.0f} "
                 f"p95 {found['interval_p95'] * 1000:.0f} p99 {found['interval_p99'] * 1000:.0f} max {found['interval_max'] * 1000:.0f} ms, frame cost p95 "
                 f"{found['frame_cost_p95'] * 1000:.1f} ms, loop stall max {found['stall_max'] * 1000:.0f} ms, "
                 f"newest shown age p50 {found['age_p50'] * 1000:.0f} p95 {found['age_p95'] * 1000:.0f} ms, took "
                 f"{found['shown']:,} of {found['produced']:,} produced")  # fmt: skip
        figure("console tail @20k msg/s, frame interval p95", f"mqtui {mine['interval_p95'] * 1000:5.0f} ms",
               f"bare Textual Log {theirs['interval_p95'] * 1000:5.0f} ms",
               mine["interval_p95"] / theirs["interval_p95"], "<100 ms", mine["interval_p95"] < 0.1)  # fmt: skip
        figure("console tail @20k msg/s, frame interval max", f"mqtui {mine['interval_max'] * 1000:5.0f} ms",
               f"bare Textual Log {theirs['interval_max'] * 1000:5.0f} ms",
               mine["interval_max"] / theirs["interval_max"], "<100 ms", mine["interval_max"] < 0.1)  # fmt: skip
        rate_mine = mine["shown"] / MEASURE
        rate_theirs = theirs["shown"] / MEASURE
        keeps_up = mine["dropped"] == 0 and mine["age_p95"] < 1.0 and rate_mine >= 0.95 * RATE
        figure("console tail @20k msg/s, pane keeps up", f"mqtui {rate_mine:,.0f} msg/s taken, newest "
               f"{mine['age_p95'] * 1000:.0f} ms old (p95), dropped {mine['dropped']}",
               f"bare Textual Log {rate_theirs:,.0f} msg/s", rate_mine / rate_theirs, "keeps up", keeps_up)  # fmt: skip

        started = time.perf_counter()
        fill(kafka.url, "big", BIG, SIZE)
        note(f"produced {BIG:,} records of {SIZE} B in {time.perf_counter() - started:.1f} s")
        memory = child("memory", str(config), "big")
        growth = memory["1M"] - memory["10k"]
        note(f"console RSS idle {memory['idle']:.1f} MB; pane shows {memory['shown']:,}; the tail stream dropped "
             f"{memory['stream_dropped']:,} the pane never took")  # fmt: skip
        figure("console tail memory, 10k -> 1M messages", f"mqtui {memory['10k']:.1f} -> {memory['1M']:.1f} MB "
               f"({growth:+.1f} MB)", f"idle console {memory['idle']:.1f} MB", memory["1M"] / memory["10k"],
               "growth <=50 MB", growth <= 50)  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "child":
        mode, rest = sys.argv[2], sys.argv[3:]
        if mode == "mqtui":
            result = child_mqtui(*rest)
        elif mode == "bare":
            result = child_bare(*rest)
        else:
            result = child_memory(*rest)
        print(json.dumps(result), flush=True)
    else:
        main()
