"""Connection settings and the failures a user meets: wrong credentials, a server that is down."""

from __future__ import annotations

import socket
import time

import pytest

from mqtui.brokers.nats.adapter import NatsAdapter
from mqtui.config import NatsConfig, TLSConfig
from mqtui.demo.localbrokers import LocalNats
from mqtui.errors import AuthenticationFailed, BrokerUnavailable
from mqtui.model import OutgoingMessage
from tests.nats.conftest import PASSWORD, TOKEN, USER, PasswordNats, TlsMonitorNats, TlsNats, TokenNats
from tests.nats.support import adapter_for


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_wrong_password_is_one_line_naming_the_broker_without_the_secret(nats_auth_server: PasswordNats) -> None:
    adapter = NatsAdapter(NatsConfig(name="guarded", url=nats_auth_server.url, username=USER, password="wrong-pass-1",
                                     timeout=3.0))  # fmt: skip
    started = time.monotonic()
    with pytest.raises(AuthenticationFailed) as caught:
        await adapter.connect()
    assert time.monotonic() - started < 3.0 + 2.0
    message = str(caught.value)
    assert message.startswith("guarded: ") and "\n" not in message
    assert "wrong-pass-1" not in message
    await adapter.close()


async def test_no_credentials_at_all_is_an_authentication_failure(nats_auth_server: PasswordNats) -> None:
    adapter = NatsAdapter(NatsConfig(name="guarded", url=nats_auth_server.url, timeout=2.0))
    with pytest.raises(AuthenticationFailed):
        await adapter.connect()
    await adapter.close()


@pytest.mark.parametrize("where", ["fields", "url"])
async def test_right_password_from_fields_or_url_connects(nats_auth_server: PasswordNats, where: str) -> None:
    if where == "fields":
        config = NatsConfig(name="guarded", url=nats_auth_server.url, username=USER, password=PASSWORD)
    else:
        config = NatsConfig(name="guarded", url=nats_auth_server.url.replace("nats://", f"nats://{USER}:{PASSWORD}@"))
    adapter = NatsAdapter(config)
    await adapter.connect()
    try:
        assert isinstance(await adapter.destinations(), list)
    finally:
        await adapter.close()


async def test_context_file_supplies_the_credentials(nats_auth_server: PasswordNats, tmp_path) -> None:  # type: ignore[no-untyped-def]
    context = tmp_path / "ops.json"
    context.write_text(f'{{"url": "{nats_auth_server.url}", "user": "{USER}", "password": "{PASSWORD}"}}')
    adapter = NatsAdapter(NatsConfig(name="ctx", url=nats_auth_server.url, context=str(context)))
    await adapter.connect()
    await adapter.close()


async def test_down_server_fails_within_the_timeout_with_one_line() -> None:
    port = _free_port()
    adapter = NatsAdapter(NatsConfig(name="down", url=f"nats://127.0.0.1:{port},nats://127.0.0.1:{port}", timeout=1.5))
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable) as caught:
        await adapter.connect()
    assert time.monotonic() - started < 1.5 + 2.0
    assert str(caught.value).startswith("down: ") and "\n" not in str(caught.value)
    await adapter.close()


async def test_server_going_down_mid_session_then_returning(private_nats: LocalNats) -> None:
    async with adapter_for(private_nats, timeout=1.5) as adapter:
        await adapter.js.api("STREAM.CREATE.KEEP", {"name": "KEEP", "subjects": ["keep.>"], "storage": "file"})
        await adapter.publish("keep.a", [OutgoingMessage(value=b"x")])
        private_nats.kill()
        started = time.monotonic()
        with pytest.raises(BrokerUnavailable) as caught:
            await adapter.destinations()
        assert time.monotonic() - started < 1.5 + 2.0
        assert str(caught.value).startswith("n: ")
    private_nats.start()  # same ports, same store dir: the file-backed stream survives
    async with adapter_for(private_nats) as fresh:
        streams = {d.name: d for d in await fresh.destinations()}
        assert streams["KEEP"].depth == 1


async def test_token_authentication(nats_token_server: TokenNats) -> None:
    good = NatsAdapter(NatsConfig(name="tok", url=nats_token_server.url, token=TOKEN, timeout=2.0))
    await good.connect()
    try:
        assert isinstance(await good.destinations(), list)  # JetStream is off there: streams are just empty
    finally:
        await good.close()
    bad = NatsAdapter(NatsConfig(name="tok", url=nats_token_server.url, token="wrong-token", timeout=2.0))
    with pytest.raises(AuthenticationFailed) as caught:
        await bad.connect()
    assert "wrong-token" not in str(caught.value)
    await bad.close()


async def test_tls_with_a_private_ca(nats_tls_server: TlsNats) -> None:
    ca = str(nats_tls_server.workdir / "cert.pem")
    adapter = NatsAdapter(NatsConfig(name="tls", url=nats_tls_server.url, tls=TLSConfig(ca_file=ca), timeout=3.0))
    await adapter.connect()
    try:
        assert dict((await adapter.describe_server()).summary)["connected to"].startswith("tls://127.0.0.1:")
    finally:
        await adapter.close()
    untrusted = NatsAdapter(NatsConfig(name="tls", url=nats_tls_server.url, timeout=2.0))
    with pytest.raises(BrokerUnavailable) as caught:
        await untrusted.connect()  # the system CAs do not know the self-signed certificate
    assert str(caught.value).startswith("tls: ")
    await untrusted.close()


async def test_https_monitoring_uses_the_profile_tls_settings(nats_tls_monitor_server: TlsMonitorNats) -> None:
    server = nats_tls_monitor_server
    ca = str(server.workdir / "cert.pem")
    config = NatsConfig(name="tls", url=server.url, monitor_url=server.monitor_url, tls=TLSConfig(ca_file=ca),
                        timeout=3.0)  # fmt: skip
    adapter = NatsAdapter(config)
    await adapter.connect()
    try:
        view = await adapter.describe_server()
        summary = dict(view.summary)
        assert summary["connections"] == "1"  # from /varz, over https with the private CA
        [connection] = next(s for s in view.sections if s.title.startswith("Connections")).rows
        assert connection[1] == "mqtui"  # from /connz
    finally:
        await adapter.close()
