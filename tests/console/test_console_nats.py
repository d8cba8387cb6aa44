"""The console against a real NATS (JetStream), and switching profiles between brokers."""

from __future__ import annotations

import os
from pathlib import Path

import nats
import nats.aio.msg
import redis

from mqtui.demo.localbrokers import LocalNats
from tests.console.pilot import console
from tests.helpers import write_config


async def make_stream(server: LocalNats, name: str, subject: str, count: int) -> None:
    connection = await nats.connect(server.url)
    try:
        js = connection.jetstream()
        await js.add_stream(name=name, subjects=[f"{subject}.>"])
        for i in range(count):
            await js.publish(f"{subject}.created", f'{{"n": {i}}}'.encode(), headers={"Trace": f"t{i}"})
        await js.add_consumer(name, durable_name="audit", ack_policy="explicit")
    finally:
        await connection.close()


def nats_broker(server: LocalNats) -> dict[str, object]:
    return {"name": "n", "kind": "nats", "url": server.url, "monitor_url": server.monitor_url, "timeout": 3.0}


async def test_stream_lag_tail_and_publish(tmp_path: Path, nats_server: LocalNats) -> None:
    stream, subject = f"CSL{os.getpid()}", f"csl{os.getpid()}"
    await make_stream(nats_server, stream, subject, 5)
    config = write_config(
        tmp_path / "c.toml", {"events": {"poll_interval": 0.2, "brokers": [nats_broker(nats_server)]}}
    )
    async with console(config, "events") as c:
        rows = await c.wait_rows("#dest-table", lambda r: any(row[1] == stream for row in r), "the stream")
        assert next(row for row in rows if row[1] == stream)[2:4] == ["stream", "5"]

        await c.press("2")
        lag = await c.wait_rows("#lag-table", lambda r: any(row[2] == stream for row in r), "the consumer")
        audit = next(row for row in lag if row[2] == stream)
        assert (audit[1], audit[3]) == ("audit", "5")  # nothing acknowledged: all five pending

        await c.press("1", "slash")
        await c.type(stream)
        await c.press("enter", "t")
        await c.wait_screen("TailStartScreen")
        c.app.screen.query_one("#start").value = "beginning"  # type: ignore[attr-defined]
        await c.press("enter")
        pane = c.app.query_one("#tail")
        await c.wait(lambda: len(pane.messages) == 5, "five messages")  # type: ignore[attr-defined]
        assert [m.value for m in pane.messages.messages] == [b'{"n": %d}' % i for i in range(5)]  # type: ignore[attr-defined]

        await c.press("n")  # publish, prefilled with the tailed destination
        await c.wait_screen("PublishScreen")
        destination = c.app.screen.query_one("#destination")
        assert destination.value == stream  # type: ignore[attr-defined]
        destination.value = f"{subject}.manual"  # type: ignore[attr-defined]
        c.app.screen.query_one("#body").text = '{"n": 5}'  # type: ignore[attr-defined]
        c.app.screen.query_one("#headers").text = "Trace=manual"  # type: ignore[attr-defined]
        await c.press("ctrl+s")
        await c.wait_note(f"sent 1 message(s) to n / {subject}.manual")
        await c.wait(lambda: len(pane.messages) == 6, "the published message in the tail")  # type: ignore[attr-defined]
        sixth = pane.messages.messages[-1]  # type: ignore[attr-defined]
        assert sixth.value == b'{"n": 5}' and sixth.header("Trace") == b"manual"

        await c.press("1")
        rows = await c.wait_rows(
            "#dest-table", lambda r: any(row[1] == stream and row[3] == "6" for row in r), "depth 6"
        )


async def test_switching_profile_shows_the_other_brokers_and_stops_the_old_ones(
    tmp_path: Path, nats_server: LocalNats, redis_db: tuple[str, redis.Redis]
) -> None:
    url, client = redis_db
    client.rpush("cache-jobs", b"1", b"2", b"3")
    stream = f"SWITCH{os.getpid()}"
    await make_stream(nats_server, stream, f"switch{os.getpid()}", 2)
    config = write_config(
        tmp_path / "c.toml",
        {
            "cache": {"poll_interval": 0.2, "brokers": [{"name": "r", "kind": "redis", "url": url}]},
            "events": {"poll_interval": 0.2, "readonly": True, "brokers": [nats_broker(nats_server)]},
        },
    )
    async with console(config, "cache") as c:
        rows = await c.wait_rows("#dest-table", lambda r: len(r) == 1, "the redis list")
        assert rows[0][1:4] == ["cache-jobs", "list", "3"]
        first = c.app.backend
        await c.press("P")
        await c.wait_screen("ProfilesScreen")
        await c.press("down", "enter")
        await c.wait(lambda: c.app.backend is not first, "the new profile")
        await c.wait(lambda: "profile events" in c.text("#profile"), "header")
        assert c.app.query_one("#profile-bar").has_class("-readonly")
        rows = await c.wait_rows("#dest-table", lambda r: any(row[1] == stream for row in r), "the nats stream")
        assert {row[0] for row in rows} == {"n"}
        assert next(row for row in rows if row[1] == stream)[3] == "2"
        assert [str(node.label).split()[-1] for node in c.app.query_one("#tree").root.children] == ["n"]  # type: ignore[attr-defined]
        await c.wait(lambda: first.stopped, "old backend stopped")
        await c.press("n")
        await c.wait_note("profile 'events' is readonly: publish refused")
        await c.press("r")
        await c.wait_note("profile 'events' is readonly: request refused")
        assert type(c.app.screen).__name__ == "ConsoleScreen"  # no form opened


async def test_request_reply_and_the_server_view(tmp_path: Path, nats_server: LocalNats) -> None:
    subject = f"svc.echo{os.getpid()}"
    responder = await nats.connect(nats_server.url)

    async def answer(msg: nats.aio.msg.Msg) -> None:
        trace = (msg.headers or {}).get("Trace", "")
        await msg.respond(b"echo: " + msg.data + f" trace={trace}".encode())

    await responder.subscribe(subject, cb=answer)
    await responder.flush()
    config = write_config(
        tmp_path / "c.toml", {"events": {"poll_interval": 0.2, "brokers": [nats_broker(nats_server)]}}
    )
    try:
        async with console(config, "events", size=(160, 40)) as c:
            rows = await c.wait_rows("#dest-table", lambda r: any(row[1] == subject for row in r), "the subject")
            assert next(row for row in rows if row[1] == subject)[2] == "subject"
            table = c.app.query_one("#dest-table")
            table.move_cursor(row=[row[1] for row in rows].index(subject))  # type: ignore[attr-defined]
            await c.press("r")
            await c.wait_screen("RequestScreen")
            assert c.app.screen.query_one("#subject").value == subject  # type: ignore[attr-defined]
            assert c.app.screen.query_one("#timeout").value == "3"  # type: ignore[attr-defined] - the broker's
            c.app.screen.query_one("#body").text = "ping"  # type: ignore[attr-defined]
            c.app.screen.query_one("#headers").value = "Trace=t-42"  # type: ignore[attr-defined]
            await c.press("ctrl+s")
            await c.wait_screen("MessageScreen", "the reply")
            assert c.text("#title") == f"reply · n / {subject}"
            assert c.text("#body") == "echo: ping trace=t-42"
            await c.press("escape")

            await c.press("r")  # nobody answers on this one: the form says so and stays open
            await c.wait_screen("RequestScreen")
            c.app.screen.query_one("#subject").value = f"nobody.home{os.getpid()}"  # type: ignore[attr-defined]
            await c.press("ctrl+s")
            await c.wait(lambda: "no service answers" in c.text("#result"), "no responders")
            assert c.text("#result") == f"n: no service answers on nobody.home{os.getpid()}"
            await c.press("escape")

            tree = c.app.query_one("#tree")
            leaf = tree.root.children[0].children[0]  # type: ignore[attr-defined]
            assert str(leaf.label) == "server info"
            tree.select_node(leaf)  # type: ignore[attr-defined]
            await c.wait_screen("DetailScreen", "the server view")
            await c.wait(lambda: c.app.screen.query("#summary"), "server summary")
            summary = dict((row[0], row[1]) for row in c.rows("#summary"))
            assert summary["connected to"] == nats_server.url
            table = c.app.screen.query_one("#summary")
            await c.wait(lambda: table.size.height == len(summary), "every summary line on screen")
            await c.press("escape", "i")  # the same view from its key (and the palette)
            await c.wait_screen("DetailScreen", "the server view again")
    finally:
        await responder.close()
