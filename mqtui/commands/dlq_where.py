"""`dlq show/replay/delete --where EXPR`: the dead letters an expression selects, counted and previewed
before anything is written.

The letters are read (as `dlq show` reads them, decoded), judged on `letter_document` (the message's
fields plus reason, origin, attempts...), and the count of matches out of the letters read goes to
stderr with a preview of the first few, so a replay or delete by expression shows what it will act on
before its confirmation. When the read stopped at its limit, the line says that more may be there.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from mqtui.commands.decoding import decode_letters, decoder_from_args
from mqtui.commands.output import warn
from mqtui.model import DeadLetter
from mqtui.safetext import safe_line
from mqtui.services.decoding import payload_line
from mqtui.services.gateway import Adapter, Gateway
from mqtui.services.search.document import letter_document
from mqtui.services.search.expression import compile_expression

READ_LIMIT = 10_000
"""How many dead letters a `--where` without `--limit` reads to choose from."""
PREVIEW = 5


@dataclass(frozen=True, slots=True)
class Selection:
    letters: list[DeadLetter]
    """The letters the expression matched, decoded."""
    read: int
    limit: int
    errors: str | None

    @property
    def ids(self) -> list[str]:
        return [letter.id for letter in self.letters]

    def summary(self, dlq: str, where: str) -> str:
        more = f" (read stopped at {self.limit:,}: more may be there, see --limit)" if self.read >= self.limit else ""
        return f"{len(self.letters):,} of {self.read:,} dead letters read in {dlq} match {where!r}{more}"


def check_where(gateway: Gateway, args: argparse.Namespace) -> None:
    """Compile `--where` before any connection, so a bad expression costs one line and nothing else."""
    if args.where is not None:
        compile_expression(args.where, filters=gateway.session.profile.filters)


async def select_letters(gateway: Gateway, adapter: Adapter, args: argparse.Namespace, limit: int | None) -> Selection:
    """Read up to `limit` (default READ_LIMIT) letters of `args.dlq`, decoded, and keep those `--where`
    matches (and, with `--id`, only those ids too)."""
    expression = compile_expression(args.where, filters=gateway.session.profile.filters)
    wanted = limit or READ_LIMIT
    letters = await adapter.dead_letters(args.dlq, limit=wanted)
    decoder = decoder_from_args(gateway, args.broker, args)
    try:
        letters = await decode_letters(decoder, letters)
    finally:
        decoder.close()
    verdicts = expression.select([letter_document(letter) for letter in letters])
    ids = set(getattr(args, "ids", None) or ())
    chosen = [
        letter for letter, verdict in zip(letters, verdicts, strict=True) if verdict and (not ids or letter.id in ids)
    ]
    return Selection(chosen, len(letters), wanted, expression.describe_errors())


def show_selection(selection: Selection, dlq: str, where: str) -> None:
    """On stderr: the count, messages the expression could not judge, and the first few letters."""
    warn(selection.summary(dlq, where))
    if selection.errors:
        warn(selection.errors)
    for letter in selection.letters[:PREVIEW]:
        reason = safe_line(letter.reason, 50) if letter.reason else "-"
        warn(f"  {safe_line(letter.id, 30)}  {reason}  {payload_line(letter.message, 60)}")
    if len(selection.letters) > PREVIEW:
        warn(f"  ... and {len(selection.letters) - PREVIEW:,} more")
