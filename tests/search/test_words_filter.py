"""The tail's plain-words filter reads terms as `search --where` does, and still matches raw bytes."""

from __future__ import annotations

from mqtui.model import Message
from mqtui.services.search.words import parse_words
from mqtui.services.tailer import MessageFilter

LINE = 'ada "two words" key:K-1 h:Trace header:Tenant=ACME customer.id=42'


def test_filter_holds_the_terms_search_parses() -> None:
    words = MessageFilter.parse(LINE)
    terms = parse_words(LINE)
    assert words.text == tuple((t.wanted or "").encode() for t in terms if t.kind == "value")
    assert words.text == (b"ada", b"two words")
    assert words.key == (b"k-1",)
    assert words.headers == ((b"trace", None), (b"tenant", b"acme"))
    assert words.fields == ((("customer", "id"), b"42"),)


def test_binary_payload_matches_the_words_its_row_shows() -> None:
    message = Message("b", "d", None, 1, None, None, b"\x00\xffORDER-7\x01 shipped", (("X-Trace", b"Ab1"),))
    assert MessageFilter.parse("order-7 SHIPPED header:x-trace=ab1").matches(message)
    assert not MessageFilter.parse("order-7 header:x-tenant").matches(message)
