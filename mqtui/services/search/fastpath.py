"""Simple jq expressions evaluated in Python, with jq's semantics, because jq itself spends ~10 us
parsing each document and a search of a million messages must keep up with the broker.

The subset: paths (`.value.order_id`, `.headers["x-id"]`, `.items[0]`), literals, `== != < <= > >=`
(jq's order: null < false < true < numbers < strings < arrays < objects), `and`, `or`, `|`, parentheses,
and the calls `not`, `select(f)`, `test(re)`/`test(re; "i")`, `contains(s)`, `startswith(s)`,
`endswith(s)`, `ascii_downcase`, `length`. `compile_fast` answers None for anything else, and the
expression runs in jq. Where the subset meets what only jq judges exactly (a value that is not JSON, a
number beyond 2^53, an array ordered against an array) it raises
`Slow` and that one document goes to jq. An error jq would raise is `EvalError`, with jq's words.
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


_TOKEN = re.compile(
    r"""\s*(?:
    (?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<str>"(?:[^"\\]|\\[^(])*")
  | (?P<field>\.[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|<|>|\||\(|\)|\[|\]|;|\.|-)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
)""",
    re.VERBOSE,
)
_SAFE_REGEX = re.compile(r"(?:[^\\\[(]|\\[dDwWsSbB]|\\[^A-Za-z0-9]|\[(?:[^\]\\\[]|\\[dDwWs\W])*\]|\((?!\?))*")
_BIG = 2**53
_COMPARE: dict[str, Callable[[int], bool]] = {
    "<": lambda c: c < 0,
    "<=": lambda c: c <= 0,
    ">": lambda c: c > 0,
    ">=": lambda c: c >= 0,
}


class _Empty(Exception):
    """`select` let nothing through: the expression has no output, so it does not match."""


class _NotFast(Exception):
    """A construct outside the subset: the whole expression runs in jq."""


def compile_fast(program: str) -> Callable[[Any], bool] | None:
    """A Python verdict for `program`, or None when it is outside the subset."""
    try:
        tokens = _tokens(program)
        parser = _Parser(tokens)
        evaluate = parser.pipe()
        if parser.peek() is not None:
            return None
    except _NotFast:
        return None

    def verdict(document: Any) -> bool:
        try:
            return _truthy(evaluate(document))
        except _Empty:
            return False

    return verdict


def _tokens(program: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    end = len(program.rstrip())
    while position < end:
        found = _TOKEN.match(program, position)
        if found is None or found.end() == position:
            raise _NotFast
        kind = found.lastgroup
        assert kind is not None
        tokens.append((kind, found.group(kind)))
        position = found.end()
    return tokens


class _Parser:
    """Recursive descent over the subset, building closures; precedence as jq's: `|` < or < and < compare."""

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.at = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, text: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (text is not None and token[1] != text):
            raise _NotFast
        self.at += 1
        return token

    def accept(self, text: str) -> bool:
        token = self.peek()
        if token is not None and token[1] == text and token[0] in ("op", "word"):
            self.at += 1
            return True
        return False

    def pipe(self) -> Fn:
        stage = self.disjunction()
        while self.accept("|"):
            stage = _then(stage, self.disjunction())
        return stage

    def disjunction(self) -> Fn:
        left = self.conjunction()
        while self.accept("or"):
            left = _or(left, self.conjunction())
        return left

    def conjunction(self) -> Fn:
        left = self.comparison()
        while self.accept("and"):
            left = _and(left, self.comparison())
        return left

    def comparison(self) -> Fn:
        left = self.term()
        token = self.peek()
        if token is not None and token[0] == "op" and token[1] in ("==", "!=", "<", "<=", ">", ">="):
            self.at += 1
            return _compare(token[1], left, self.term())
        return left

    def term(self) -> Fn:
        kind, text = self.take()
        if kind == "num":
            return _constant(orjson.loads(text))
        if kind == "str":
            return _constant(_string(text))
        following = self.peek()
        if text == "-" and following is not None and following[0] == "num":
            self.at += 1
            return _constant(-orjson.loads(following[1]))
        if text == "(":
            inner = self.pipe()
            self.take(")")
            return inner
        if kind == "field" or text == ".":
            return self.path(_field(text[1:]) if kind == "field" else None)
        if kind == "word":
            return self.call(text)
        raise _NotFast

    def path(self, first: Fn | None) -> Fn:
        steps: list[Fn] = [first] if first is not None else []
        while True:
            token = self.peek()
            if token is None:
                break
            if token[0] == "field":
                self.at += 1
                steps.append(_field(token[1][1:]))
            elif token[1] == "[" or (token[1] == "." and self._next_is("[", "str")):
                if token[1] == ".":
                    self.at += 1
                steps.append(self.index())
            elif token[0] == "str" and not steps and first is None:
                self.at += 1
                steps.append(_field(_string(token[1])))
            else:
                break
        return _chain(steps)

    def _next_is(self, *texts: str) -> bool:
        following = self.tokens[self.at + 1] if self.at + 1 < len(self.tokens) else None
        return following is not None and (following[1] in texts or following[0] in texts)

    def index(self) -> Fn:
        token = self.peek()
        if token is not None and token[0] == "str":
            self.at += 1
            return _field(_string(token[1]))
        self.take("[")
        kind, text = self.take()
        negative = False
        if text == "-":
            negative, (kind, text) = True, self.take()
        self.take("]")
        if kind == "str" and not negative:
            return _field(_string(text))
        if kind == "num" and text.isdigit():
            return _item(-int(text) if negative else int(text))
        raise _NotFast

    def call(self, name: str) -> Fn:
        if name in _PLAIN:
            return _PLAIN[name]
        if name in ("true", "false", "null"):
            return _constant({"true": True, "false": False, "null": None}[name])
        self.take("(")
        if name == "select":
            condition = self.pipe()
            self.take(")")
            return _select(condition)
        argument = self._string_argument()
        if name == "test":
            flags = self._string_argument() if self.accept(";") else ""
            self.take(")")
            return _test(argument, flags)
        self.take(")")
        if name in _STRING_CALLS:
            return _STRING_CALLS[name](argument)
        raise _NotFast

    def _string_argument(self) -> str:
        kind, text = self.take()
        if kind != "str":
            raise _NotFast
        return _string(text)


def _string(literal: str) -> str:
    value = orjson.loads(literal)
    assert isinstance(value, str)
    return value


def _constant(value: Any) -> Fn:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _BIG:
        raise _NotFast
    return lambda _document: value


def _field(name: str) -> Fn:
    def get(value: Any) -> Any:
        if isinstance(value, dict):
            return value.get(name)
        if value is None:
            return None
        raise EvalError(f"Cannot index {_type(value)} with string ({_json(name)})")

    return get


def _item(index: int) -> Fn:
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


def _chain(steps: list[Fn]) -> Fn:
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


def _then(first: Fn, second: Fn) -> Fn:
    return lambda value: second(first(value))


def _or(left: Fn, right: Fn) -> Fn:
    return lambda value: _truthy(left(value)) or _truthy(right(value))


def _and(left: Fn, right: Fn) -> Fn:
    return lambda value: _truthy(left(value)) and _truthy(right(value))


def _select(condition: Fn) -> Fn:
    def select(value: Any) -> Any:
        if _truthy(condition(value)):
            return value
        raise _Empty

    return select


def _compare(op: str, left: Fn, right: Fn) -> Fn:
    if op == "==":
        return lambda value: _equal(left(value), right(value))
    if op == "!=":
        return lambda value: not _equal(left(value), right(value))
    judge = _COMPARE[op]
    return lambda value: judge(_order(left(value), right(value)))


def _truthy(value: Any) -> bool:
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


def _test(pattern: str, flags: str) -> Fn:
    if flags not in ("", "i") or _SAFE_REGEX.fullmatch(pattern) is None:
        raise _NotFast
    try:
        compiled = re.compile(pattern, re.IGNORECASE if flags else 0)
    except re.error:
        raise _NotFast from None
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


_STRING_CALLS: dict[str, Callable[[str], Fn]] = {
    "contains": _contains,
    "startswith": _affix("startswith", str.startswith),
    "endswith": _affix("endswith", str.endswith),
}
_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}


def _not(value: Any) -> bool:
    return not _truthy(value)


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


_PLAIN: dict[str, Fn] = {"not": _not, "ascii_downcase": _downcase, "length": _length}


def _type(value: Any) -> str:
    return ("null", "boolean", "boolean", "number", "string", "array", "object")[_rank(value)]


def _json(value: Any) -> str:
    """A value as jq shows it in an error: compact JSON of at most 29 characters, cut as jq cuts it."""
    text = orjson.dumps(value).decode("utf-8")
    if len(text) <= 29:
        return text
    return text[:25] + "..." + (text[-1] if text[-1] in '"]}' else "")
