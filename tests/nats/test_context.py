"""natscli contexts: the servers, credentials, keys, CA and JetStream domain come from the context file
when the profile leaves them out; a context is named by path, by name, or "" for natscli's selected one."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest

from mqtui.brokers.nats.adapter import NatsAdapter
from mqtui.config import NatsConfig
from mqtui.demo.localbrokers import LocalNats
from mqtui.errors import BrokerError
from tests.helpers import run_mqtui, write_config
from tests.nats.conftest import DomainNats, NkeyNats, TlsNats
from tests.nats.support import client_for, read_all, unique


def _write_context(path: Path, **fields: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(fields))
    return path


async def _streams(config: NatsConfig) -> list[str]:
    adapter = NatsAdapter(config)
    await adapter.connect()
    try:
        return sorted(d.name for d in await adapter.destinations())
    finally:
        await adapter.close()


async def test_a_context_holding_only_the_url_is_enough(private_nats: LocalNats, tmp_path: Path) -> None:
    async with client_for(private_nats) as nc:
        await nc.jetstream().add_stream(name="CTXONLY", subjects=["ctxonly.>"])
    context = _write_context(tmp_path / "ops.json", url=private_nats.url)
    config = write_config(tmp_path / "c.toml", {"p": {"brokers": [{"name": "ctx", "kind": "nats",
                                                                   "context": str(context)}]}})  # fmt: skip
    listed = await asyncio.to_thread(run_mqtui, "--config", str(config), "-p", "p", "ls", "--json")
    assert listed.code == 0, listed.err
    assert [r["name"] for r in listed.json_lines()] == ["CTXONLY"]


async def test_the_selected_context_by_name_from_context_txt(
    private_nats: LocalNats, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with client_for(private_nats) as nc:
        await nc.jetstream().add_stream(name="SELECTED", subjects=["selected.>"])
    home = tmp_path / "xdg"
    _write_context(home / "nats" / "context" / "staging.json", url="nats://127.0.0.1:1")  # nothing listens
    _write_context(home / "nats" / "context" / "ops.json", url=private_nats.url)
    (home / "nats" / "context.txt").write_text("ops\n")
    env = {"XDG_CONFIG_HOME": str(home)}
    for context, code in (("", 0), ("ops", 0), ("staging", 1)):
        config = write_config(tmp_path / "c.toml", {"p": {"brokers": [{"name": "ctx", "kind": "nats", "timeout": 2.0,
                                                                       "context": context}]}})  # fmt: skip
        listed = await asyncio.to_thread(run_mqtui, "--config", str(config), "-p", "p", "ls", "--json", env=env)
        assert listed.code == code, (context, listed.err)
        if code == 0:
            assert [r["name"] for r in listed.json_lines()] == ["SELECTED"]
        else:
            assert listed.err.splitlines() == [
                "mqtui: ctx: cannot connect to nats://127.0.0.1:1 within 2s (last error: ConnectionRefusedError)"
            ]
    (home / "nats" / "context.txt").write_text("")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    with pytest.raises(BrokerError, match=r"^ctx: no nats context is selected \(.*context.txt is empty\)$"):
        await NatsAdapter(NatsConfig(name="ctx", context="")).connect()


async def test_the_profile_url_wins_over_the_context(private_nats: LocalNats, tmp_path: Path) -> None:
    context = _write_context(tmp_path / "ops.json", url="nats://127.0.0.1:1")
    assert await _streams(NatsConfig(name="ctx", url=private_nats.url, context=str(context))) == []


async def test_nkey_and_ca_from_the_context(
    nats_nkey_server: NkeyNats, nats_tls_server: TlsNats, tmp_path: Path
) -> None:
    keyed = _write_context(tmp_path / "keyed.json", url=nats_nkey_server.url, nkey=str(nats_nkey_server.seed_file))
    assert await _streams(NatsConfig(name="ctx", context=str(keyed), timeout=3.0)) == []
    tls = _write_context(tmp_path / "tls.json", url=nats_tls_server.url, ca=str(nats_tls_server.workdir / "cert.pem"))
    adapter = NatsAdapter(NatsConfig(name="ctx", context=str(tls), timeout=3.0))
    await adapter.connect()
    try:
        assert dict((await adapter.describe_server()).summary)["connected to"].startswith("tls://127.0.0.1:")
    finally:
        await adapter.close()
    uri = _write_context(tmp_path / "uri.json", url=nats_nkey_server.url, nkey="op://vault/item/seed")
    with pytest.raises(BrokerError, match=r"^ctx: nkey_seed_file: only file paths are supported, not op: URIs$"):
        await NatsAdapter(NatsConfig(name="ctx", context=str(uri))).connect()


async def test_jetstream_domain_from_the_context(nats_domain_server: DomainNats, tmp_path: Path) -> None:
    stream, subject = unique("DOM"), unique("dom")
    async with client_for(nats_domain_server) as nc:
        js = nc.jetstream()
        await js.add_stream(name=stream, subjects=[f"{subject}.>"])
        await js.add_stream(name=f"{stream}_DLQ", subjects=[f"{subject}dlq"])
        await js.publish(f"{subject}.a", b"one")
        await js.publish(f"{subject}dlq", b"failed", headers={"Original-Subject": f"{subject}.a"})
    hub = _write_context(tmp_path / "hub.json", url=nats_domain_server.url, jetstream_domain="hub")
    adapter = NatsAdapter(NatsConfig(name="ctx", context=str(hub), timeout=3.0))
    await adapter.connect()
    try:
        assert {d.name for d in await adapter.destinations()} == {stream, f"{stream}_DLQ"}
        assert [m.value for m in await read_all(adapter, stream)] == [b"one"]  # consumer API under $JS.hub.API
        [letter] = await adapter.dead_letters(f"{stream}_DLQ")  # pipelined STREAM.MSG.GET under it too
        assert letter.message.value == b"failed"
    finally:
        await adapter.close()
    elsewhere = _write_context(tmp_path / "elsewhere.json", url=nats_domain_server.url, jetstream_domain="elsewhere")
    assert await _streams(NatsConfig(name="ctx", context=str(elsewhere), timeout=3.0)) == []  # nobody answers there
    prefixed = _write_context(tmp_path / "prefix.json", url=nats_domain_server.url, jetstream_api_prefix="$JS.hub.API")
    assert await _streams(NatsConfig(name="ctx", context=str(prefixed), timeout=3.0)) == sorted(
        [stream, f"{stream}_DLQ"]
    )
