"""The fault proxy itself: forwards, delays, cuts, refuses and hangs (against real redis)."""

from __future__ import annotations

import time

import pytest
import redis.backoff
import redis.retry

from mqtui.demo.localbrokers import LocalRedis
from tests.trust.proxy import faulty_proxy


def test_proxy_forwards_delays_refuses_and_hangs(redis_server: LocalRedis) -> None:
    with faulty_proxy(redis_server.port) as proxy:
        no_retries = redis.retry.Retry(redis.backoff.NoBackoff(), 0)
        client = redis.Redis(host="127.0.0.1", port=proxy.port, socket_timeout=1, retry=no_retries)
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
        proxy.hang()
        with pytest.raises(redis.TimeoutError):
            client.ping()  # the open connection stalls
        client.connection_pool.disconnect()
        with pytest.raises(redis.TimeoutError):
            client.ping()  # a new one is accepted and never answered
        proxy.answer()
        client.connection_pool.disconnect()
        assert client.ping() is True
