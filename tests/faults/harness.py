"""The fault suite's machinery: draw a kill point from a seed, kill -9 a running `mqtui dlq replay`
(or its broker) there, rerun the replay, and keep a ledger of what every fault point showed.

A kill point is a number of messages that must have reached the destination before the kill, read by
a probe the broker's test supplies (a count from a client of the test's own, never from mqtui). A
point of 0 is a time offset instead: the kill lands that long after the process started, while mqtui
is still starting, connecting or planning, unless a message moves first. Every point must land while
the replay is still running; one that comes after the replay finished fails its test, since it would
show nothing. Between two counts the replay either runs one short slice (stopped with SIGSTOP while
the probe counts) or, when it reaches its broker through a `link.GatedLink`, sends one chunk (Kafka:
one request, answered before the count).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tests.faults.link import GatedLink
from tests.helpers import run_mqtui, write_config

Victim = Literal["mqtui", "broker"]
PROFILE = "faults"
#: The most seconds a kill point may take to come, and a killed broker's replay to give up.
WAIT = 60.0
#: How long the replay runs between two probes.
STEP = 0.002
#: How long a metered link waits for mqtui's next chunk before counting again.
LINK_WAIT = 0.005
#: Seconds a replay process may take to exit after giving up (interpreter and client shutdown).
GRACE = 3.0


@dataclass(frozen=True)
class FaultPoint:
    broker: str
    scenario: str
    seed: int
    victim: Victim
    after: int
    """Messages at the destination before the kill; 0: kill `delay` seconds after the start instead."""
    delay: float

    @classmethod
    def draw(cls, broker: str, scenario: str, seed: int, *, victims: Sequence[Victim], most: int) -> FaultPoint:
        """The same seed always gives the same point; one in ten lands before any message moved."""
        rng = random.Random(f"{broker}/{scenario}/{seed}")
        victim = rng.choice(list(victims))
        after = 0 if rng.random() < 0.1 else rng.randint(1, most)
        return cls(broker, scenario, seed, victim, after, round(rng.uniform(0.05, 0.6), 3))

    def __str__(self) -> str:
        where = f"after {self.after} moved" if self.after else f"at +{self.delay:.2f}s"
        return f"{self.broker} {self.scenario} seed {self.seed}: kill -9 {self.victim} {where}"


@dataclass
class Outcome:
    """What one fault point showed; the terminal summary adds these up per broker."""

    point: FaultPoint
    dead_letters: int
    moved_at_kill: int
    first_code: int | None
    rerun: dict[str, Any]
    lost: int
    duplicates: int
    """Copies beyond the first that reached the destination."""
    reported: int
    """Duplicates mqtui reported (`ReplayResult.duplicates`) over both runs."""
    gave_up: float = 0.0
    """Seconds the killed run took to end (after its broker died: how fast it gave up)."""

    def __str__(self) -> str:
        first = f"exit {self.first_code}" + (f" after {self.gave_up:.1f}s" if self.point.victim == "broker" else "")
        return (f"{self.point} (at kill: {self.moved_at_kill} moved, {first}); rerun sent {self.rerun['sent']} "
                f"skipped {self.rerun['skipped']}; lost {self.lost}, duplicates {self.duplicates} "
                f"delivered / {self.reported} reported")  # fmt: skip


LEDGER: list[Outcome] = []


def profile(path: Path, entry: dict[str, Any]) -> Path:
    """A config file whose profile `faults` holds the one broker under test."""
    return write_config(path, {PROFILE: {"brokers": [entry]}})


def spawn_replay(config: Path, broker: str, dlq: str, logs: Path) -> subprocess.Popen[bytes]:
    """`mqtui dlq replay BROKER DLQ --yes --json` as a user runs it, output kept in files."""
    logs.mkdir(parents=True, exist_ok=True)
    with (logs / "out").open("wb") as out, (logs / "err").open("wb") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "mqtui", "--config", str(config), "-p", PROFILE, "dlq", "replay", broker, dlq,
             "--yes", "--json"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=os.environ.copy(),
        )  # fmt: skip


@dataclass
class Interrupted:
    """The first, killed run."""

    code: int | None
    moved_at_kill: int
    out: str
    err: str
    result: dict[str, Any] | None = field(default=None)
    gave_up: float = 0.0
    """Seconds from the kill to the end of the process."""


def interrupt(
    process: subprocess.Popen[bytes],
    point: FaultPoint,
    probe: Callable[[], int],
    kill_broker: Callable[[], None],
    total: int,
    logs: Path,
    timeout: float,
    link: GatedLink | None = None,
) -> Interrupted:
    """Step the replay until the kill point, kill -9 the victim, and wait for the replay process to end.

    Without a `link`, the replay runs in slices of STEP seconds and is stopped (SIGSTOP) while the probe
    counts, so it cannot run past its kill point between two probes; it does not notice, beyond the lost
    time. A slice bounds CPU time, not progress, so a replay that moves many messages per round trip
    goes through a held `link` instead: it runs freely and the link passes one chunk (or one request) of
    what it sends between two probes; the link is released after the kill.
    A replay whose broker was killed must give up within the broker's `timeout` (plus GRACE to exit).
    """
    started = time.monotonic()
    moved = 0
    while True:
        if process.poll() is not None:
            raise AssertionError(f"{point}: the replay ended (code {process.returncode}) before the kill point, "
                                 f"with {moved} of {total} moved: {(logs / 'err').read_text()[-500:]}")  # fmt: skip
        if link is None:
            os.kill(process.pid, signal.SIGSTOP)
        moved = probe()
        elapsed = time.monotonic() - started
        if (point.after and moved >= point.after) or (not point.after and (moved > 0 or elapsed >= point.delay)):
            break
        if elapsed > WAIT:
            process.kill()
            raise AssertionError(f"{point}: only {moved} of {total} moved in {WAIT:.0f}s")
        if link is None:
            os.kill(process.pid, signal.SIGCONT)
            time.sleep(STEP)
        else:
            link.step(LINK_WAIT)
    if point.victim == "mqtui":
        os.kill(process.pid, signal.SIGKILL)
    else:
        kill_broker()
        if link is None:
            os.kill(process.pid, signal.SIGCONT)
    if link is not None:
        link.release()
    killed = time.monotonic()
    try:
        process.wait(timeout=timeout + GRACE)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(f"{point}: mqtui did not give up within {timeout:g}s of its broker dying") from None
    gave_up = time.monotonic() - killed
    out = (logs / "out").read_text(errors="replace")
    err = (logs / "err").read_text(errors="replace")
    assert moved < total, f"{point}: the kill came after all {total} had moved"
    if point.victim == "mqtui":
        assert process.returncode == -signal.SIGKILL, f"{point}: exit {process.returncode}: {err[-500:]}"
    else:
        # The replay meets its broker dying: one clean line and exit 1, never a traceback or a hang.
        assert "Traceback" not in err, f"{point}: {err[-2000:]}"
        assert process.returncode == 1, f"{point}: exit {process.returncode}: {err[-500:]}"
        assert err.strip() and all(line.startswith("mqtui: ") for line in err.strip().splitlines()), err
    result = json.loads(out.splitlines()[-1]) if out.strip() else None
    return Interrupted(process.returncode, moved, out, err, result, gave_up)


def rerun(config: Path, broker: str, dlq: str) -> dict[str, Any]:
    """The replay run again to completion; its JSON result."""
    done = run_mqtui("--config", str(config), "-p", PROFILE, "dlq", "replay", broker, dlq, "--yes", "--json")
    assert done.code == 0, f"rerun of {dlq} failed ({done.code}): {done.err[-1000:]} {done.out[-1000:]}"
    assert "Traceback" not in done.err
    [result] = done.json_lines()
    assert result["failed"] == 0, result
    return result


def reported_duplicates(first: Interrupted, again: dict[str, Any]) -> int:
    return int((first.result or {}).get("duplicates", 0)) + int(again["duplicates"])


def record(point: FaultPoint, dead_letters: int, first: Interrupted, again: dict[str, Any], lost: int,
           duplicates: int) -> int:  # fmt: skip
    """Put a fault point's outcome in the ledger; returns the duplicates mqtui reported."""
    reported = reported_duplicates(first, again)
    LEDGER.append(Outcome(point, dead_letters, first.moved_at_kill, first.code, again, lost, duplicates, reported,
                          first.gave_up))  # fmt: skip
    return reported


def summary_lines() -> list[str]:
    """One line per broker: fault points, dead letters, kills by victim, lost and duplicates."""
    lines = []
    for broker in sorted({o.point.broker for o in LEDGER}):
        rows = [o for o in LEDGER if o.point.broker == broker]
        scenarios = sorted({o.point.scenario for o in rows})
        kills = {v: sum(1 for o in rows if o.point.victim == v) for v in ("mqtui", "broker")}
        early = sum(1 for o in rows if o.moved_at_kill == 0)
        late = sum(1 for o in rows if o.moved_at_kill >= o.dead_letters)
        lines.append(
            f"{broker}: {len(rows)} fault points ({', '.join(scenarios)}), {sum(o.dead_letters for o in rows):,} "
            f"dead letters, kill -9 of mqtui {kills['mqtui']} / of the broker {kills['broker']} "
            f"({early} before the first move, {late} after the last), lost {sum(o.lost for o in rows)}, "
            f"duplicates {sum(o.duplicates for o in rows)} delivered / {sum(o.reported for o in rows)} reported"
        )
    return lines
