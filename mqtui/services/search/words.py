"""Plain words as an expression: what the tail filter always took, now one more way to write jq.

`ada 4711` means the value contains both words; `key:K` the key contains K; `header:NAME` a header NAME
exists and `header:NAME=V` its value contains V; `FIELD.PATH=V` a field of the value contains V. All
ASCII case-insensitive, on text: a string as it is, anything else as its JSON. Each term is translated
to jq (`program`: what the expression stands for and what jq runs when needed) and to the same test in
Python (`fast`), since jq would spend ~10 us parsing each document.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from mqtui.services.search.jqvalues import Slow

_FIELD_TERM = re.compile(r"[A-Za-z_][\w-]*(?:\.[\w-]+)*=.*")
_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}
TEXT_DEF = (
    'def _text: if type == "string" then ascii_downcase elif . == null then "" else tojson | ascii_downcase end; '
)
"""Any value as lower-case text: what words are looked for in."""


@dataclass(frozen=True, slots=True)
class Term:
    kind: Literal["value", "key", "header", "field"]
    wanted: str | None
    """The word, lower-cased as jq's `ascii_downcase` lowers (None: a header that only has to exist)."""
    name: str = ""
    path: tuple[str, ...] = ()


def parse_words(text: str) -> list[Term]:
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    terms: list[Term] = []
    for word in words:
        field, sep, rest = word.partition(":")
        if sep and field.lower() in ("key", "k") and rest:
            terms.append(Term("key", _lower(rest)))
        elif sep and field.lower() in ("header", "h") and rest:
            name, eq, wanted = rest.partition("=")
            terms.append(Term("header", _lower(wanted) if eq else None, name=_lower(name)))
        elif _FIELD_TERM.fullmatch(word):
            path, _, wanted = word.partition("=")
            terms.append(Term("field", _lower(wanted), path=tuple(path.split("."))))
        else:
            terms.append(Term("value", _lower(word)))
    return terms


def program(terms: Sequence[Term]) -> str:
    """The terms as one jq program: every one must hold."""
    parts: list[str] = []
    for term in terms:
        wanted = _json(term.wanted)
        if term.kind == "key":
            parts.append(f"(.key | _text | contains({wanted}))")
        elif term.kind == "header":
            headers = f".headers | to_entries | map(select(.key | ascii_downcase == {_json(term.name)}))"
            if term.wanted is None:
                parts.append(f"({headers} | length > 0)")
            else:
                parts.append(f"({headers} | any(.value | _text | contains({wanted})))")
        elif term.kind == "field":
            parts.append(f"(.value | getpath({_json(list(term.path))}) | _text | contains({wanted}))")
        else:
            parts.append(f"(.value | _text | contains({wanted}))")
    return TEXT_DEF + " and ".join(parts)


def fast(terms: Sequence[Term]) -> Callable[[Any], bool]:
    """The same test as `program` in Python; `Slow` where only jq can say exactly (a value that is not
    JSON, headers that are not an object, a field path through something other than objects).

    On a search document, as jq sees it; the tail's `MessageFilter` parses the same terms but matches a
    message's raw bytes, so a binary payload matches the words its row shows."""
    needles = [term.wanted or "" for term in terms if term.kind == "value"]
    checks = [_check(term) for term in terms if term.kind != "value"]

    def verdict(document: Any) -> bool:
        if needles:
            text = _text(document.get("value"))  # once for every word
            if not all(needle in text for needle in needles):
                return False
        return all(check(document) for check in checks)

    return verdict


def _check(term: Term) -> Callable[[Mapping[str, Any]], bool]:
    wanted = term.wanted or ""
    if term.kind == "key":
        return lambda document: wanted in _text(document.get("key"))
    if term.kind == "field":
        path = term.path

        def field(document: Mapping[str, Any]) -> bool:
            tree = document.get("value")
            for step in path:
                if tree is None:
                    break
                if not isinstance(tree, dict):
                    raise Slow
                tree = tree.get(step)
            return wanted in _text(tree)

        return field
    name, exists_only = term.name, term.wanted is None

    def header(document: Mapping[str, Any]) -> bool:
        headers = document.get("headers")
        if not isinstance(headers, dict):
            raise Slow
        values = [value for key, value in headers.items() if isinstance(key, str) and _lower(key) == name]
        if exists_only:
            return bool(values)
        return any(wanted in _text(value) for value in values)

    return header


def _text(value: Any) -> str:
    if type(value) is str:
        return _lower(value)
    if value is None:
        return ""
    try:
        return orjson.dumps(value).lower().decode("utf-8")  # bytes.lower() lowers ASCII only, as jq does
    except TypeError:
        raise Slow from None


def _lower(word: str) -> str:
    return word.lower() if word.isascii() else word.translate(_LOWER)


def _json(value: object) -> str:
    return orjson.dumps(value).decode("utf-8")
