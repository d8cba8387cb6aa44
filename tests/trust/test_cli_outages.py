"""The CLI against brokers that accept connections and never answer: one line naming the broker, exit 1.

A refused connection fails at once; a hung one is only noticed by a timeout, which every client
library has its own idea of (redis-py retries, librdkafka reconnects, pika waits for the handshake).
Each verb here must still end, with one line that names the broker and says it did not answer. The
run is bounded by the subprocess timeout only as a hang detector; speed is not asserted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mqtui.demo.localbrokers import LocalBroker
from tests.helpers import write_config
from tests.trust.proxy import FaultyProxy
from tests.trust.support import run_many

VERBS = [["ls", "--json"], ["lag"], ["tail", "hung", "orders", "--end"],
         ["publish", "hung", "orders", "--value", "x", "--yes"], ["dlq", "show", "hung", "orders.dlq"]]  # fmt: skip
SAYS = {"redis": "no answer", "nats": "within 1s", "kafka": "within 1s", "rabbitmq": "within 1s"}


@pytest.mark.parametrize("kind", ["redis", "nats", "kafka", "rabbitmq"])
def test_every_verb_ends_with_one_line_when_the_broker_hangs(
    tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    server: LocalBroker = request.getfixturevalue(f"{kind}_server")
    proxies = [FaultyProxy(server.port).start()]
    entry = {**server.broker_config(), "name": "hung", "timeout": 1.0}
    if kind == "redis":
        entry["url"] = f"redis://127.0.0.1:{proxies[0].port}/0"
    elif kind == "nats":
        entry["url"] = f"nats://127.0.0.1:{proxies[0].port}"
        entry["monitor_url"] = f"http://127.0.0.1:{proxies[0].port}"  # the monitor hangs too
    elif kind == "kafka":
        entry["url"] = f"127.0.0.1:{proxies[0].port}"
    else:
        proxies.append(FaultyProxy(server.management_port).start())  # type: ignore[attr-defined]
        entry["url"] = f"amqp://guest:guest@127.0.0.1:{proxies[0].port}/%2F"
        entry["management_url"] = f"http://127.0.0.1:{proxies[1].port}"
    try:
        for proxy in proxies:
            proxy.hang()
        config = write_config(tmp_path / "c.toml", {"p": {"brokers": [entry]}})
        results = run_many(config, VERBS, env={}, workers=2)
        for args, result in zip(VERBS, results, strict=True):
            assert result.code == 1, (args, result)
            [line] = result.err.splitlines()
            assert "hung" in line and SAYS[kind] in line, (args, line)
            assert "Traceback" not in result.err
    finally:
        for proxy in proxies:
            proxy.stop()
