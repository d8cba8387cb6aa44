"""Payloads without a schema: JSON, MessagePack, CBOR, base64 text, and gzip/zstd/snappy/lz4
compression around any of them.

`detect` is the automatic guess, by cheap signs first (a compression magic number, a JSON opening
brace, a MessagePack or CBOR map or array marker) so plain text costs one or two byte checks. JSON
text on its own stays text (as mqtui always showed and wrote it: `--decode json` makes it a tree);
an envelope in it is read, and JSON found inside compression or base64 is decoded;
`forced` reads a payload as the format `--decode FORMAT` names. Decompression is bounded (a small
payload must not expand into gigabytes on an on-call laptop).
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from typing import Any

import orjson

from mqtui.model import Decoded
from mqtui.services.decoding.envelopes import envelope_of

MAX_EXPANDED = 16 * 1024 * 1024
"""Largest decompressed payload read; a bigger one is shown raw with the reason."""

_GZIP = b"\x1f\x8b"
_ZSTD = b"\x28\xb5\x2f\xfd"
_SNAPPY_FRAMED = b"\xff\x06\x00\x00sNaPpY"
_LZ4_FRAME = b"\x04\x22\x4d\x18"
_BASE64 = re.compile(rb"[A-Za-z0-9+/]{12,}={0,2}|[A-Za-z0-9_-]{12,}={0,2}")
_BASE64_STARTS = (b"H4sI", b"KLUv", b"BCJN", b"/wYA", b"_wYA", b"eyJ", b"WyJ", b"W3", b"g", b"3")
"""How base64 of what `detect` reads begins (gzip, zstd, lz4 and snappy frames, a JSON object or array,
a MessagePack map): other text is never tried as base64, so a plain word costs one prefix check."""
_MAP_OR_ARRAY = frozenset(range(0x80, 0xA0)) | {0xDC, 0xDD, 0xDE, 0xDF}
"""MessagePack fixmap, fixarray, array16/32, map16/32: a scalar alone is not worth calling MessagePack."""
_CBOR_MAP_OR_ARRAY = frozenset(range(0x80, 0xC0))


WORTH_A_LOOK = bytes(
    2 if b == 0x7B else 1 if b in _MAP_OR_ARRAY or b in _CBOR_MAP_OR_ARRAY or b == 0x00
    or any(p[0] == b for p in (_GZIP, _ZSTD, _SNAPPY_FRAMED, _LZ4_FRAME, *_BASE64_STARTS)) else 0
    for b in range(256)
)  # fmt: skip
"""By first byte: 1 where `detect` (or registry framing, 0x00) may find something, 0 where it cannot,
2 for "{": JSON text, read only when `maybe_envelope` (plain JSON stays text)."""


def maybe_envelope(data: bytes) -> bool:
    return b'"payload"' in data or b'"original_message"' in data


class TooBig(ValueError):
    pass


def _bounded(decompress: Any, data: bytes) -> bytes:
    """Decompress into a buffer of bounded size (cramjam's `decompress_into`): a bomb fails, never grows."""
    size = min(max(64 * len(data), 1 << 16), MAX_EXPANDED)
    while True:
        buffer = bytearray(size)
        try:
            written = decompress(data, buffer)
        except Exception:
            if size >= MAX_EXPANDED:
                raise
            size = min(size * 8, MAX_EXPANDED)
            continue
        if written < size:
            return bytes(buffer[:written])
        if size >= MAX_EXPANDED:
            raise TooBig(f"expands beyond {MAX_EXPANDED // (1 << 20)} MB")
        size = min(size * 8, MAX_EXPANDED)


def gunzip(data: bytes) -> bytes:
    inflater = zlib.decompressobj(wbits=47)  # gzip or zlib header
    out = inflater.decompress(data, MAX_EXPANDED)
    if inflater.unconsumed_tail:
        raise TooBig(f"expands beyond {MAX_EXPANDED // (1 << 20)} MB")
    return out


def decompress(kind: str, data: bytes) -> bytes:
    import cramjam

    if kind == "gzip":
        return gunzip(data)
    if kind == "zstd":
        return _bounded(cramjam.zstd.decompress_into, data)
    if kind == "lz4":
        return _bounded(cramjam.lz4.decompress_into, data)
    if data.startswith(_SNAPPY_FRAMED):
        return _bounded(cramjam.snappy.decompress_into, data)
    return _bounded(cramjam.snappy.decompress_raw_into, data)


def _compression(data: bytes) -> str | None:
    if data.startswith(_GZIP):
        return "gzip"
    if data.startswith(_ZSTD):
        return "zstd"
    if data.startswith(_SNAPPY_FRAMED):
        return "snappy"
    if data.startswith(_LZ4_FRAME):
        return "lz4"
    return None


def detect(data: bytes, depth: int = 0) -> Decoded | None:
    """The automatic reading of an unframed payload, or None when it is plain text or opaque bytes
    (shown as before: text, or hex)."""
    if not data:
        return None
    first = data[0]
    if first in (0x7B, 0x5B):  # { or [
        if depth == 0 and not (first == 0x7B and maybe_envelope(data)):
            return None  # JSON text stays text, as mqtui always showed and wrote it; envelopes are read
        try:
            found = Decoded("json", _plain_tree(orjson.loads(data)))
        except ValueError:  # orjson.JSONDecodeError is one; so is a tree too deep to show
            return None
        return found if depth or envelope_of(found.value) else None
    kind = _compression(data)
    if kind is not None and depth == 0:
        try:
            inner = decompress(kind, data)
        except Exception as exc:
            return Decoded(kind, error=f"{kind} payload that does not decompress: {_short(exc)}")
        inside = detect(inner, depth + 1)
        return Decoded(kind, _text_or_base64(inner)) if inside is None else _prefixed(kind, inside)
    packed = _msgpack(data) if first in _MAP_OR_ARRAY else None
    if packed is not None:
        return packed
    if first in _CBOR_MAP_OR_ARRAY:
        return _cbor(data)
    if depth == 0 and data.startswith(_BASE64_STARTS) and _BASE64.fullmatch(data):
        try:
            inner = base64.b64decode(data, altchars=b"-_" if b"-" in data or b"_" in data else None, validate=True)
        except (binascii.Error, ValueError):
            return None
        inside = detect(inner, depth + 1)
        return _prefixed("base64", inside) if inside is not None else None
    return None


def forced(fmt: str, data: bytes) -> Decoded:
    """`data` read as `fmt` (from `--decode FORMAT`), or the reason it is not."""
    try:
        if fmt == "json":
            return Decoded("json", _plain_tree(orjson.loads(data)))
        if fmt == "msgpack":
            import msgspec

            return Decoded("msgpack", _plain_tree(msgspec.msgpack.decode(data)))
        if fmt == "cbor":
            import cbor2

            return Decoded("cbor", _plain_tree(cbor2.loads(data)))
        if fmt == "text":
            return Decoded("text", data.decode("utf-8"))
        if fmt == "base64":
            inner = base64.b64decode(data.strip(), validate=False)
            found = detect(inner, 1)
            return _prefixed("base64", found) if found else Decoded("base64", _text_or_base64(inner))
        if fmt in ("gzip", "zstd", "snappy", "lz4"):
            inner = decompress(fmt, data)
            found = detect(inner, 1)
            return _prefixed(fmt, found) if found else Decoded(fmt, _text_or_base64(inner))
    except Exception as exc:
        return Decoded(fmt, error=f"not {fmt}: {_short(exc)}")
    return Decoded(fmt, error=f"{fmt} needs a schema (registry framing or a local schema)")


def _msgpack(data: bytes) -> Decoded | None:
    import msgspec

    try:
        return Decoded("msgpack", _plain_tree(msgspec.msgpack.decode(data)))
    except Exception:
        return None


def _cbor(data: bytes) -> Decoded | None:
    import cbor2

    try:
        value = cbor2.loads(data)
        return Decoded("cbor", _plain_tree(value)) if isinstance(value, (dict, list)) else None
    except Exception:
        return None


MAX_DEPTH = 200
"""Deepest tree kept: JSON writers (orjson stops at 254) and the detail view must be able to show it."""


def _plain_tree(value: Any, depth: int = 0) -> Any:
    """MessagePack and CBOR allow map keys JSON does not (numbers, bytes, arrays): make them text. A
    tree nested deeper than MAX_DEPTH is refused (ValueError), so it is shown raw with the reason."""
    if depth > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        return {k if isinstance(k, str) else str(k): _plain_tree(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_tree(v, depth + 1) for v in value]
    return value


def _text_or_base64(data: bytes) -> Any:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode("ascii")}


def _prefixed(step: str, found: Decoded) -> Decoded:
    return Decoded(f"{step}+{found.format}", found.value, error=found.error, envelope=found.envelope)


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]
