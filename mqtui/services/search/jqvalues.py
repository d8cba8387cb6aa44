"""jq's value semantics in Python, for `fastpath`: indexing, truthiness, jq's order of values and its
equality, and the string builtins the subset knows, each failing as jq fails (`EvalError`, with jq's
words) or handing the document to jq (`Slow`) where Python cannot say exactly what jq would.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson

Fn = Callable[[Any], Any]


class Slow(Exception):
    """The subset met a value only jq judges exactly: this one document goes to jq."""


class EvalError(Exception):
    """The expression errors on this document, as jq would; the text is jq's."""


_SAFE_REGEX = re.compile(r"(?:[^\\\[(]|\\[dDwWsSbB]|\\[^A-Za-z0-9]|\[(?:[^\]\\\[]|\\[dDwWs\W])*\]|\((?!\?))*")
_BIG = 2**53
_COMPARE: dict[str, Callable[[int], bool]] = {
    "<": lambda c: c < 0,
    "<=": lambda c: c <= 0,
    ">": lambda c: c > 0,
    ">=": lambda c: c >= 0,
}


class Empty(Exception):
    """`select` let nothing through: the expression has no output, so it does not match."""


class NotFast(Exception):
    """A construct outside the subset: the whole expression runs in jq."""


def constant(value: Any) -> Fn:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _BIG:
        raise NotFast
    return lambda _document: value


def field(name: str) -> Fn:
    def get(value: Any) -> Any:
        if isinstance(value, dict):
            return value.get(name)
        if value is None:
            return None
        raise EvalError(f"Cannot index {_type(value)} with string ({_json(name)})")

    return get


def item(index: int) -> Fn:
    def get(value: Any) -> Any:
        if isinstance(value, list):
            try:
                return value[index]
            except IndexError:
                return None
        if value is None:
            return None
        raise EvalError(f"Cannot index {_type(value)} with number ({index})")

    return get


def chain(steps: list[Fn]) -> Fn:
    if not steps:
        return lambda value: value
    if len(steps) == 1:
        return steps[0]
    if len(steps) == 2:
        first, second = steps
        return lambda value: second(first(value))

    def walk(value: Any) -> Any:
        for step in steps:
            value = step(value)
        return value

    return walk


def then(first: Fn, second: Fn) -> Fn:
    return lambda value: second(first(value))


def either(left: Fn, right: Fn) -> Fn:
    return lambda value: truthy(left(value)) or truthy(right(value))


def both(left: Fn, right: Fn) -> Fn:
    return lambda value: truthy(left(value)) and truthy(right(value))


def select(condition: Fn) -> Fn:
    def select(value: Any) -> Any:
        if truthy(condition(value)):
            return value
        raise Empty

    return select


def compare(op: str, left: Fn, right: Fn) -> Fn:
    if op == "==":
        return lambda value: _equal(left(value), right(value))
    if op == "!=":
        return lambda value: not _equal(left(value), right(value))
    judge = _COMPARE[op]
    return lambda value: judge(_order(left(value), right(value)))


def truthy(value: Any) -> bool:
    return value is not None and value is not False


def _rank(value: Any) -> int:
    """jq's order of types; a value JSON has no type for (bytes, a decimal, a time) is jq's to judge."""
    if value is None:
        return 0
    if value is False:
        return 1
    if value is True:
        return 2
    kind = type(value)
    if kind is int:
        if abs(value) > _BIG:
            raise Slow
        return 3
    if kind is float:
        return 3
    if kind is str:
        return 4
    if kind is list:
        return 5
    if kind is dict:
        return 6
    raise Slow


def _equal(left: Any, right: Any) -> bool:
    rank = _rank(left)
    if rank != _rank(right):
        return False
    if rank == 5:
        return len(left) == len(right) and all(_equal(a, b) for a, b in zip(left, right, strict=True))
    if rank == 6:
        return left.keys() == right.keys() and all(_equal(item, right[key]) for key, item in left.items())
    return bool(left == right)


def _order(left: Any, right: Any) -> int:
    """-1, 0 or 1 as jq orders the two values (arrays and objects against their own kind: jq's)."""
    left_rank, right_rank = _rank(left), _rank(right)
    if left_rank != right_rank:
        return -1 if left_rank < right_rank else 1
    if left_rank >= 5:
        raise Slow
    if left_rank < 3:
        return 0
    return -1 if left < right else (1 if left > right else 0)


def regex_test(pattern: str, flags: str) -> Fn:
    if flags not in ("", "i") or _SAFE_REGEX.fullmatch(pattern) is None:
        raise NotFast
    try:
        compiled = re.compile(pattern, re.IGNORECASE if flags else 0)
    except re.error:
        raise NotFast from None
    search = compiled.search

    def test(value: Any) -> bool:
        if type(value) is not str:
            _rank(value)
            raise EvalError(f"{_type(value)} ({_json(value)}) cannot be matched, as it is not a string")
        return search(value) is not None

    return test


def _contains(needle: str) -> Fn:
    def contains(value: Any) -> bool:
        if type(value) is str:
            return needle in value
        _rank(value)
        raise EvalError(
            f"{_type(value)} ({_json(value)}) and string ({_json(needle)}) cannot have their containment checked"
        )

    return contains


def _affix(name: str, check: Callable[[str, str], bool]) -> Callable[[str], Fn]:
    def make(affix: str) -> Fn:
        def judge(value: Any) -> bool:
            if type(value) is not str:
                _rank(value)
                raise EvalError(f"{name}() requires string inputs")
            return check(value, affix)

        return judge

    return make


STRING_CALLS: dict[str, Callable[[str], Fn]] = {
    "contains": _contains,
    "startswith": _affix("startswith", str.startswith),
    "endswith": _affix("endswith", str.endswith),
}
_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}


def _not(value: Any) -> bool:
    return not truthy(value)


def _downcase(value: Any) -> str:
    if type(value) is not str:
        _rank(value)
        raise EvalError("explode input must be a string")
    return value.translate(_LOWER)


def _length(value: Any) -> Any:
    rank = _rank(value)
    if rank == 0:
        return 0
    if rank in (1, 2):
        raise EvalError(f"boolean ({_json(value)}) has no length")
    if rank == 3:
        return abs(value)
    return len(value)


PLAIN: dict[str, Fn] = {"not": _not, "ascii_downcase": _downcase, "length": _length}


def _type(value: Any) -> str:
    return ("null", "boolean", "boolean", "number", "string", "array", "object")[_rank(value)]


def _json(value: Any) -> str:
    """A value as jq shows it in an error: compact JSON of at most 29 characters, cut as jq cuts it."""
    text = orjson.dumps(value).decode("utf-8")
    if len(text) <= 29:
        return text
    return text[:25] + "..." + (text[-1] if text[-1] in '"]}' else "")
