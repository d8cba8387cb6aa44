"""Hostile payloads, keys and headers: what a compromised or buggy producer can put in a message.

Every renderer, pane, CLI output and export must show each of these safely: no escape sequence reaching
the terminal, no markup interpreted, no crash. Sizes are kept as constructors so the big ones are only
built by the tests that need them.
"""

from __future__ import annotations

import json

ESC = "\x1b"
BEL = "\x07"

HOSTILE_TEXT: dict[str, str] = {
    "osc52_clipboard_write": f"{ESC}]52;c;cm0gLXJmIH4K{BEL}",
    "osc52_st_terminated": f"{ESC}]52;p;ZWNobyBwd25lZA=={ESC}\\",
    "osc0_title": f"{ESC}]0;pwned title{BEL}",
    "osc2_title": f"{ESC}]2;you have been hacked{BEL}",
    "osc8_hyperlink": f"{ESC}]8;;https://evil.example/{ESC}\\click me{ESC}]8;;{ESC}\\",
    "csi_clear_screen": f"{ESC}[2J{ESC}[H",
    "csi_colour": f"{ESC}[31;1mRED{ESC}[0m",
    "csi_cursor_up": f"line{ESC}[1A{ESC}[2Koverwritten",
    "csi_hide_cursor": f"{ESC}[?25l",
    "csi_alt_screen": f"{ESC}[?1049h",
    "csi_mouse_tracking": f"{ESC}[?1000h{ESC}[?1006h",
    "dcs_sequence": f"{ESC}Pq#0;2;0;0;0#1;2;100;100;0{ESC}\\",
    "c1_csi": "\x9b31mC1 red\x9b0m",
    "c1_osc": "\x9d0;c1 title\x9c",
    "device_status_report": f"{ESC}[6n",
    "bell": f"ding{BEL}{BEL}{BEL}",
    "carriage_return_overwrite": "harmless text\rEVIL",
    "backspaces": "password: hunter2\b\b\b\b\b\b\b*******",
    "form_feed_vertical_tab": "a\fb\vc",
    "nul_bytes": "before\x00after\x00",
    "delete_char": "abc\x7fdef",
    "rich_markup_bold": "[bold red]ALERT[/bold red]",
    "rich_markup_click_quit": "[@click=app.quit]click[/]",
    "rich_markup_click_action": "[@click=app.action_purge('orders')]free money[/]",
    "rich_markup_link": "[link=https://evil.example]docs[/link]",
    "rich_markup_unclosed": "[bold",
    "rich_markup_closing_only": "[/]",
    "rich_markup_escaped": "\\[not markup]",
    "textual_variable": "[$accent]accent[/]",
    "rich_emoji_code": ":warning: :fire:",
    "rtl_override": "invoice\u202egnp.exe",
    "rtl_isolates": "\u2067abc\u2069 \u2066def\u2069",
    "rtl_arabic": "مرحبا بالعالم",
    "rtl_hebrew": "שלום עולם",
    "zero_width": "zero\u200bwidth\u200djoiner\ufeff",
    "line_separator": "a\u2028b\u2029c",
    "emoji": "🔥🚀👩‍👩‍👧‍👦🇺🇦",
    "combining_marks": "Z̴̡̢͎͙̈́̆a̵͉̗͛l̸̰̈g̵̣̈́o̷̳̊",
    "wide_cjk": "全角文字テスト漢字",
    "tabs": "a\tb\t\tc",
    "newlines": "one\ntwo\nthree\r\n",
    "json_with_escapes": json.dumps({"msg": f"{ESC}[31mred{ESC}[0m", "markup": "[bold]x[/]"}),
    "json_unicode_escape_controls": '{"a": "\\u001b]52;c;aGk=\\u0007"}',
    "very_long_line": "x" * 100_000,
    "sql_like": "'; DROP TABLE messages; --",
    "html": "<script>alert(1)</script>",
    "percent_format": "%s%s%n%x {0} {{}}",
    "surrogate_escape_lookalike": "\\udcff\\x1b",
}

HOSTILE_BYTES: dict[str, bytes] = {
    "invalid_utf8": b"\xff\xfe\xfd",
    "truncated_utf8": b"caf\xc3",
    "overlong_utf8": b"\xc0\xaf\xe0\x80\xaf",
    "lone_surrogate_utf8": b"\xed\xa0\x80",
    "raw_c1_bytes": b"\x9b31m\x9d0;x\x9c",
    "utf8_c1": "\u009b31m".encode(),
    "binary_blob": bytes(range(256)),
    "gzip_header": b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03",
    "protobuf_like": b"\x08\x96\x01\x12\x07\x74\x65\x73\x74\x69\x6e\x67",
    "only_nul": b"\x00" * 64,
    # Schema-registry framing (magic 0, 4-byte id) around what cannot be read: decoders say why, show raw.
    "framed_unknown_schema_id": b"\x00\x7f\xff\xff\xff" + f"{ESC}]52;c;eA=={BEL}".encode(),
    "framed_header_only": b"\x00\x00\x00\x00\x01",
    "framed_short_header": b"\x00\x00\x01",
    "framed_protobuf_bad_index_list": b"\x00\x00\x00\x00\x02" + b"\xff" * 12,
    "framed_protobuf_absurd_index_count": b"\x00\x00\x00\x00\x02\xfe\xff\xff\xff\x0f\x02",
    "msgpack_nested_300": b"\x91" * 300 + b"\xc0",
    "msgpack_escape_in_map": b"\x81\xa3key\xa5" + f"{ESC}[2J".encode(),
    "cbor_nested_500": b"\x81" * 500 + b"\xf6",
    "gzip_truncated": b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xab\x56",
    "zstd_garbage": b"\x28\xb5\x2f\xfd" + b"\xff" * 16,
    "envelope_with_escapes": json.dumps({"id": 1, "type": f"{ESC}]0;t{BEL}", "payload": f"{ESC}[31m"}).encode(),
}


def deeply_nested_json(depth: int = 10_000) -> bytes:
    return b"[" * depth + b"]" * depth


def huge_value(size: int = 10 * 1024 * 1024) -> bytes:
    return (b"A" * 1023 + b"\n") * (size // 1024)


def many_headers(count: int = 10_000) -> tuple[tuple[str, bytes], ...]:
    return tuple((f"h{index}", f"{ESC}[31m{index}".encode()) for index in range(count))


def all_payloads() -> dict[str, bytes]:
    """Every small hostile payload as bytes (text ones UTF-8 encoded)."""
    payloads = {name: text.encode("utf-8", errors="surrogatepass") for name, text in HOSTILE_TEXT.items()}
    payloads.update(HOSTILE_BYTES)
    return payloads
