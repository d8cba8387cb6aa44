"""The console while brokers are down, hang, or refuse the credentials: every kind, against real brokers.

In each case the broker's state and reason are on screen, a broker beside it that works keeps being
polled, keys keep working, and the broker comes back by itself once it can (no key pressed). What
the screen shows is read from the rendered screen (see test_console_secrets.screen_text).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from mqtui.demo.localbrokers import LocalBroker, LocalKafka, LocalNats, LocalRabbitMQ, LocalRedis, start_all
from mqtui.services.snapshot import BrokerStatus
from tests.console.conftest import profile_file
from tests.console.pilot import Console, console
from tests.trust.brokers import WRONG, SecretNats, SecretRedis, add_rabbit_user
from tests.trust.proxy import FaultyProxy
from tests.trust.screen import screen_text

#: Database 9 of the shared Redis belongs to these tests: the broker that always works.
FAST_DB = 9
KINDS = {"redis": LocalRedis, "nats": LocalNats, "kafka": LocalKafka, "rabbitmq": LocalRabbitMQ}


@pytest.fixture
def fast(redis_server: LocalRedis) -> Iterator[dict[str, Any]]:
    """A Redis broker that works all along, with one list in it."""
    url = f"redis://127.0.0.1:{redis_server.port}/{FAST_DB}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.rpush("always-here", b"1")
    yield {"name": "fast", "kind": "redis", "url": url}
    client.flushdb()
    client.close()


def tree_label(c: Console, broker: str) -> str:
    tree = c.app.query_one("#tree")
    for node in tree.root.children:  # type: ignore[attr-defined]
        if node.data.broker == broker:
            return str(node.label)
    raise AssertionError(f"no tree node for {broker}")


async def assert_console_answers(c: Console, fast_polls_before: int) -> None:
    """Tabs switch, the palette and the key list open and close, and the working broker is polled."""
    for key, tab in (("2", "tab-lag"), ("3", "tab-tail"), ("4", "tab-dlq"), ("1", "tab-destinations")):
        await c.press(key)
        assert c.app.query_one("#tabs").active == tab  # type: ignore[attr-defined]
    await c.press("ctrl+p")
    await c.wait_screen("CommandPalette")
    await c.press("escape")
    await c.press("question_mark")
    await c.wait_screen("KeysScreen")
    await c.press("escape")
    await c.wait_screen("ConsoleScreen")
    await c.wait(lambda: c.app.backend.poll_count("fast") > fast_polls_before + 2, "the working broker polled on")  # type: ignore[attr-defined]
    assert c.rows("#dest-table")[0][1] == "always-here"


async def test_every_kind_down_at_start_counts_down_then_comes_back_by_itself(
    tmp_path: Path, fast: dict[str, Any]
) -> None:
    late: dict[str, LocalBroker] = {kind: cls(tmp_path / kind, name=f"late-{kind}") for kind, cls in KINDS.items()}
    brokers = [fast, *({**b.broker_config(), "timeout": 2.0} for b in late.values())]
    config = profile_file(tmp_path, brokers)
    try:
        async with console(config, "ops", size=(160, 40)) as c:
            names = [b.name for b in late.values()]

            def all_down() -> bool:
                return all(c.screen.snapshots[n].status is BrokerStatus.UNREACHABLE for n in names)

            await c.wait(all_down, "every late broker unreachable", 30)
            await c.wait(lambda: all("down, retry" in tree_label(c, n) for n in names), "retry countdowns")
            assert c.text("#status").startswith("1/5 brokers up")
            for name in names:
                error = c.screen.snapshots[name].error or ""
                assert error.startswith(f"{name}: ") and "\n" not in error
            assert "down, retry" in screen_text(c.app)  # drawn, not only in the model
            await assert_console_answers(c, c.app.backend.poll_count("fast"))  # type: ignore[attr-defined]

            start_all(list(late.values()))  # no key pressed from here on: the backoff brings them back
            redis.Redis(port=late["redis"].port).rpush("came-back", b"1")
            await c.wait(lambda: c.text("#status").startswith("5/5 brokers up"), "every broker back", 90)

            def all_well() -> bool:  # a broker just booted may answer in part for a poll or two
                snapshots = [c.screen.snapshots[n] for n in names]
                return all((s.status, s.failures, s.error) == (BrokerStatus.CONNECTED, 0, None) for s in snapshots)

            await c.wait(all_well, "every broker answering in full", 30)
            await c.wait_rows("#dest-table", lambda r: ["late-redis", "came-back"] in [row[:2] for row in r],
                              "the late Redis's data")  # fmt: skip
    finally:
        for broker in late.values():
            broker.stop()


# -- credentials refused ---------------------------------------------------------------------------
@contextlib.contextmanager
def refusing(kind: str, tmp_path: Path, rabbitmq_server: LocalRabbitMQ | None) -> Iterator[tuple[dict, Any]]:
    """A real broker of `kind` and a profile entry for it with a wrong secret; yields (entry, fix).

    `fix()` makes the server accept the configured secret (None where that needs a restart).
    """
    if kind == "redis":
        server = SecretRedis(tmp_path / "redis", name="locked").start()
        try:
            entry = {"url": f"redis://trust-ops:{WRONG}@127.0.0.1:{server.port}/0"}

            def fix_redis() -> None:
                server.client().acl_setuser("trust-ops", enabled=True, passwords=[f"+{WRONG}"])

            yield entry, fix_redis
        finally:
            server.stop()
    elif kind == "nats":
        server = SecretNats(tmp_path / "nats", name="locked").start()
        try:
            yield {"url": f"nats://trust-ops:{WRONG}@127.0.0.1:{server.port}", "monitor_url": server.monitor_url}, None
        finally:
            server.stop()
    elif kind == "rabbitmq":
        assert rabbitmq_server is not None
        user = add_rabbit_user(rabbitmq_server)
        entry = {"url": f"amqp://{user.name}:{WRONG}@127.0.0.1:{rabbitmq_server.port}/%2F",
                 "management_url": rabbitmq_server.management_url}  # fmt: skip
        try:
            yield entry, lambda: rabbitmq_server.ctl("change_password", user.name, WRONG)
        finally:
            rabbitmq_server.ctl("delete_user", user.name)
    else:
        server = LocalKafka(tmp_path / "kafka", name="locked").start()
        try:
            yield {"url": server.url, "sasl": {"mechanism": "PLAIN", "username": "ops", "password": WRONG}}, None
        finally:
            server.stop()


REASONS = {
    "redis": "authentication failed",
    "nats": "rejected the credentials",
    "rabbitmq": "rejected the credentials",
    "kafka": "authentication failed",
}


@pytest.mark.parametrize("kind", ["redis", "nats", "rabbitmq", "kafka"])
async def test_refused_credentials_show_the_reason_not_the_secret(
    tmp_path: Path, fast: dict[str, Any], kind: str, request: pytest.FixtureRequest
) -> None:
    rabbit = request.getfixturevalue("rabbitmq_server") if kind == "rabbitmq" else None
    with refusing(kind, tmp_path, rabbit) as (entry, fix):
        config = profile_file(tmp_path, [fast, {"name": "locked", "kind": kind, "timeout": 2.0, **entry}])
        async with console(config, "ops", size=(200, 40)) as c:
            await c.wait(lambda: c.screen.snapshots["locked"].error is not None, "the refusal")
            await c.wait(lambda: "down" in tree_label(c, "locked"), "locked shown down")
            status = await c.wait(lambda: (s := c.text("#status")).startswith("1/2 brokers up") and "locked: " in s
                                  and s, "the reason in the status line")  # fmt: skip
            assert REASONS[kind] in status.lower()
            text = screen_text(c.app)
            assert REASONS[kind] in text.lower() and WRONG not in text
            await assert_console_answers(c, c.app.backend.poll_count("fast"))  # type: ignore[attr-defined]
            assert WRONG not in screen_text(c.app) and all(WRONG not in note for note in c.notes)
            if fix is not None:  # the server now takes that secret: the console notices by itself
                fix()
                await c.wait(lambda: c.text("#status").startswith("2/2 brokers up"), "accepted", 60)
                assert c.screen.snapshots["locked"].error is None


# -- a broker that accepts connections and never answers -------------------------------------------
async def test_brokers_that_never_answer_are_timed_out_while_the_console_answers(
    tmp_path: Path, fast: dict[str, Any], kafka_server: LocalKafka, nats_server: LocalNats,
    rabbitmq_server: LocalRabbitMQ, redis_server: LocalRedis,
) -> None:  # fmt: skip
    targets = {"redis": redis_server, "nats": nats_server, "kafka": kafka_server, "rabbitmq": rabbitmq_server}
    proxies = {kind: FaultyProxy(server.port).start() for kind, server in targets.items()}
    proxies["rabbitmq-http"] = FaultyProxy(rabbitmq_server.management_port).start()
    try:
        for proxy in proxies.values():
            proxy.hang()
        hung = [
            # Redis waits 60 s: the key presses below happen while its first connect still hangs.
            {"name": "hung-redis", "kind": "redis", "url": f"redis://127.0.0.1:{proxies['redis'].port}/{FAST_DB}",
             "timeout": 60.0},
            {"name": "hung-nats", "kind": "nats", "url": f"nats://127.0.0.1:{proxies['nats'].port}",
             "monitor_url": nats_server.monitor_url, "timeout": 2.0},
            {"name": "hung-kafka", "kind": "kafka", "url": f"127.0.0.1:{proxies['kafka'].port}", "timeout": 2.0},
            {"name": "hung-rabbitmq", "kind": "rabbitmq", "url": f"amqp://guest:guest@127.0.0.1:{proxies['rabbitmq'].port}/%2F",
             "management_url": f"http://127.0.0.1:{proxies['rabbitmq-http'].port}", "timeout": 2.0},
        ]  # fmt: skip
        config = profile_file(tmp_path, [fast, *hung])
        async with console(config, "ops", size=(200, 40)) as c:
            short = ["hung-nats", "hung-kafka", "hung-rabbitmq"]
            await c.wait(lambda: all(c.screen.snapshots[n].error for n in short), "the short timeouts", 30)
            for name in short:
                error = c.screen.snapshots[name].error or ""
                assert error.startswith(f"{name}: ") and ("within 2s" in error or "no answer" in error), error
            assert c.app.backend.poll_count("hung-redis") == 0  # type: ignore[attr-defined]
            await assert_console_answers(c, c.app.backend.poll_count("fast"))  # type: ignore[attr-defined]
            assert c.app.backend.poll_count("hung-redis") == 0  # type: ignore[attr-defined] - still hanging all along

            for proxy in proxies.values():
                proxy.answer()
            await c.wait(lambda: c.text("#status").startswith("5/5 brokers up"), "every broker answers", 90)
    finally:
        for proxy in proxies.values():
            proxy.stop()
