"""RabbitMQ over TLS for real: amqps:// and an https management API, with a private CA.

A broker of this module's own listens for AMQP and the management API on TLS ports beside its plain
ones (the plain management port only tells the fixture that the node is up). mqtui reaches it with the
profile's `tls.ca_file`; without it, the certificate check fails with one line, not a traceback.
"""

from __future__ import annotations

import shutil
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pika
import pytest

from mqtui.brokers.rabbitmq.adapter import RabbitMQAdapter
from mqtui.config import RabbitMQConfig
from mqtui.demo.localbrokers import LocalRabbitMQ, free_port
from mqtui.errors import BrokerUnavailable
from mqtui.model import OutgoingMessage
from tests.helpers import make_ca_and_server_certificate, run_mqtui, write_config


class TlsRabbitMQ(LocalRabbitMQ):
    """rabbitmq-server with TLS listeners for AMQP (amqps) and the management API (https)."""

    def __init__(self, workdir: Path, name: str | None = None) -> None:
        super().__init__(workdir, name)
        self.tls_port = free_port()
        self.management_tls_port = free_port()

    @property
    def tls_url(self) -> str:
        return f"amqps://guest:guest@127.0.0.1:{self.tls_port}/%2F"

    @property
    def management_tls_url(self) -> str:
        return f"https://127.0.0.1:{self.management_tls_port}"

    @property
    def ca_file(self) -> Path:
        return self.workdir / "ca.pem"

    def config_text(self) -> str:
        make_ca_and_server_certificate(self.workdir)
        files = {"cacertfile": "ca.pem", "certfile": "server.pem", "keyfile": "server.key"}
        lines = [f"listeners.ssl.default = 127.0.0.1:{self.tls_port}", "ssl_options.verify = verify_none",
                 "ssl_options.fail_if_no_peer_cert = false", "management.ssl.ip = 127.0.0.1",
                 f"management.ssl.port = {self.management_tls_port}"]  # fmt: skip
        for key, file in files.items():
            lines += [f"ssl_options.{key} = {self.workdir / file}", f"management.ssl.{key} = {self.workdir / file}"]
        return super().config_text() + "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def tls_rabbit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsRabbitMQ]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make certificates")
    broker = TlsRabbitMQ(tmp_path_factory.mktemp("rabbit-tls"), name="tls-rabbit")
    broker.start()
    yield broker
    broker.kill()  # disposable: no need for the 5 s clean shutdown


def tls_entry(broker: TlsRabbitMQ, **tls: Any) -> dict[str, Any]:
    return {"name": "secure", "kind": "rabbitmq", "url": broker.tls_url, "management_url": broker.management_tls_url,
            "timeout": 5.0, **({"tls": tls} if tls else {})}  # fmt: skip


async def test_amqps_and_https_with_the_profiles_ca(tls_rabbit: TlsRabbitMQ) -> None:
    adapter = RabbitMQAdapter(msgspec.convert(tls_entry(tls_rabbit, ca_file=str(tls_rabbit.ca_file)), RabbitMQConfig))
    await adapter.connect()  # the management API, over https
    try:
        connection = pika.BlockingConnection(pika.URLParameters(tls_rabbit.url))
        connection.channel().queue_declare("secured", durable=True)
        connection.close()
        result = await adapter.publish("secured", [OutgoingMessage(b"over tls %d" % i) for i in range(3)])
        assert (result.sent, result.failed) == (3, ())  # AMQP over TLS, with publisher confirms

        assert "secured" in {d.name for d in await adapter.destinations()}  # the listing, over https
        assert [m.value for m in await adapter.peek("secured", limit=5)] == [
            b"over tls 0",
            b"over tls 1",
            b"over tls 2",
        ]
    finally:
        await adapter.close()
    # What the client saw was really TLS, signed by the test CA.
    context = ssl.create_default_context(cafile=str(tls_rabbit.ca_file))
    with context.wrap_socket(socket.create_connection(("127.0.0.1", tls_rabbit.tls_port)),
                             server_hostname="127.0.0.1") as tls_socket:  # fmt: skip
        assert tls_socket.version() in ("TLSv1.2", "TLSv1.3")


async def test_an_unknown_ca_fails_with_one_line(tls_rabbit: TlsRabbitMQ, tmp_path: Path) -> None:
    adapter = RabbitMQAdapter(msgspec.convert(tls_entry(tls_rabbit), RabbitMQConfig))  # system CAs only
    with pytest.raises(BrokerUnavailable, match=r"^secure: management API at https://127\.0\.0\.1:\d+ unreachable "
                                                r"\(TLS: CERTIFICATE_VERIFY_FAILED\)$"):  # fmt: skip
        await adapter.connect()
    await adapter.close()
    config = write_config(tmp_path / "c.toml", {"p": {"brokers": [tls_entry(tls_rabbit)]}})
    result = run_mqtui("--config", str(config), "--profile", "p", "ls")
    assert result.code == 1 and "Traceback" not in result.err
    [line] = result.err.strip().splitlines()
    assert "secure: management API at https://127.0.0.1:" in line and "CERTIFICATE_VERIFY_FAILED" in line


async def test_verify_false_connects_without_the_ca(tls_rabbit: TlsRabbitMQ) -> None:
    adapter = RabbitMQAdapter(msgspec.convert(tls_entry(tls_rabbit, verify=False), RabbitMQConfig))
    await adapter.connect()
    try:
        assert (await adapter.publish("nobody", [OutgoingMessage(b"x")])).unroutable == 1
    finally:
        await adapter.close()
