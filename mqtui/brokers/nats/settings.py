"""Where and how to connect to NATS: the profile's keys, with a natscli context filling what they leave unset.

A context (ADR-21 of nats-io/nats-architecture-and-design) is a JSON file under
`~/.config/nats/context/NAME.json`; `~/.config/nats/context.txt` names the one `nats` uses when given
none. mqtui reads its servers (`url`), `user`/`password`, `token`, `creds`, `nkey`, `ca`/`cert`/`key`,
`tls_first`, `inbox_prefix`, `jetstream_domain` and `jetstream_api_prefix`. Credential URIs other than
`file://` (`nsc://`, `op://`, `env://`, `data:`) and the deprecated `nsc` key are refused with one line:
they need other programs or inline secrets.

Key files are read here rather than left to nats-py, whose `connect` lets a damaged seed escape as an
nkeys exception; here the error names the file and never its content.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import nkeys
import orjson

from mqtui import secrets
from mqtui.config import NatsConfig, redact_url, url_credentials
from mqtui.errors import BrokerError

#: Where `nats` connects when neither the profile nor the context names a server (its own default).
DEFAULT_URL = "nats://localhost:4222"
API_PREFIX = "$JS.API"


@dataclass(frozen=True)
class Settings:
    """Everything `open_connection` and the monitoring client need, resolved once per connect."""

    options: dict[str, Any]
    """Keyword arguments for nats-py's `Client.connect` (they hold secrets: never logged)."""
    shown: str
    """The servers with passwords masked, for messages."""
    api_prefix: str = API_PREFIX
    """Where the JetStream API answers: `$JS.API`, `$JS.<domain>.API`, or the context's prefix."""
    tls: ssl.SSLContext | None = None
    """The client TLS context, also used for an https `monitor_url` (the server serves both with it)."""


def nats_config_dir() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "nats"


def load_context(broker: str, reference: str) -> dict[str, Any]:
    """A natscli context: a path to its JSON file, a context name, or "" for the one natscli has selected."""
    base = nats_config_dir()
    if not reference:
        selected = base / "context.txt"
        try:
            reference = selected.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise BrokerError(f"{broker}: no nats context is selected ({selected}: {exc.strerror})") from None
        if not reference:
            raise BrokerError(f"{broker}: no nats context is selected ({selected} is empty)")
    path = Path(reference).expanduser()
    if not path.suffix and not path.exists():
        path = base / "context" / f"{reference}.json"
    try:
        data = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise BrokerError(f"{broker}: cannot read nats context {path}: {exc.strerror}") from None
    except orjson.JSONDecodeError:
        raise BrokerError(f"{broker}: nats context {path} is not valid JSON") from None
    if not isinstance(data, dict):
        raise BrokerError(f"{broker}: nats context {path} is not a JSON object")
    if data.get("nsc") and not data.get("creds"):
        raise BrokerError(f"{broker}: nats context {path} uses nsc, which mqtui cannot run: give it a creds file")
    return data


def connection_settings(config: NatsConfig) -> Settings:
    context = load_context(config.name, config.context) if config.context is not None else {}
    url = config.url or str(context.get("url") or "") or DEFAULT_URL
    secrets.register(context.get("password"), context.get("token"), *url_credentials(url))
    options: dict[str, Any] = {"servers": [u.strip() for u in url.split(",") if u.strip()], "name": "mqtui"}
    user = config.username or context.get("user") or None
    token = config.token or context.get("token") or None
    if user:
        options["user"] = user
        options["password"] = config.password or context.get("password") or ""
    if token:
        options["token"] = token
    creds = config.creds_file or context.get("creds") or None
    seed = config.nkey_seed_file or context.get("nkey") or None
    if creds:
        options["user_credentials"] = str(_check_key_file(config.name, "creds_file", creds))
    elif seed:
        options["nkeys_seed"] = str(_check_key_file(config.name, "nkey_seed_file", seed))
    tls = _tls_context(config, context, url)
    if tls is not None:
        options["tls"] = tls
    if context.get("tls_first"):
        options["tls_handshake_first"] = True
    if context.get("inbox_prefix"):
        options["inbox_prefix"] = str(context["inbox_prefix"])
    domain, prefix = context.get("jetstream_domain"), context.get("jetstream_api_prefix")
    api_prefix = str(prefix).rstrip(".") if prefix else f"$JS.{domain}.API" if domain else API_PREFIX
    return Settings(options=options, shown=redact_url(url), api_prefix=api_prefix, tls=tls)


def _check_key_file(broker: str, label: str, file: str) -> Path:
    """The key file's path, once it holds a valid user seed (and, for .creds, a JWT)."""
    if "://" in file.removeprefix("file://") or file.startswith("data:"):
        raise BrokerError(f"{broker}: {label}: only file paths are supported, not {file.split(':', 1)[0]}: URIs")
    path = Path(file.removeprefix("file://")).expanduser()
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise BrokerError(f"{broker}: {label} {path}: {exc.strerror or type(exc).__name__}") from None
    lines = [line.strip() for line in content.splitlines()]
    if label == "creds_file":
        found = [lines[i + 1] for i, line in enumerate(lines[:-1]) if b"BEGIN USER NKEY SEED" in line]
        if not any(b"BEGIN NATS USER JWT" in line for line in lines) or not found:
            raise BrokerError(f"{broker}: {label} {path} is not a NATS .creds file (user JWT and seed)")
        seed = bytearray(found[0])
    else:
        seed = bytearray(content.strip())
    try:
        nkeys.from_seed(seed).wipe()
    except Exception:  # nkeys raises its own errors, binascii's and nacl's for a damaged seed
        raise BrokerError(f"{broker}: {label} {path} holds no valid NKEY user seed") from None
    finally:
        seed[:] = b"\0" * len(seed)
    return path


def _tls_context(config: NatsConfig, context: dict[str, Any], url: str) -> ssl.SSLContext | None:
    tls = config.tls
    ca = (tls.ca_file if tls else None) or context.get("ca") or None
    cert = (tls.cert_file if tls else None) or context.get("cert") or None
    key = (tls.key_file if tls else None) or context.get("key") or None
    wants_tls = (
        tls is not None
        or bool(ca or cert or context.get("tls_first"))
        or any(urlsplit(u.strip()).scheme in ("tls", "wss") for u in url.split(","))
    )
    if not wants_tls:
        return None
    try:
        ctx = ssl.create_default_context(cafile=ca)
        if cert:
            ctx.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise BrokerError(f"{config.name}: cannot load TLS files: {exc}") from None
    if tls is not None and not tls.verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx
