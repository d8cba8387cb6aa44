"""NKEY seed files and .creds (JWT) files against nats-server configured for them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nkeys
import pytest

from mqtui.brokers.nats.adapter import NatsAdapter
from mqtui.config import NatsConfig
from mqtui.errors import AuthenticationFailed, BrokerError
from tests.helpers import run_mqtui, write_config
from tests.nats.conftest import NkeyNats, OperatorNats, new_key, write_creds, write_seed


async def _create_stream(config: NatsConfig, name: str) -> None:
    adapter = NatsAdapter(config)
    await adapter.connect()
    try:
        await adapter.js.api(f"STREAM.CREATE.{name}", {"name": name, "subjects": [f"{name.lower()}.>"]})
    finally:
        await adapter.close()


async def test_nkey_seed_file_from_the_cli(nats_nkey_server: NkeyNats, tmp_path: Path) -> None:
    broker = {"name": "nk", "kind": "nats", "url": nats_nkey_server.url, "timeout": 3.0,
              "nkey_seed_file": str(nats_nkey_server.seed_file)}  # fmt: skip
    await _create_stream(NatsConfig(name="nk", url=nats_nkey_server.url, nkey_seed_file=broker["nkey_seed_file"]),
                         "KEYED")  # fmt: skip
    good = write_config(tmp_path / "good.toml", {"p": {"brokers": [broker]}})
    listed = await asyncio.to_thread(run_mqtui, "--config", str(good), "-p", "p", "ls", "--json")
    assert listed.code == 0, listed.err
    assert [(r["name"], r["kind"]) for r in listed.json_lines()] == [("KEYED", "stream")]

    stranger = new_key(nkeys.PREFIX_BYTE_USER)  # a valid seed the server does not know
    wrong = write_seed(tmp_path / "wrong.nk", stranger)
    config = write_config(tmp_path / "wrong.toml", {"p": {"brokers": [{**broker, "nkey_seed_file": str(wrong)}]}})
    refused = await asyncio.to_thread(run_mqtui, "--config", str(config), "-p", "p", "ls")
    assert refused.code == 1 and "Traceback" not in refused.err
    assert refused.err.splitlines() == ["mqtui: nk: the server rejected the credentials "
                                        "(nats: 'Authorization Violation')"]  # fmt: skip
    assert stranger.seed.decode() not in refused.err

    damaged = tmp_path / "damaged.nk"
    damaged.write_text(stranger.seed.decode()[:30] + "\n")  # cut short
    config = write_config(tmp_path / "damaged.toml", {"p": {"brokers": [{**broker, "nkey_seed_file": str(damaged)}]}})
    broken = await asyncio.to_thread(run_mqtui, "--config", str(config), "-p", "p", "ls")
    assert broken.code == 1 and stranger.seed.decode()[:30] not in broken.err
    assert broken.err.splitlines() == [f"mqtui: nk: nkey_seed_file {damaged} holds no valid NKEY user seed"]


async def test_creds_file_in_operator_mode(nats_operator_server: OperatorNats, tmp_path: Path) -> None:
    creds = write_creds(tmp_path / "ops.creds", nats_operator_server.account)
    config = NatsConfig(name="jwt", url=nats_operator_server.url, creds_file=str(creds), timeout=3.0)
    await _create_stream(config, "ORDERS")
    adapter = NatsAdapter(config)
    await adapter.connect()
    try:
        assert [d.name for d in await adapter.destinations()] == ["ORDERS"]
    finally:
        await adapter.close()

    outsider = new_key(nkeys.PREFIX_BYTE_ACCOUNT)  # signs a user JWT for an account the server never heard of
    foreign = write_creds(tmp_path / "foreign.creds", outsider)
    rejected = NatsAdapter(NatsConfig(name="jwt", url=nats_operator_server.url, creds_file=str(foreign), timeout=3.0))
    with pytest.raises(AuthenticationFailed) as caught:
        await rejected.connect()
    await rejected.close()
    assert str(caught.value).startswith("jwt: ") and "\n" not in str(caught.value)
    seed = foreign.read_text().split("-----BEGIN USER NKEY SEED-----\n")[1].split()[0]
    assert seed.startswith("SU") and seed not in str(caught.value)

    not_creds = tmp_path / "plain.creds"
    not_creds.write_text("just text\n")
    with pytest.raises(BrokerError) as caught:
        await NatsAdapter(NatsConfig(name="jwt", url=nats_operator_server.url, creds_file=str(not_creds))).connect()
    assert str(caught.value) == f"jwt: creds_file {not_creds} is not a NATS .creds file (user JWT and seed)"
