"""NATS fixtures beside the shared `nats_server`: servers that demand a password, a token, an NKEY or
a JWT (.creds), one that speaks TLS only, and private servers for tests that kill their broker or own
the account-wide advisory DLQ."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import nkeys
import orjson
import pytest

from mqtui.demo.localbrokers import LocalNats

USER, PASSWORD = "ops", "s3cret-pass"
TOKEN = "t0ken-value"
B = TypeVar("B", bound=LocalNats)


def running(broker: B) -> Iterator[B]:
    """A fixture's body: the broker started for the test, stopped after it."""
    broker.start()
    yield broker
    broker.stop()


class PasswordNats(LocalNats):
    """nats-server with `--user/--pass`: every other credential is refused."""

    def _launch(self) -> None:
        binary = self.binary()
        assert binary is not None
        self._spawn(
            [binary, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-m", str(self.monitor_port),
             "-sd", str(self.workdir / "jetstream"), "--user", USER, "--pass", PASSWORD]
        )  # fmt: skip


class TokenNats(LocalNats):
    """nats-server with `--auth TOKEN`."""

    def _launch(self) -> None:
        binary = self.binary()
        assert binary is not None
        self._spawn([binary, "-a", "127.0.0.1", "-p", str(self.port), "-m", str(self.monitor_port), "--auth", TOKEN])


@pytest.fixture
def nats_token_server(tmp_path: Path) -> Iterator[TokenNats]:
    yield from running(TokenNats(tmp_path / "nats-token", name="token-nats"))


class TlsNats(LocalNats):
    """nats-server that speaks TLS only, with a self-signed certificate for 127.0.0.1."""

    monitor_flag = "-m"  # http monitoring

    @property
    def url(self) -> str:
        return f"tls://127.0.0.1:{self.port}"

    def _launch(self) -> None:
        binary = self.binary()
        assert binary is not None
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "cert.pem",
             "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
            cwd=self.workdir, check=True, capture_output=True,
        )  # fmt: skip
        self._spawn([binary, "-a", "127.0.0.1", "-p", str(self.port), self.monitor_flag, str(self.monitor_port),
                     "--tls", "--tlscert", "cert.pem", "--tlskey", "key.pem"])  # fmt: skip


class TlsMonitorNats(TlsNats):
    """TlsNats whose monitoring endpoints are https only, with the same self-signed certificate."""

    monitor_flag = "-ms"

    @property
    def monitor_url(self) -> str:
        return f"https://127.0.0.1:{self.monitor_port}"

    def _ready(self) -> bool:
        context = ssl.create_default_context(cafile=str(self.workdir / "cert.pem"))
        try:
            with urllib.request.urlopen(f"{self.monitor_url}/healthz", timeout=1.0, context=context) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False


@pytest.fixture
def nats_tls_monitor_server(tmp_path: Path) -> Iterator[TlsMonitorNats]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a certificate")
    yield from running(TlsMonitorNats(tmp_path / "nats-tls-monitor", name="tls-monitor-nats"))


@pytest.fixture
def nats_tls_server(tmp_path: Path) -> Iterator[TlsNats]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a certificate")
    yield from running(TlsNats(tmp_path / "nats-tls", name="tls-nats"))


@pytest.fixture(scope="session")
def nats_auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PasswordNats]:
    broker = PasswordNats(tmp_path_factory.mktemp("nats-auth"), name="auth-nats")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def private_nats(tmp_path: Path) -> Iterator[LocalNats]:
    """A server of this test's own (it may be killed, or hold an account-wide DLQ stream)."""
    yield from running(LocalNats(tmp_path / "nats", name="private-nats"))


def new_key(prefix: int) -> nkeys.KeyPair:
    """A fresh NKEY pair of a role (nkeys.PREFIX_BYTE_USER, _ACCOUNT, _OPERATOR) from 32 random bytes."""
    return nkeys.from_seed(bytearray(nkeys.encode_seed(os.urandom(32), prefix)))


def write_seed(path: Path, key: nkeys.KeyPair) -> Path:
    path.write_bytes(key.seed + b"\n")
    path.chmod(0o600)
    return path


class ConfiguredNats(LocalNats):
    """nats-server -js run from a config file: what the flags cannot say (NKEY users, operator mode, a
    JetStream domain) comes from `settings`, below the listen, monitor and store lines every one needs."""

    jetstream_options = ""

    def settings(self) -> str:
        return ""

    def _launch(self) -> None:
        binary = self.binary()
        assert binary is not None
        conf = self.workdir / "server.conf"
        conf.write_text(
            f'listen: "127.0.0.1:{self.port}"\nhttp: "127.0.0.1:{self.monitor_port}"\n'
            f'jetstream {{ store_dir: "{self.workdir / "jetstream"}"{self.jetstream_options} }}\n' + self.settings()
        )
        self._spawn([binary, "-c", str(conf)])


class NkeyNats(ConfiguredNats):
    """nats-server -js whose only user is one NKEY; `seed_file` holds its seed."""

    def settings(self) -> str:
        user = new_key(nkeys.PREFIX_BYTE_USER)
        self.seed_file = write_seed(self.workdir / "user.nk", user)
        return f'authorization {{ users = [ {{ nkey: "{user.public_key.decode()}" }} ] }}\n'


@pytest.fixture
def nats_nkey_server(tmp_path: Path) -> Iterator[NkeyNats]:
    yield from running(NkeyNats(tmp_path / "nats-nkey", name="nkey-nats"))


def _jwt(signer: nkeys.KeyPair, subject: str, name: str, nats: dict[str, Any]) -> str:
    """A NATS JWT (v2, ed25519-nkey) signed by `signer`, the way `nsc` writes one."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    claims = {"jti": "", "iat": int(time.time()), "iss": signer.public_key.decode(), "sub": subject, "name": name,
              "nats": {**nats, "version": 2}}  # fmt: skip
    claims["jti"] = base64.b32encode(hashlib.sha256(orjson.dumps(claims)).digest()).rstrip(b"=").decode()
    signed = f"{b64(orjson.dumps({'typ': 'JWT', 'alg': 'ed25519-nkey'}))}.{b64(orjson.dumps(claims))}"
    return f"{signed}.{b64(signer.sign(signed.encode()))}"


def write_creds(path: Path, account: nkeys.KeyPair, name: str = "ops") -> Path:
    """A .creds file for a new user of `account`: its JWT and its seed."""
    user = new_key(nkeys.PREFIX_BYTE_USER)
    user_jwt = _jwt(account, user.public_key.decode(), name, {"type": "user", "pub": {}, "sub": {}, "subs": -1,
                                                              "data": -1, "payload": -1})  # fmt: skip
    path.write_text(
        f"-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------\n\n"
        f"-----BEGIN USER NKEY SEED-----\n{user.seed.decode()}\n------END USER NKEY SEED------\n"
    )
    path.chmod(0o600)
    return path


class OperatorNats(ConfiguredNats):
    """nats-server -js in operator (JWT) mode: one operator, a system account and `account`, whose
    users authenticate with .creds files (`write_creds`)."""

    def settings(self) -> str:
        operator = new_key(nkeys.PREFIX_BYTE_OPERATOR)
        self.account, system = new_key(nkeys.PREFIX_BYTE_ACCOUNT), new_key(nkeys.PREFIX_BYTE_ACCOUNT)
        limits = {"subs": -1, "conn": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
                  "wildcards": True, "leaf": -1}  # fmt: skip
        js_limits = {**limits, "mem_storage": -1, "disk_storage": -1, "streams": -1, "consumer": -1}
        accounts = {
            self.account.public_key.decode(): _jwt(operator, self.account.public_key.decode(), "app",
                                                   {"type": "account", "limits": js_limits}),
            system.public_key.decode(): _jwt(operator, system.public_key.decode(), "SYS",
                                             {"type": "account", "limits": limits}),
        }  # fmt: skip
        operator_jwt = _jwt(operator, operator.public_key.decode(), "op", {"type": "operator"})
        return (
            f"operator: {operator_jwt}\nresolver: MEMORY\nsystem_account: {system.public_key.decode()}\n"
            "resolver_preload: { " + ", ".join(f"{k}: {v}" for k, v in accounts.items()) + " }\n"
        )


@pytest.fixture
def nats_operator_server(tmp_path: Path) -> Iterator[OperatorNats]:
    yield from running(OperatorNats(tmp_path / "nats-operator", name="operator-nats"))


class DomainNats(ConfiguredNats):
    """nats-server whose JetStream has the domain `hub` (its API also answers on `$JS.hub.API`)."""

    jetstream_options = ', domain: "hub"'


@pytest.fixture
def nats_domain_server(tmp_path: Path) -> Iterator[DomainNats]:
    yield from running(DomainNats(tmp_path / "nats-domain", name="domain-nats"))
