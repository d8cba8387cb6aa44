"""The opt-in debug log: `MQTUI_LOG=/path/file` collects mqtui's and the client libraries' records.

mqtui prints nothing but results and one-line errors, and the console draws on the whole terminal,
so when something goes wrong the details have to go somewhere else. Client libraries log what they
do, and some of it names connection URLs with passwords in them (pika, nats-py) or quotes what a
server sent back. Every record therefore passes `ScrubSecrets` on its way into the file: the
registered secrets are masked and control characters (a payload quoted in an error) are made
visible, so `tail -f` on the log is as safe as the console itself.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from mqtui.errors import ConfigError
from mqtui.safetext import safe_block
from mqtui.secrets import scrub

ENV_VAR = "MQTUI_LOG"
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"


def clean(text: str) -> str:
    """Secrets masked, then every control character but newline and tab replaced."""
    return safe_block(scrub(text), None)


class ScrubSecrets(logging.Filter):
    """Rewrites a record in place so that nothing after it (formatter, file) sees a secret.

    Installed on the handler rather than on a logger: handler filters also see the records that
    propagate up from other libraries' loggers, logger filters do not.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a library's bad format string must not lose the record
            message = f"{record.msg!r} % {record.args!r}"
        record.msg = clean(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = clean(record.exc_text)
        if record.stack_info:
            record.stack_info = clean(record.stack_info)
        return True


def configure(environ: Mapping[str, str] = os.environ) -> Path | None:
    """Send every record at DEBUG and above to the file `MQTUI_LOG` names; nothing when it is unset.

    The file is created readable by its owner only: it holds host names, user names and payload
    excerpts even with the secrets masked.
    """
    value = environ.get(ENV_VAR, "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        handler = logging.FileHandler(path, encoding="utf-8", errors="backslashreplace")
    except OSError as exc:
        raise ConfigError(f"{ENV_VAR}: cannot write the log file {path}: {exc.strerror}") from None
    handler.addFilter(ScrubSecrets())
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logging.captureWarnings(True)
    return path
