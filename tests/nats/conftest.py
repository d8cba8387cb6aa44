"""NATS fixtures beside the shared `nats_server`: a server that demands a password, and private
servers for tests that kill their broker or own the account-wide advisory DLQ."""

from __future__ import annotations

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
