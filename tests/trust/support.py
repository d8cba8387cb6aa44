"""Helpers for the trust tests: what counts as unsafe output, the corpus as messages, running the CLI."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from mqtui.config import AnyBrokerConfig, BrokerConfig
from mqtui.model import OutgoingMessage, PublishResult
from mqtui.services.session import connected
from tests.helpers import CliResult, run_mqtui
from tests.trust.corpus import all_payloads

#: What must never reach a terminal from one line of output: C0 controls (a newline only ends the line),
#: DEL, C1 controls, bidi overrides and isolates, Unicode line separators.
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
PAYLOADS = all_payloads()
MARKUP = ("[bold red]ALERT[/bold red]", "[@click=app.quit]click[/]", "[link=https://evil.example]docs[/link]")


def unsafe_in(text: str) -> list[str]:
    """Every unsafe character in CLI output, with a little context, for a readable failure."""
    return [repr(text[max(m.start() - 10, 0) : m.end() + 10]) for m in UNSAFE.finditer(text)]


def assert_terminal_safe(result: CliResult) -> None:
    """Neither stdout nor stderr holds anything a terminal would act on, and no traceback."""
    assert not unsafe_in(result.out), unsafe_in(result.out)[:5]
    assert not unsafe_in(result.err), unsafe_in(result.err)[:5]
    assert "Traceback" not in result.err


def broker_config(entry: dict[str, Any]) -> AnyBrokerConfig:
    return msgspec.convert(entry, AnyBrokerConfig)  # type: ignore[arg-type]


def publish(
    config: BrokerConfig, destination: str, messages: Sequence[OutgoingMessage], **options: str
) -> PublishResult:
    """Publish through mqtui's own adapter (the path `mqtui publish` and the console take).

    Kafka messages go one request each: tansu numbers offsets by batch (see
    tests/kafka/test_tansu_deviations.py), and a tail that checks every record needs true offsets.
    """

    async def send() -> PublishResult:
        async with connected(config) as adapter:
            if config.kind != "kafka":
                return await adapter.publish(destination, messages, options=options)
            results = [await adapter.publish(destination, [message], options=options) for message in messages]
            return PublishResult(
                sent=sum(r.sent for r in results),
                failed=tuple((index, reason) for index, r in enumerate(results) for _i, reason in r.failed),
            )

    return asyncio.run(send())


def cli(config: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> CliResult:
    return run_mqtui("--config", str(config), "-p", "p", *args, env=env, timeout=timeout)


def header_name(payload: bytes) -> str:
    """A hostile payload as a header name (text, at most 40 characters, never empty)."""
    return payload.decode("utf-8", "replace")[:40] or "empty"


def run_many(config: Path, commands: Sequence[Sequence[str]], env: dict[str, str], workers: int = 4) -> list[CliResult]:
    """Independent CLI commands side by side (each a process of its own), results in order."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda args: cli(config, *args, env=env), commands))


def closed_port() -> int:
    """A port nothing listens on (a broker that is down)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
