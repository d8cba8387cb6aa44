"""The one expression language that chooses messages: jq, evaluated on `document.message_document`.

`compile_expression` takes what the user typed and answers an `Expression`, or raises `UsageError` with
one line naming where a jq expression is wrong, before anything is read. What may be typed:

- a jq expression (it starts with `.`, `(`, `[`, `{`, `"`, `$`, or is a call such as `select(...)`):
  a message matches when the expression yields a true value (not `false`, not `null`) for it;
- plain words: the value contains every word (ASCII case-insensitive, the decoded tree as JSON text);
  `key:K` the key contains K, `header:NAME` a header NAME exists, `header:NAME=V` its value contains V,
  `FIELD.PATH=V` a field of the value contains V; these are translated to jq;
- `@name`: a profile's saved filter (`[profiles.X.filters] big = '.value.amount > 1000'`).

An expression that errors on a message (`.value.amount + 1` on a text value) does not match it; the
errors are counted with the first one kept, so a search can say "N messages could not be evaluated".
Simple comparisons run in Python (`fastpath`), with jq's semantics, since jq spends ~10 us parsing each
document; anything else runs in jq, compiled once and fed a batch of documents per call.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from mqtui.errors import UsageError
from mqtui.jsonl import json_default
from mqtui.services.search import words
from mqtui.services.search.fastpath import compile_fast
from mqtui.services.search.jqvalues import EvalError, Slow

_NO_FILTERS: Mapping[str, str] = {}
_JQ_START = re.compile(r"\s*(?:[.(\[{\"$]|[A-Za-z_][A-Za-z0-9_]*\s*\(|(?:not|true|false|null|if|try)\b)")
_POSITION = re.compile(r"^jq: error: (?P<what>.*?) at <top-level>, line (?P<line>\d+)(?:, column (?P<col>\d+))?:")
_SAVED = re.compile(r"\s*@([A-Za-z_][\w-]*)\s*")


class Expression:
    """A compiled expression: `matches(doc)` for one document, `select(docs)` for a batch (one call
    into jq for the whole batch). `errors` counts documents it could not be evaluated on."""

    def __init__(self, text: str, program: str, fast: Callable[[Any], bool] | None) -> None:
        self.text = text
        """What the user typed (or the saved filter's name with `@`)."""
        self.program = program
        """The jq program it stands for (plain words translated)."""
        self.errors = 0
        self.first_error: str | None = None
        self._fast = fast
        self._jq: Any = None

    def matches(self, document: Mapping[str, Any]) -> bool:
        return self.select([document])[0]

    def select(self, documents: Sequence[Mapping[str, Any]]) -> list[bool]:
        """One verdict per document, in order; an error on a document is False and is counted."""
        verdicts, failures = self.judge(documents)
        self.count(failures)
        return verdicts

    def judge(self, documents: Sequence[Mapping[str, Any]]) -> tuple[list[bool], list[tuple[int, str]]]:
        """The verdicts and, not yet counted, the (index, error) of each document that could not be
        evaluated: a search that stops at its limit mid-batch counts only the ones it scanned."""
        fast = self._fast
        if fast is None:
            return self._judge_jq(documents)
        verdicts: list[bool] = []
        failures: list[tuple[int, str]] = []
        slow: list[int] = []
        for index, document in enumerate(documents):
            try:
                verdicts.append(fast(document))
            except Slow:
                verdicts.append(False)
                slow.append(index)
            except EvalError as failure:
                verdicts.append(False)
                failures.append((index, str(failure)))
        if slow:
            slow_verdicts, slow_failures = self._judge_jq([documents[i] for i in slow])
            for index, verdict in zip(slow, slow_verdicts, strict=True):
                verdicts[index] = verdict
            failures = sorted(failures + [(slow[i], error) for i, error in slow_failures])
        return verdicts, failures

    def count(self, failures: Sequence[tuple[int, str]]) -> None:
        """Add documents that could not be evaluated (from `judge`) to `errors`."""
        self.errors += len(failures)
        if failures and self.first_error is None:
            self.first_error = failures[0][1]

    def describe_errors(self) -> str | None:
        """ "3 messages could not be evaluated (Cannot index string with "amount")", or None."""
        if not self.errors:
            return None
        noun = "message" if self.errors == 1 else "messages"
        return f"{self.errors:,} {noun} could not be evaluated ({self.first_error})"

    def _judge_jq(self, documents: Sequence[Mapping[str, Any]]) -> tuple[list[bool], list[tuple[int, str]]]:
        if self._jq is None:
            self._jq = _jq_compile(_batch_program(self.program))
        try:
            text = orjson.dumps(documents, default=json_default).decode("utf-8")
            answers = self._jq.input_text(text).first()
        except (ValueError, TypeError):
            if len(documents) == 1:
                return [False], [(0, "the document could not be evaluated")]
            verdicts: list[bool] = []
            failures: list[tuple[int, str]] = []
            for index, document in enumerate(documents):
                verdict, failed = self._judge_jq([document])
                verdicts += verdict
                failures += [(index, error) for _, error in failed]
            return verdicts, failures
        verdicts = []
        failures = []
        for index, answer in enumerate(answers):
            if isinstance(answer, dict):
                failures.append((index, str(answer.get("error"))))
                verdicts.append(False)
            else:
                verdicts.append(answer is True)
        return verdicts, failures


def compile_expression(text: str, *, filters: Mapping[str, str] = _NO_FILTERS) -> Expression:
    """The `Expression` for what was typed; `UsageError` (one line, with the position) when it is not
    valid jq, names an unknown saved filter, or is empty."""
    shown = text
    saved = _SAVED.fullmatch(text)
    if saved is not None:
        name = saved.group(1)
        if name not in filters:
            known = ", ".join(f"@{known}" for known in sorted(filters)) or "none in this profile"
            raise UsageError(f"no saved filter @{name} (saved filters: {known})")
        text = filters[name]
    if not text.strip():
        raise UsageError("empty expression: give a jq expression such as '.value.id == 42', or words")
    if is_jq(text):
        program, fast = text, None
    else:
        terms = words.parse_words(text)
        program, fast = words.program(terms), words.fast(terms)
    _check(program, shown if saved is None else f"@{saved.group(1)}")
    return Expression(shown, program, fast or compile_fast(program))


def is_jq(text: str) -> bool:
    """Whether `text` is read as jq rather than as plain words (see the module's docstring)."""
    return _JQ_START.match(text) is not None


def _batch_program(program: str) -> str:
    """Every document of an array judged at once: true/false, or {"error": ...} where it failed.
    A match is any truthy output, so `.key` matches messages with a key and `empty` matches none."""
    return f"[.[] | try ([({program})] | any) catch {{error: (. | tostring)}}]"


def _check(program: str, shown: str) -> None:
    try:
        _jq_compile(program)
    except ValueError as error:
        raise UsageError(f"bad expression {shown!r}: {_where(str(error))}") from None


def _where(message: str) -> str:
    """jq's compile error as one line: what is wrong and at which line and column."""
    found = _POSITION.match(message)
    if found is None:
        first = message.splitlines()[0] if message else "not a jq expression"
        return first.removeprefix("jq: error: ")
    line, column = found.group("line"), found.group("col")
    where = f"column {column}" if line == "1" and column else f"line {line}, column {column or '?'}"
    return f"{found.group('what')} at {where}"


def _jq_compile(program: str) -> Any:
    """jq compiled; loaded here so `mqtui --help` never pays for it (the package ships no types)."""
    return importlib.import_module("jq").compile(program)
