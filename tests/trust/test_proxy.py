"""The fault proxy itself: forwards, delays, cuts and refuses (against real redis)."""

from __future__ import annotations

import time

import pytest

from mqtui.localbrokers import LocalRedis
from tests.trust.proxy import faulty_proxy


def test_proxy_forwards_delays_and_refuses(redis_server: LocalRedis) -> None:
    import redis

    with faulty_proxy(redis_server.port) as proxy:
        client = redis.Redis(host="127.0.0.1", port=proxy.port, socket_timeout=2)
        assert client.ping() is True
        proxy.delay = 0.3
        started = time.monotonic()
        client.ping()
        assert time.monotonic() - started >= 0.3  # the injected delay is the behaviour under test
        proxy.delay = 0.0
        proxy.refuse()
        client.connection_pool.disconnect()
        with pytest.raises(redis.ConnectionError):
            client.ping()
        proxy.accept()
        assert client.ping() is True
