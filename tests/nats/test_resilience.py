"""Untrusted headers and a server restart under a running tail."""

from __future__ import annotations

import asyncio
import socket

from mqtui.demo.localbrokers import LocalNats
from mqtui.model import StartPosition
from tests.nats.support import adapter_for, client_for, read_all, unique
from tests.support import until


def _raw_hpub(port: int, subject: str, header_block: bytes, payload: bytes) -> None:
    """Publish with a hand-made header block, as a hostile or buggy client could."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.recv(4096)  # INFO
        sock.sendall(b'CONNECT {"verbose":false,"headers":true}\r\n')
        total = len(header_block) + len(payload)
        sock.sendall(f"HPUB {subject} {len(header_block)} {total}\r\n".encode() + header_block + payload + b"\r\n")
        sock.sendall(b"PING\r\n")
        assert b"PONG" in sock.recv(4096)


async def test_binary_and_malformed_headers_do_not_break_reading(nats_server: LocalNats) -> None:
    stream, subject = unique("HB"), unique("hb")
    async with client_for(nats_server) as nc, adapter_for(nats_server) as adapter:
        await nc.jetstream().add_stream(name=stream, subjects=[f"{subject}.>"])
        block = b"NATS/1.0\r\nBin: \xff\xfe\x00x\r\nno colon line\r\nDup: 1\r\nDup: 2\r\n\r\n"
        await asyncio.to_thread(_raw_hpub, nats_server.port, f"{subject}.evil", block, b"\x1b[31mred")
        await asyncio.to_thread(_raw_hpub, nats_server.port, f"{subject}.fine", b"NATS/1.0\r\nok: yes\r\n\r\n", b"ok")
        messages = await read_all(adapter, stream)
        assert [m.value for m in messages] == [b"\x1b[31mred", b"ok"]
        assert messages[1].header("ok") == b"yes"


async def test_tail_carries_on_across_a_server_restart(private_nats: LocalNats) -> None:
    async with client_for(private_nats) as nc:
        js = nc.jetstream()
        await js.add_stream(name="RESTART", subjects=["rs.>"])
        for i in range(3):
            await js.publish("rs.x", f"a{i}".encode())
    async with adapter_for(private_nats, timeout=2.0) as adapter:
        tail = adapter.tail("RESTART", start=StartPosition("beginning"))
        got = []
        while len(got) < 3:
            got.extend(await tail.__anext__())
        private_nats.kill()
        private_nats.start()
        async with client_for(private_nats) as nc:
            js = nc.jetstream()
            await until(lambda: _stream_ready(js), what="the stream back after the restart")
            for i in range(3):
                await js.publish("rs.x", f"b{i}".encode())
        while len(got) < 6:
            got.extend(await asyncio.wait_for(tail.__anext__(), timeout=30))
        await tail.aclose()
        assert [m.value for m in got] == [b"a0", b"a1", b"a2", b"b0", b"b1", b"b2"]
        assert [m.position for m in got] == [1, 2, 3, 4, 5, 6]


async def _stream_ready(js) -> bool:  # type: ignore[no-untyped-def]
    try:
        return (await js.stream_info("RESTART")).state.messages == 3
    except Exception:
        return False
