"""`--decode` and `--no-raw` for the commands that print messages (`tail`, `peek`, `dlq show`), and
`publish --schema`.

A command's messages are decoded by the broker's decoder (`services/decoding`); before a batch is
decoded, schemas it lacks are fetched, waiting at most the registry's timeout so the first lines come
out decoded, and a message whose schema could not be had is printed raw with `value_decode_error`.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence

from mqtui.errors import UsageError
from mqtui.model import DeadLetter, Message, OutgoingMessage
from mqtui.services.decoding import MODES, Decoder, decoder_for
from mqtui.services.gateway import Gateway


def decoder_from_args(gateway: Gateway, broker: str, args: argparse.Namespace) -> Decoder:
    mode = getattr(args, "decode", "auto")
    if mode not in MODES:
        raise UsageError(f"--decode must be one of: {', '.join(MODES)} (not {mode!r})")
    session = gateway.session
    return decoder_for(session.profile, session.broker(broker), mode)


async def decode_messages(decoder: Decoder, batch: Sequence[Message]) -> Sequence[Message]:
    if not decoder.active:
        return batch
    await decoder.prepare(batch, decoder.schema_wait)
    return decoder.decode_batch(batch)


async def decode_letters(decoder: Decoder, letters: list[DeadLetter]) -> list[DeadLetter]:
    if not decoder.active:
        return letters
    messages = await decode_messages(decoder, [letter.message for letter in letters])
    return [dataclasses.replace(letter, message=m) for letter, m in zip(letters, messages, strict=True)]


async def schema_encoded(
    gateway: Gateway, broker: str, destination: str, subject: str, messages: list[OutgoingMessage]
) -> list[OutgoingMessage]:
    """`publish --schema`: encoded before the confirmation, so a value that does not fit fails first."""
    from mqtui.services.decoding.encode import encode_messages

    session = gateway.session
    return await encode_messages(session.profile, session.broker(broker), destination, subject, messages)
