"""The opt-in debug log (`MQTUI_LOG`): what reaches it is scrubbed of secrets and control characters."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

from mqtui import __version__, secrets
from tests.helpers import run_mqtui, write_config

SECRET = "Log-S3cret-4711"


def test_records_of_client_libraries_are_scrubbed(debug_log: Path) -> None:
    secrets.register(SECRET)
    url = f"amqp://ops:{SECRET}@rabbit.internal:5672/%2F"
    # What a client library might log: the URL in the arguments, in the message, in an exception.
    logging.getLogger("pika.adapters.utils.connection_workflow").debug("connecting to %s", url)
    logging.getLogger("nats.aio.client").error(f"nats: connect to nats://ops:{SECRET}@h:4222 failed")
    try:
        raise ConnectionError(f"refused: {url}\x1b]0;title\x07")
    except ConnectionError:
        logging.getLogger("redis.asyncio.connection").exception("lost %s", "\x1b[2Jconnection")
    logging.getLogger("mqtui.poller").warning("bad format %s %s", "only one")  # a library's own bug
    text = debug_log.read_text(encoding="utf-8")
    assert SECRET not in text
    assert text.count("ops:***@") == 3  # every one of the three URLs, masked
    assert "\x1b" not in text and "\x07" not in text
    assert "␛]0;title␇" in text and "␛[2Jconnection" in text
    assert "Traceback (most recent call last)" in text  # the exception is kept, scrubbed
    assert "bad format" in text  # a record whose arguments do not fit is kept, not dropped
    assert stat.S_IMODE(debug_log.stat().st_mode) == 0o600


def test_an_unwritable_log_is_one_line_exit_2(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", {"p": {"brokers": []}})
    result = run_mqtui("--config", str(config), "-p", "p", "ls", env={"MQTUI_LOG": str(tmp_path / "no" / "x.log")})
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        f"mqtui: error: MQTUI_LOG: cannot write the log file {tmp_path / 'no' / 'x.log'}: No such file or directory"
    ]


def test_the_cli_logs_its_command_and_failure(tmp_path: Path) -> None:
    log = tmp_path / "cli.log"
    config = write_config(tmp_path / "c.toml", {"p": {"brokers": []}})
    result = run_mqtui("--config", str(config), "-p", "nosuch", "ls", env={"MQTUI_LOG": str(log)})
    assert result.code == 2
    lines = log.read_text().splitlines()
    assert lines[0].endswith(f"DEBUG mqtui.cli [MainThread] mqtui {__version__}: ls")
    assert lines[-1].endswith("INFO mqtui.cli [MainThread] ls failed: unknown profile 'nosuch' "
                              f"(available: p, demo; config: {config})")  # fmt: skip
