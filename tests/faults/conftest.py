"""The fault suite (`pytest -m fault tests/faults`): kill -9 during replays against real brokers.

Each broker's module owns a private broker it may kill and restart; the shared session brokers of the
quick suite are never touched. The terminal summary adds up what every fault point showed.
"""

from __future__ import annotations

import pytest

from tests.faults.harness import LEDGER, summary_lines


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Totals per broker; with -v, every fault point too."""
    lines = summary_lines()
    if not lines:
        return
    terminalreporter.section("replay under kill -9")
    if terminalreporter.verbosity > 0:
        for outcome in LEDGER:
            terminalreporter.write_line(str(outcome))
    for line in lines:
        terminalreporter.write_line(line)
