"""Sending to NATS: publish (JetStream or core), request/reply, and purging a stream or a subject.

A publish goes through JetStream (acknowledged, sequences in `positions`) when a stream stores the
subject, else core NATS; `--prop mode=core|jetstream` forces one and `--prop stream=NAME` makes
JetStream check the stream. NATS messages have no key, and headers cannot hold line breaks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import nats.errors
import nats.js.errors
from nats.aio.client import Client

from mqtui.brokers.base import PublishOptions
from mqtui.brokers.nats import records
from mqtui.brokers.nats.jetstream import JetStream
from mqtui.errors import BrokerError, BrokerUnavailable, NotFound, NotPossible, UsageError
from mqtui.model import Message, OutgoingMessage, PublishResult

PUBLISH_OPTIONS = ("mode", "stream")


async def publish(
    js: JetStream, destination: str, messages: Sequence[OutgoingMessage], options: PublishOptions | None
) -> PublishResult:
    props = dict(options or {})
    unknown = sorted(set(props) - set(PUBLISH_OPTIONS))
    if unknown:
        raise UsageError(f"unknown NATS publish property {unknown[0]!r} (known: {', '.join(PUBLISH_OPTIONS)})")
    if any(m.key is not None for m in messages):
        raise NotPossible(f"{js.name}: NATS messages have no key; send it as a --header")
    mode = props.get("mode", "auto").lower()
    if mode not in ("auto", "core", "jetstream", "js"):
        raise UsageError(f"--prop mode must be core or jetstream, not {mode!r}")
    nc = js.conn()
    with js.errors(f"publish to {destination}"):
        if mode == "auto":
            mode = "jetstream" if await js.streams_storing(destination) else "core"
        headers: list[dict[str, str] | str] = [outgoing_headers(m) for m in messages]
        if mode == "core":
            return await _publish_core(js, nc, destination, messages, headers)
        return await _publish_js(js, nc, destination, messages, headers, props.get("stream"))


async def _publish_core(
    js: JetStream, nc: Client, subject: str, messages: Sequence[OutgoingMessage], headers: list[dict[str, str] | str]
) -> PublishResult:
    failed: list[tuple[int, str]] = []
    for index, (message, hdrs) in enumerate(zip(messages, headers, strict=True)):
        if isinstance(hdrs, str):
            failed.append((index, hdrs))
            continue
        try:
            await nc.publish(subject, message.value, headers=hdrs or None)
        except nats.errors.MaxPayloadError:
            failed.append((index, f"larger than the server's max payload ({nc.max_payload} bytes)"))
    await nc.flush(timeout=max(1, int(js.timeout)))
    return PublishResult(sent=len(messages) - len(failed), failed=tuple(failed))


async def _publish_js(
    js: JetStream,
    nc: Client,
    subject: str,
    messages: Sequence[OutgoingMessage],
    headers: list[dict[str, str] | str],
    stream: str | None,
) -> PublishResult:
    context = nc.jetstream(timeout=js.timeout)

    async def one(index: int) -> tuple[int, int | None, str | None]:
        hdrs = headers[index]
        if isinstance(hdrs, str):
            return index, None, hdrs
        try:
            ack = await context.publish(subject, messages[index].value, headers=hdrs or None, stream=stream)
        except nats.js.errors.NoStreamResponseError:
            return index, None, f"no stream stores {subject}"
        except nats.js.errors.APIError as exc:
            return index, None, str(exc.description or exc)
        except nats.errors.MaxPayloadError:
            return index, None, f"larger than the server's max payload ({nc.max_payload} bytes)"
        except (TimeoutError, nats.errors.TimeoutError):
            if nc.is_closed:
                raise
            return index, None, f"no acknowledgement within {js.timeout:g}s"
        return index, ack.seq, None

    answers = await js.bounded([one(i) for i in range(len(messages))])
    positions = tuple(seq for _, seq, error in answers if error is None and seq is not None)
    failed = tuple((index, error) for index, _, error in answers if error is not None)
    return PublishResult(sent=len(positions), failed=failed, positions=positions)


async def request(js: JetStream, destination: str, message: OutgoingMessage, timeout: float) -> Message:
    """Send `message` and wait `timeout` seconds for the first reply."""
    nc = js.conn()
    hdrs = outgoing_headers(message)
    if isinstance(hdrs, str):
        raise UsageError(hdrs)
    with js.errors(f"request {destination}"):
        try:
            reply = await nc.request(destination, message.value, timeout=timeout, headers=hdrs or None)
        except nats.errors.NoRespondersError:
            raise NotFound(f"{js.name}: no service answers on {destination}") from None
        except (TimeoutError, nats.errors.TimeoutError):
            if nc.is_closed or not nc.is_connected:
                raise BrokerUnavailable(f"{js.name}: connection lost during the request to {destination}") from None
            raise BrokerError(f"{js.name}: no reply on {destination} within {timeout:g}s") from None
    return Message(
        broker=js.name,
        destination=destination,
        partition=None,
        position=1,
        timestamp=datetime.now(UTC),
        key=None,
        value=reply.data,
        headers=records.headers_from_client(reply.headers),
    )


async def purge(js: JetStream, destination: str) -> int:
    """Purge a stream, or only the messages of one subject from the stream that stores it."""
    with js.errors(f"purge {destination}"):
        info = await js.find_stream(destination)
        if info is not None:
            answer = await js.api(f"STREAM.PURGE.{destination}", {})
        else:
            streams = await js.streams_storing(destination)
            if not streams:
                raise NotFound(f"{js.name}: no stream named {destination} or storing it (core subjects keep nothing)")
            answer = await js.api(f"STREAM.PURGE.{streams[0]}", {"filter": destination})
    return int(answer.get("purged") or 0)


def outgoing_headers(message: OutgoingMessage) -> dict[str, str] | str:
    """Headers as nats-py wants them (str dict), or the reason they cannot be sent."""
    headers: dict[str, str] = {}
    for key, value in message.headers:
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        if any(c in key for c in "\r\n: ") or "\r" in text or "\n" in text:
            return f"header {key!r} holds a line break, colon or space where NATS cannot carry one"
        headers[key] = text
    return headers
