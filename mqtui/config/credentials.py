"""Finding credentials in broker URLs and raw config, and masking them in URLs shown to people.

Read leniently on purpose: a URL too broken to parse (a password with an unescaped '/', '#' or '@')
still has its secret found, so it is masked before the error about the URL is printed.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from mqtui.config.urls import NATS_SCHEMES

SECRET_KEYS = frozenset({"password", "token"})
"""Keys whose string value is a secret wherever they appear (`sasl.password` included)."""
URL_KEYS = frozenset({"url", "management_url", "monitor_url"})
"""Keys holding URLs, whose user-info may carry a password (or, for NATS, a token)."""


def _url_pieces(url: str) -> list[str]:
    """The URLs of a comma-separated list, cut only where a new `scheme://` starts, so that a comma in a
    password (legal in a URL) does not split it; a scheme-less list (Kafka) is cut at every comma."""
    if "://" not in url:
        return url.split(",")
    return re.split(r",(?=[A-Za-z][A-Za-z0-9+.-]*://)", url)


def _userinfo(piece: str) -> tuple[str, str, str, str | None, str] | None:
    """(scheme, separator, user, password or None, host and the rest) of a URL with an '@', read leniently:
    the user-info runs to the last '@', wherever an unescaped '/', '?' or '#' in a password put it."""
    scheme, sep, rest = piece.strip().partition("://")
    if not sep:
        scheme, rest = "", piece.strip()
    userinfo, at, host = rest.rpartition("@")
    if not at:
        return None
    user, colon, password = userinfo.partition(":")
    return scheme, sep, user, password if colon else None, host


def url_credentials(url: str) -> list[str]:
    """Every secret in a URL's user-info, as written and percent-decoded: the password, or for NATS a
    token given alone (`nats://TOKEN@host`). Works on URLs too broken to parse, so a bad one can be
    masked before the error about it is shown."""
    found: list[str] = []
    pieces = _url_pieces(url)
    if "://" not in url:  # a Kafka list is cut at every comma, so also read it whole
        pieces.append(url)
    for piece in pieces:
        info = _userinfo(piece)
        if info is None:
            continue
        scheme, _sep, user, password, _host = info
        secret = password if password is not None else (user if scheme.lower() in NATS_SCHEMES else None)
        if secret:
            found += [secret, unquote(secret)]
    return found


def redact_url(url: str) -> str:
    """The URL with any password (or NATS token) replaced, fit for screens, logs and errors."""
    parts = []
    for piece in _url_pieces(url):
        info = _userinfo(piece)
        if info is None:
            parts.append(piece.strip())
            continue
        scheme, sep, user, password, host = info
        if password is not None:
            parts.append(f"{scheme}{sep}{user}:***@{host}")
        elif scheme.lower() in NATS_SCHEMES:
            parts.append(f"{scheme}{sep}***@{host}")
        else:
            parts.append(piece.strip())
    return ",".join(parts)


def credentials_in(raw: Any) -> list[str]:
    """Every credential in a raw (parsed, not yet validated) config: the values of password and token
    keys at any depth, and the secrets in the user-info of every URL key. Read before validation, so
    they are masked before any error about them can be printed."""
    found: list[str] = []

    def walk(value: Any, key: str | None) -> None:
        if isinstance(value, dict):
            for name, item in value.items():
                walk(item, str(name))
        elif isinstance(value, list):
            for item in value:
                walk(item, key)
        elif isinstance(value, str) and key in SECRET_KEYS:
            found.append(value)
        elif isinstance(value, str) and key in URL_KEYS:
            found.extend(url_credentials(value))

    walk(raw, None)
    return found
