"""Simple jq expressions evaluated in Python, with jq's semantics, because jq itself spends ~10 us
parsing each document and a search of a million messages must keep up with the broker.

The subset: paths (`.value.order_id`, `.headers["x-id"]`, `.items[0]`), literals, `== != < <= > >=`
(jq's order: null < false < true < numbers < strings < arrays < objects), `and`, `or`, `|`, parentheses,
and the calls `not`, `select(f)`, `test(re)`/`test(re; "i")`, `contains(s)`, `startswith(s)`,
`endswith(s)`, `ascii_downcase`, `length`. `compile_fast` answers None for anything else, and the
expression runs in jq. Where the subset meets what only jq judges exactly (a value that is not JSON, a
number beyond 2^53, an array ordered against an array) it raises `Slow` and that one document goes to
jq. An error jq would raise is `EvalError`, with jq's words. jq's value semantics live in `jqvalues`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson

from mqtui.services.search import jqvalues as jv
from mqtui.services.search.jqvalues import Fn

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


def compile_fast(program: str) -> Callable[[Any], bool] | None:
    """A Python verdict for `program`, or None when it is outside the subset."""
    try:
        tokens = _tokens(program)
        parser = _Parser(tokens)
        evaluate = parser.pipe()
        if parser.peek() is not None:
            return None
    except jv.NotFast:
        return None

    def verdict(document: Any) -> bool:
        try:
            return jv.truthy(evaluate(document))
        except jv.Empty:
            return False

    return verdict


def _tokens(program: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    end = len(program.rstrip())
    while position < end:
        found = _TOKEN.match(program, position)
        if found is None or found.end() == position:
            raise jv.NotFast
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
            raise jv.NotFast
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
            stage = jv.then(stage, self.disjunction())
        return stage

    def disjunction(self) -> Fn:
        left = self.conjunction()
        while self.accept("or"):
            left = jv.either(left, self.conjunction())
        return left

    def conjunction(self) -> Fn:
        left = self.comparison()
        while self.accept("and"):
            left = jv.both(left, self.comparison())
        return left

    def comparison(self) -> Fn:
        left = self.term()
        token = self.peek()
        if token is not None and token[0] == "op" and token[1] in ("==", "!=", "<", "<=", ">", ">="):
            self.at += 1
            return jv.compare(token[1], left, self.term())
        return left

    def term(self) -> Fn:
        kind, text = self.take()
        if kind == "num":
            return jv.constant(orjson.loads(text))
        if kind == "str":
            return jv.constant(_string(text))
        following = self.peek()
        if text == "-" and following is not None and following[0] == "num":
            self.at += 1
            return jv.constant(-orjson.loads(following[1]))
        if text == "(":
            inner = self.pipe()
            self.take(")")
            return inner
        if kind == "field" or text == ".":
            return self.path(jv.field(text[1:]) if kind == "field" else None)
        if kind == "word":
            return self.call(text)
        raise jv.NotFast

    def path(self, first: Fn | None) -> Fn:
        steps: list[Fn] = [first] if first is not None else []
        while True:
            token = self.peek()
            if token is None:
                break
            if token[0] == "field":
                self.at += 1
                steps.append(jv.field(token[1][1:]))
            elif token[1] == "[" or (token[1] == "." and self._next_is("[", "str")):
                if token[1] == ".":
                    self.at += 1
                steps.append(self.index())
            elif token[0] == "str" and not steps and first is None:
                self.at += 1
                steps.append(jv.field(_string(token[1])))
            else:
                break
        return jv.chain(steps)

    def _next_is(self, *texts: str) -> bool:
        following = self.tokens[self.at + 1] if self.at + 1 < len(self.tokens) else None
        return following is not None and (following[1] in texts or following[0] in texts)

    def index(self) -> Fn:
        token = self.peek()
        if token is not None and token[0] == "str":
            self.at += 1
            return jv.field(_string(token[1]))
        self.take("[")
        kind, text = self.take()
        negative = False
        if text == "-":
            negative, (kind, text) = True, self.take()
        self.take("]")
        if kind == "str" and not negative:
            return jv.field(_string(text))
        if kind == "num" and text.isdigit():
            return jv.item(-int(text) if negative else int(text))
        raise jv.NotFast

    def call(self, name: str) -> Fn:
        if name in jv.PLAIN:
            return jv.PLAIN[name]
        if name in ("true", "false", "null"):
            return jv.constant({"true": True, "false": False, "null": None}[name])
        self.take("(")
        if name == "select":
            condition = self.pipe()
            self.take(")")
            return jv.select(condition)
        argument = self._string_argument()
        if name == "test":
            flags = self._string_argument() if self.accept(";") else ""
            self.take(")")
            return jv.regex_test(argument, flags)
        self.take(")")
        if name in jv.STRING_CALLS:
            return jv.STRING_CALLS[name](argument)
        raise jv.NotFast

    def _string_argument(self) -> str:
        kind, text = self.take()
        if kind != "str":
            raise jv.NotFast
        return _string(text)


def _string(literal: str) -> str:
    value = orjson.loads(literal)
    assert isinstance(value, str)
    return value
