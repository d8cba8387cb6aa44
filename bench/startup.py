"""Start-up: `mqtui --help` wall time against a bare `python -c pass` measured in the same run.

Prints one line per figure ending with the ratio to its baseline. Target: `mqtui --help` under 150 ms.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

RUNS = 15


def wall_ms(args: list[str]) -> float:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    baseline = wall_ms([sys.executable, "-c", "pass"])
    helped = wall_ms([sys.executable, "-m", "mqtui", "--help"])
    version = wall_ms([sys.executable, "-m", "mqtui", "--version"])
    print(f"python -c pass          {baseline:7.1f} ms  (baseline)")
    print(f"mqtui --help            {helped:7.1f} ms  target <150 ms  ratio {helped / baseline:.2f}x")
    print(f"mqtui --version         {version:7.1f} ms  target <150 ms  ratio {version / baseline:.2f}x")


if __name__ == "__main__":
    main()
