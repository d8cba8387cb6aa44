"""Publishing to Redis: LPUSH to a list, XADD to a stream, PUBLISH to a channel, in pipelined chunks.

`--prop` keys: `type=list|stream|channel` picks the kind when the key does not exist (default: the
key's type, else list). Lists and channels carry bare values, so a key or headers are refused, and so
is a Celery queue, whose workers only decode kombu envelopes (purge and requeue move whole envelopes, as
`celery purge` does, and stay allowed). A stream entry gets the value as field `data`, the key as field
`key` and each header as a field of its own; `fields=json` takes the fields from the value, a JSON
object, instead; `maxlen=N` trims the stream to about N entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import orjson

from mqtui.brokers.base import PublishOptions
from mqtui.brokers.redis import jobs
from mqtui.brokers.redis.client import as_bytes, text, translated
from mqtui.brokers.redis.scan import KeyScanner
from mqtui.brokers.redis.streams import entry_fields
from mqtui.config import RedisConfig
from mqtui.errors import BrokerError, NotPossible, UsageError
from mqtui.model import OutgoingMessage, Position, PublishResult

if TYPE_CHECKING:
    from redis.asyncio import Redis

PUBLISH_CHUNK = 1000
PUBLISH_OPTIONS = ("type", "fields", "maxlen")


async def publish(
    client: Redis,
    config: RedisConfig,
    scanner: KeyScanner,
    destination: str,
    key: bytes,
    messages: Sequence[OutgoingMessage],
    options: PublishOptions | None,
) -> PublishResult:
    """Send `messages` to the key `key` (shown as `destination`); a key created is known to `scanner` at once."""
    broker = config.name
    props = dict(options or {})
    unknown = sorted(set(props) - set(PUBLISH_OPTIONS))
    if unknown:
        raise UsageError(f"{broker}: unknown --prop {', '.join(unknown)} (redis takes: {', '.join(PUBLISH_OPTIONS)})")
    maxlen = _maxlen(broker, props.get("maxlen"))
    fields_from_json = props.get("fields", "data") == "json"
    with translated(config):
        existing = text(await client.type(key))
        mode = props.get("type") or (existing if existing in ("list", "stream") else "list")
        if mode not in ("list", "stream", "channel"):
            raise UsageError(f"{broker}: --prop type must be list, stream or channel, not {mode!r}")
        if mode != "channel" and existing not in ("none", mode):
            raise BrokerError(f"{broker}: {destination} is a {existing}, not a {mode}")
        if mode == "list" and await _is_celery_queue(client, destination):
            raise NotPossible(
                f"{broker}: {destination} is a Celery queue, which mqtui only reads: a Celery worker cannot "
                "decode a bare value (its messages are kombu envelopes); send tasks through Celery"
            )
        if mode != "stream" and any(m.key is not None or m.headers for m in messages):
            raise NotPossible(
                f"{broker}: a Redis {mode} carries bare values; --key and --header need a stream (--prop type=stream)"
            )
        sent, unroutable = 0, 0
        failed: list[tuple[int, str]] = []
        positions: list[Position] = []
        for start in range(0, len(messages), PUBLISH_CHUNK):
            chunk = messages[start : start + PUBLISH_CHUNK]
            pipe = client.pipeline(transaction=False)
            queued: list[int] = []
            for index, message in enumerate(chunk, start):
                if mode == "list":
                    pipe.lpush(key, message.value)
                elif mode == "channel":
                    pipe.publish(key, message.value)
                else:
                    fields = _stream_fields(message, fields_from_json)
                    if isinstance(fields, str):
                        failed.append((index, fields))
                        continue
                    pipe.execute_command("XADD", key, *_maxlen_args(maxlen), "*", *fields)
                queued.append(index)
            answers = await pipe.execute(raise_on_error=False) if queued else []
            for index, answer in zip(queued, answers, strict=True):
                if isinstance(answer, Exception):
                    failed.append((index, text(str(answer))))
                    continue
                sent += 1
                if mode == "list":
                    positions.append(int(answer) - 1)
                elif mode == "stream":
                    positions.append(text(answer))
                elif int(answer) == 0:
                    unroutable += 1
        if mode != "channel" and sent:
            scanner.note(key, mode)
    return PublishResult(sent=sent, failed=tuple(sorted(failed)), positions=tuple(positions), unroutable=unroutable)


async def _is_celery_queue(client: Redis, destination: str) -> bool:
    """Whether Celery's default routing binds a queue of this name (`_kombu.binding.<name>`); an ACL user
    that may not read that key cannot tell, and is not stopped by this check."""
    from redis.exceptions import NoPermissionError

    try:
        members = as_bytes(await client.smembers(f"{jobs.KOMBU_BINDING_PREFIX}{destination}"))
    except NoPermissionError:
        return False
    return destination in jobs.celery_binding_queues(sorted(members))


def _maxlen(broker: str, raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit():
        raise UsageError(f"{broker}: --prop maxlen must be a whole number, not {raw!r}")
    return int(raw)


def _maxlen_args(maxlen: int | None) -> list[str | int]:
    return [] if maxlen is None else ["MAXLEN", "~", maxlen]


def _stream_fields(message: OutgoingMessage, from_json: bool) -> list[bytes | str] | str:
    """XADD field/value arguments, or the reason the message cannot become an entry."""
    if not from_json:
        return entry_fields(message.value, message.key, message.headers)
    try:
        decoded = orjson.loads(message.value)
    except orjson.JSONDecodeError:
        return "fields=json needs a JSON object value"
    if not isinstance(decoded, dict) or not decoded:
        return "fields=json needs a non-empty JSON object value"
    flat: list[bytes | str] = []
    for name, value in decoded.items():
        flat += [str(name), value if isinstance(value, str) else orjson.dumps(value).decode()]
    return flat + entry_fields(b"", message.key, message.headers)[2:]
