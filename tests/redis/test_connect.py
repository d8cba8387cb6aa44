"""Connections against real redis-servers: ACL users, TLS, db numbers, unreachable and restarted brokers."""

from __future__ import annotations

import asyncio
import socket

import pytest
import redis

from mqtui.config import TLSConfig
from mqtui.demo.localbrokers import LocalRedis
from mqtui.errors import AuthenticationFailed, BrokerUnavailable
from mqtui.model import StartPosition
from tests.helpers import run_mqtui, write_config
from tests.redis.conftest import ACL_PASSWORD, ACL_USER, AclRedis, TlsRedis, adapter_for
from tests.redis.support import collect
from tests.support import until


def _assert_one_line(error: Exception, *fragments: str) -> None:
    message = str(error)
    assert "\n" not in message and message.startswith("r: ")
    for fragment in fragments:
        assert fragment in message


async def test_acl_user_with_the_right_password_connects(redis_acl_server: AclRedis) -> None:
    url = f"redis://{ACL_USER}:{ACL_PASSWORD}@127.0.0.1:{redis_acl_server.port}/0"
    async with adapter_for(url) as adapter:
        assert await adapter.destinations() == []
    # config username/password win over the URL's
    wrong_in_url = f"redis://{ACL_USER}:wrong@127.0.0.1:{redis_acl_server.port}/0"
    async with adapter_for(wrong_in_url, username=ACL_USER, password=ACL_PASSWORD) as adapter:
        assert await adapter.destinations() == []


@pytest.mark.parametrize("credentials", ["ops:not-the-password@", "", "nobody:x@"])
async def test_wrong_or_missing_credentials_are_one_line_without_secrets(
    redis_acl_server: AclRedis, credentials: str
) -> None:
    url = f"redis://{credentials}127.0.0.1:{redis_acl_server.port}/0"
    with pytest.raises(AuthenticationFailed) as caught:
        async with adapter_for(url):
            pass
    _assert_one_line(caught.value, "authentication failed")
    assert "not-the-password" not in str(caught.value)


def test_wrong_password_on_the_command_line(redis_acl_server: AclRedis, tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path / "c.toml", {"p": {"brokers": [
        {"name": "cache", "kind": "redis", "url": f"redis://127.0.0.1:{redis_acl_server.port}/0",
         "username": ACL_USER, "password": "hunter2-wrong", "timeout": 2.0}]}})  # fmt: skip
    result = run_mqtui("--config", str(config), "-p", "p", "ls")
    assert result.code == 1
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "cache" in lines[0] and "authentication failed" in lines[0]
    assert "hunter2-wrong" not in result.err + result.out and "Traceback" not in result.err


async def test_tls_with_a_private_ca(redis_tls_server: TlsRedis) -> None:
    ca = str(redis_tls_server.ca_file)
    async with adapter_for(redis_tls_server.url, tls=TLSConfig(ca_file=ca)) as adapter:
        assert await adapter.destinations() == []
    plain_url = redis_tls_server.url.replace("rediss://", "redis://")
    async with adapter_for(plain_url, tls=TLSConfig(ca_file=ca)) as adapter:  # tls = {...} turns TLS on
        assert await adapter.destinations() == []
    async with adapter_for(redis_tls_server.url, tls=TLSConfig(verify=False)) as adapter:
        assert await adapter.destinations() == []
    with pytest.raises(BrokerUnavailable) as caught:
        async with adapter_for(redis_tls_server.url):
            pass
    _assert_one_line(caught.value, "certificate verify failed")


async def test_db_number_in_the_url_is_the_database_used(redis_server: LocalRedis) -> None:
    raw13 = redis.Redis(port=redis_server.port, db=13)
    raw13.flushdb()
    raw13.lpush("only-in-13", "x")
    try:
        async with adapter_for(f"redis://127.0.0.1:{redis_server.port}/13") as adapter:
            assert [d.name for d in await adapter.destinations()] == ["only-in-13"]
        async with adapter_for(f"redis://127.0.0.1:{redis_server.port}/14") as adapter:
            assert "only-in-13" not in {d.name for d in await adapter.destinations()}
    finally:
        raw13.flushdb()
        raw13.close()


async def test_unreachable_and_silent_brokers_fail_with_one_line() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(BrokerUnavailable) as refused:
        await asyncio.wait_for(adapter_for(f"redis://127.0.0.1:{port}/0", timeout=1.0).__aenter__(), 30)
    _assert_one_line(refused.value, f"cannot reach redis://127.0.0.1:{port}/0")
    with socket.socket() as silent:  # accepts connections (kernel backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        with pytest.raises(BrokerUnavailable) as timed_out:
            await asyncio.wait_for(adapter_for(f"redis://:pw-secret@127.0.0.1:{port}/0", timeout=0.5).__aenter__(), 30)
    _assert_one_line(timed_out.value, f"redis://:***@127.0.0.1:{port}/0")
    assert "pw-secret" not in str(timed_out.value)


async def test_adapter_recovers_after_the_broker_restarts(private_redis: LocalRedis) -> None:
    raw = redis.Redis(port=private_redis.port)
    raw.xadd("events", {"data": "before"})
    async with adapter_for(private_redis.url) as adapter:
        assert [d.name for d in await adapter.destinations()] == ["events"]
        tail = asyncio.create_task(collect(adapter.tail("events", start=StartPosition("end")), 1))
        await until(lambda: any(c["cmd"] == "xread" for c in raw.client_list()), what="the tail blocked in XREAD")
        private_redis.kill()
        with pytest.raises(BrokerUnavailable) as during_tail:
            await tail
        with pytest.raises(BrokerUnavailable) as while_down:
            await adapter.destinations()
        _assert_one_line(during_tail.value, "cannot reach")
        _assert_one_line(while_down.value, "cannot reach")
        private_redis.start()
        raw.lpush("after", "x")  # a restart without persistence starts empty
        assert [(d.name, d.depth) for d in await adapter.destinations()] == [("after", 1)]
    raw.close()


class UnixRedis(LocalRedis):
    """redis-server that also listens on a unix socket."""

    @property
    def socket_path(self) -> str:
        return str(self.workdir / "redis.sock")

    def _launch(self) -> None:
        binary = self.binary()
        assert binary is not None
        self._spawn([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                     "--dir", str(self.workdir), "--unixsocket", self.socket_path])  # fmt: skip


async def test_unix_socket_url_with_a_db_number(tmp_path) -> None:  # type: ignore[no-untyped-def]
    broker = UnixRedis(tmp_path / "unix-redis", name="unix-redis")
    broker.start()
    try:
        redis.Redis(unix_socket_path=broker.socket_path, db=3).lpush("via-socket", "a", "b")
        async with adapter_for(f"unix://{broker.socket_path}?db=3") as adapter:
            assert [(d.name, d.depth) for d in await adapter.destinations()] == [("via-socket", 2)]
    finally:
        broker.stop()
