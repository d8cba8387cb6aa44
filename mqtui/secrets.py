"""A process-wide list of the secrets in the loaded profile, so any text can be scrubbed of them.

Credentials reach error messages in ways no adapter controls (a client library echoing its URL, a
server quoting the user name and password back). Every line we print, log, export or put on screen
can pass through `scrub` as a last line of defence.
"""

from __future__ import annotations

from urllib.parse import quote

_secrets: set[str] = set()
MASK = "***"


def register(*values: str | None) -> None:
    for value in values:
        if value and len(value) >= 3:
            _secrets.add(value)
            _secrets.add(quote(value, safe=""))


def registered() -> frozenset[str]:
    return frozenset(_secrets)


def scrub(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text
