"""What the console's filters keep: one typed line read the way `mqtui search --where` reads it.

A jq expression or a saved `@name` is compiled by `services/search/expression.py` and judged on each
message's document, a batch per call. Plain words and the `key:`/`header:`/`FIELD=V` shortcuts keep
the tail's byte-level matcher (`services/tailer.py:MessageFilter`): it means the same (every term
must hold, ASCII case-insensitive, decoded values by their JSON text) without building a document per
message, so a 50,000-message buffer is narrowed by words in a few frames.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mqtui.model import DeadLetter, Message
from mqtui.services.search.document import letter_document, message_document
from mqtui.services.search.expression import Expression, compile_expression, is_jq
from mqtui.services.tailer import MessageFilter


@dataclass(frozen=True)
class MessageChooser:
    """A filter line compiled once: `keep` judges a batch of messages (errors count as no match)."""

    text: str
    words: MessageFilter | None = None
    expression: Expression | None = None

    def keep(self, messages: Sequence[Message]) -> list[Message]:
        """The messages of the batch that match, in order."""
        if self.expression is not None:
            verdicts = self.expression.select([message_document(m) for m in messages])
            return [m for m, ok in zip(messages, verdicts, strict=True) if ok]
        words = self.words
        if words is None or words.empty:
            return list(messages)
        return [m for m in messages if words.matches(m)]

    def errors(self) -> str | None:
        """ "3 messages could not be evaluated (...)": said beside what is shown, or None."""
        return self.expression.describe_errors() if self.expression is not None else None


def message_chooser(text: str, filters: Mapping[str, str]) -> MessageChooser | None:
    """The chooser for a filter line; None for an empty one; `UsageError` (one line with the position)
    for an expression that is not valid jq or names an unknown saved filter."""
    text = text.strip()
    if not text:
        return None
    if is_jq(text) or text.startswith("@"):
        return MessageChooser(text, expression=compile_expression(text, filters=filters))
    return MessageChooser(text, words=MessageFilter.parse(text))


@dataclass(frozen=True)
class LetterChoice:
    """The dead letters an expression matched, and how many it could not be evaluated on."""

    matched: tuple[DeadLetter, ...]
    errors: str | None


def choose_letters(letters: Sequence[DeadLetter], text: str, filters: Mapping[str, str]) -> LetterChoice:
    """The dead letters an expression matches, judged on their documents with their provenance
    (`.reason`, `.attempts`, `.extra`); words are translated to jq, as `dlq show --where` does.
    `UsageError` for a bad expression."""
    expression = compile_expression(text.strip(), filters=filters)
    verdicts = expression.select([letter_document(letter) for letter in letters])
    matched = tuple(letter for letter, ok in zip(letters, verdicts, strict=True) if ok)
    return LetterChoice(matched, expression.describe_errors())
