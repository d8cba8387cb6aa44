"""The message view of a decoded Protobuf message (snapshot): format, subject, version and schema id
named, envelope-free fields as indented JSON, raw hex one key away (`x`). The payload is written by
confluent-kafka's ProtobufSerializer against the tests' registry and read by mqtui's decoder."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from textual.pilot import Pilot

from mqtui.config.decoding import SchemaRegistryConfig
from mqtui.model import Message
from mqtui.services.decoding import Decoder
from mqtui.services.decoding.registry import SchemaCache
from mqtui.ui.screens.message import MessageScreen
from tests.console.test_snapshots import SIZE, fixed_app, settle
from tests.decoding.conftest import make_encoders
from tests.registry import start_registry


def decoded_protobuf() -> Message:
    registry = start_registry()  # its own: schema id 1, subject version 1, whatever ran before
    try:
        encoders = make_encoders(registry)
        value = encoders.protobuf("orders", id=42, item="teapot", lines=[{"sku": "T-1", "quantity": 2}],
                                  placed_at={"seconds": 1764979200})  # fmt: skip
        message = Message("orders-kafka", "orders", 0, 1042, datetime(2026, 12, 6, 11, 59, 23, tzinfo=UTC),
                          b"order-42", value, (("trace", b"t-42"),))  # fmt: skip
        decoder = Decoder("auto", SchemaCache(SchemaRegistryConfig(url=registry.url)))

        async def decode() -> Message:
            await decoder.prepare([message], 5.0)
            return decoder.decode(message)

        decoded = asyncio.run(decode())
        decoder.close()
        assert decoded.decoded is not None and decoded.decoded.ok, decoded.decoded
        return decoded
    finally:
        registry.stop()


def test_message_detail_of_a_decoded_protobuf_message(snap_compare) -> None:  # type: ignore[no-untyped-def]
    message = decoded_protobuf()
    app = fixed_app()

    async def run(pilot: Pilot) -> None:  # type: ignore[type-arg]
        await settle(pilot)
        await app.push_screen(MessageScreen(message))
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run)
