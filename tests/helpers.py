"""Small helpers shared by tests: writing config files and running the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f'"{k}" = {toml_value(v)}' for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {value!r} as TOML")


def write_config(path: Path, profiles: dict[str, dict[str, Any]], **top: Any) -> Path:
    """profiles: {"name": {"readonly": True, "brokers": [{...}, ...]}} -> a TOML file."""
    lines = [f"{key} = {toml_value(value)}" for key, value in top.items()]
    for name, profile in profiles.items():
        lines.append(f'\n[profiles."{name}"]')
        for key, value in profile.items():
            if key != "brokers":
                lines.append(f"{key} = {toml_value(value)}")
        for broker in profile.get("brokers", []):
            lines.append(f'[[profiles."{name}".brokers]]')
            lines.extend(f"{key} = {toml_value(value)}" for key, value in broker.items())
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json_lines(self) -> list[dict[str, Any]]:
        import json

        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


def run_mqtui(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> CliResult:
    """The CLI in a fresh process, as a user runs it (stdin is not a terminal)."""
    done = subprocess.run(
        [sys.executable, "-m", "mqtui", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    return CliResult(done.returncode, done.stdout, done.stderr)


def make_ca_and_server_certificate(workdir: Path) -> None:
    """ca.pem (a private CA) and server.pem/server.key for 127.0.0.1 signed by it, made with openssl."""

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=workdir, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1",
        "-subj", "/CN=mqtui test CA")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (workdir / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "1", "-extfile", "san.ext")  # fmt: skip
