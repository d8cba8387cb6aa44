"""NATS fixtures beside the shared `nats_server`: a server that demands a password, and private
servers for tests that kill their broker or own the account-wide advisory DLQ."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from mqtui.localbrokers import LocalNats

USER, PASSWORD = "ops", "s3cret-pass"
TOKEN = "t0ken-value"


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
    broker = TokenNats(tmp_path / "nats-token", name="token-nats")
    broker.start()
    yield broker
    broker.stop()


class TlsNats(LocalNats):
    """nats-server that speaks TLS only, with a self-signed certificate for 127.0.0.1."""

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
        self._spawn([binary, "-a", "127.0.0.1", "-p", str(self.port), "-m", str(self.monitor_port), "--tls",
                     "--tlscert", "cert.pem", "--tlskey", "key.pem"])  # fmt: skip


@pytest.fixture
def nats_tls_server(tmp_path: Path) -> Iterator[TlsNats]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a certificate")
    broker = TlsNats(tmp_path / "nats-tls", name="tls-nats")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def nats_auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PasswordNats]:
    broker = PasswordNats(tmp_path_factory.mktemp("nats-auth"), name="auth-nats")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def private_nats(tmp_path: Path) -> Iterator[LocalNats]:
    """A server of this test's own (it may be killed, or hold an account-wide DLQ stream)."""
    broker = LocalNats(tmp_path / "nats", name="private-nats")
    broker.start()
    yield broker
    broker.stop()
