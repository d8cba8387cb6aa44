"""The demo's traffic generator: one background process driving every demo broker.

Each broker contributes `mqtui.demo.<kind>_traffic.run(broker, stop)`, which keeps a few destinations
busy: a consumer that keeps up, one that lags and grows, and one that fails some messages into a
dead-letter queue, so every pane of the console has something true to show. A generator that fails
(its broker restarting, say) is restarted after a pause instead of taking the others down.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from mqtui.demo import DemoRun
from mqtui.demo.localbrokers import pid_alive

log = logging.getLogger("mqtui.demo.traffic")
Generator = Callable[[dict[str, Any], asyncio.Event], Awaitable[None]]


async def _supervise(kind: str, generator: Generator, broker: dict[str, Any], stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await generator(broker, stop)
        except Exception as exc:  # a demo generator must never end the others
            log.warning("%s traffic stopped (%s); restarting in 2s", kind, exc)
        if not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=2.0)


async def _watch_owner(owner: int, stop: asyncio.Event) -> None:
    while not stop.is_set():
        if not pid_alive(owner):
            log.info("owner %d is gone: stopping the demo", owner)
            stop.set()
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)


async def run_all(run: DemoRun, owner: int | None = None) -> bool:
    """Drive every broker until stopped; True when the owner died and the demo must be torn down."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    watcher = asyncio.create_task(_watch_owner(owner, stop)) if owner is not None else None
    tasks = []
    for broker in run.brokers:
        kind = broker["kind"]
        try:
            module = importlib.import_module(f"mqtui.demo.{kind}_traffic")
        except ModuleNotFoundError:
            log.info("no demo traffic for %s yet", kind)
            continue
        tasks.append(asyncio.create_task(_supervise(kind, module.run, broker, stop)))
    await stop.wait()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return watcher is not None and watcher.done() and not pid_alive(owner)  # type: ignore[arg-type]


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    parser = argparse.ArgumentParser(prog="mqtui.demo.traffic")
    parser.add_argument("state_file", type=Path)
    parser.add_argument("--owner", type=int, help="stop the whole demo when this process is gone")
    args = parser.parse_args(argv)
    run = DemoRun.load(args.state_file.parent)
    if run is None:
        log.error("no demo state at %s", args.state_file)
        return 1
    if asyncio.run(run_all(run, args.owner)):
        current = DemoRun.load(args.state_file.parent)
        if current is not None:
            current.stop(spare=os.getpid())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
