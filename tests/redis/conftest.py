"""Redis fixtures beside the shared `redis_server`: a database of our own flushed for every test, a
server with ACL users, a TLS-only server and private servers for tests that kill their broker."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from mqtui.brokers.redis.adapter import RedisAdapter
from mqtui.config import RedisConfig
from mqtui.demo.localbrokers import LocalRedis
from tests.helpers import make_ca_and_server_certificate
from tests.redis.support import emptied_database, plain_client

#: Databases 10-15 of the shared server belong to these tests; other suites use the lower ones.
TEST_DB = 12
ACL_USER, ACL_PASSWORD = "ops", "s3cret-redis-pass"


@pytest.fixture
def redis_url(redis_server: LocalRedis) -> str:
    """A URL to a database that is empty when the test starts."""
    return emptied_database(redis_server, TEST_DB)


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    """A plain synchronous client on the test database, for setting up and checking state."""
    yield from plain_client(redis_url)


def config(url: str, **overrides: Any) -> RedisConfig:
    values: dict[str, Any] = {"name": "r", "url": url, "timeout": 3.0}
    values.update(overrides)
    return RedisConfig(**values)


@contextlib.asynccontextmanager
async def adapter_for(url: str, **overrides: Any) -> AsyncIterator[RedisAdapter]:
    adapter = RedisAdapter(config(url, **overrides))
    await adapter.connect()
    try:
        yield adapter
    finally:
        await adapter.close()


class AclRedis(LocalRedis):
    """redis-server whose default user is off: only ACL_USER with ACL_PASSWORD may connect."""

    def _launch(self) -> None:
        binary = self.binary()
        assert binary is not None
        acl = self.workdir / "users.acl"
        acl.write_text(f"user default off\nuser {ACL_USER} on >{ACL_PASSWORD} ~* &* +@all\n")
        self._spawn(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir), "--aclfile", str(acl)]
        )  # fmt: skip

    def _ready(self) -> bool:
        try:
            client = redis.Redis(
                host="127.0.0.1", port=self.port, username=ACL_USER, password=ACL_PASSWORD, socket_timeout=1
            )
            return bool(client.ping())
        except redis.RedisError:
            return False


@pytest.fixture(scope="session")
def redis_acl_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AclRedis]:
    broker = AclRedis(tmp_path_factory.mktemp("redis-acl"), name="acl-redis")
    broker.start()
    yield broker
    broker.stop()


class TlsRedis(LocalRedis):
    """redis-server that speaks TLS only, with a private CA and a certificate for 127.0.0.1."""

    @property
    def url(self) -> str:
        return f"rediss://127.0.0.1:{self.port}/0"

    @property
    def ca_file(self) -> Path:
        return self.workdir / "ca.pem"

    def _launch(self) -> None:
        binary = self.binary()
        assert binary is not None
        make_ca_and_server_certificate(self.workdir)
        self._spawn(
            [binary, "--port", "0", "--tls-port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir), "--tls-cert-file", "server.pem",
             "--tls-key-file", "server.key", "--tls-ca-cert-file", "ca.pem", "--tls-auth-clients", "no"]
        )  # fmt: skip

    def _ready(self) -> bool:
        try:
            client = redis.Redis(
                host="127.0.0.1", port=self.port, ssl=True, ssl_ca_certs=str(self.ca_file), socket_timeout=1
            )
            return bool(client.ping())
        except (redis.RedisError, OSError):
            return False


@pytest.fixture(scope="session")
def redis_tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsRedis]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make certificates")
    broker = TlsRedis(tmp_path_factory.mktemp("redis-tls"), name="tls-redis")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[LocalRedis]:
    """A server of this test's own, which the test may kill and restart."""
    broker = LocalRedis(tmp_path / "redis", name="private-redis")
    broker.start()
    yield broker
    broker.stop()
