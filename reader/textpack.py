"""How the store keeps long text small: the cleaned body deflated, the raw record as only what the
body cannot give back.

A seed record's raw text is its header line, then its body lines; the cleaned body is those lines
with the byline and boilerplate cut off. So the raw record is nearly always the body with a little
before and after it: kept as the body's offset in it and the (deflated) rest, it costs about 6% of
its bytes where it cost 100%. When the body is not one piece of the raw text (a feed entry's raw
is its markup), the raw text is deflated with the body as the dictionary, which still finds what
the two share. Every form gives the text back exactly, code point for code point.

A packed value is one tag byte, then its data:

- ``0``: UTF-8, as is (short text, where deflate would only add bytes);
- ``1``: raw deflate of the UTF-8;
- ``2`` (raw text only): the body's offset in the raw text as a varint, then the packed rest
  (the text before the body followed by the text after it, itself tag ``0`` or ``1``);
- ``3`` (raw text only): raw deflate of the UTF-8, with the body's UTF-8 as preset dictionary.

An empty text packs to empty bytes.
"""

from __future__ import annotations

import codecs
import zlib
from collections.abc import Callable

#: deflate's level: 1 is nearly as small as 6 on article text (0.488 against 0.471 of the bytes on
#: the synthetic corpus) and deflates about 30% faster, and the import's writer pays for it.
LEVEL = 1
#: Text shorter than this is kept as it is: deflate's own bytes would eat the gain.
MIN_DEFLATE = 64
#: Raw deflate: no zlib header or checksum (6 bytes a value). A damaged value mostly fails
#: inflate's own checks of the stream; SQLite's integrity checks cover the pages around it.
_WBITS = -15
#: What deflate is set up with. An article is a few kilobytes, and deflate's default state (a
#: 32 KiB window, memLevel 8) is 256 KiB that malloc maps and zeroes afresh for every call: 90 us
#: a call before the first byte, half of packing a 3.5 KB body. An 8 KiB window and memLevel 7
#: fit the heap, pack the same bodies to the same size (0.533 of their bytes) in 71 us against
#: 204. (Inflating with the full window reads what any window wrote.)
_DEFLATE_WBITS = -13
_MEM_LEVEL = 7
#: How much of the body (its end) is the preset dictionary: deflate uses the last window of it
#: (8 KiB), inflate keeps the last 32 KiB, which ends with the same bytes.
_WINDOW = 32 * 1024

PLAIN, DEFLATED, AROUND_BODY, BODY_DICTIONARY = 0, 1, 2, 3


class PackError(ValueError):
    """A packed value that cannot be read back (damaged, or not written by this module)."""


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")


def pack(text: str) -> bytes:
    """``text`` as the fewest bytes :func:`unpack` gives it back from."""
    if not text:
        return b""
    data = _utf8(text)
    if len(data) >= MIN_DEFLATE:
        squeeze = zlib.compressobj(LEVEL, zlib.DEFLATED, _DEFLATE_WBITS, _MEM_LEVEL)
        deflated = squeeze.compress(data) + squeeze.flush()
        if len(deflated) < len(data):
            return bytes((DEFLATED,)) + deflated
    return bytes((PLAIN,)) + data


def unpack(blob: bytes | None) -> str:
    """What :func:`pack` was given."""
    if not blob:
        return ""
    tag = blob[0]
    try:
        if tag == PLAIN:
            return _text(blob[1:])
        if tag == DEFLATED:
            return _text(zlib.decompress(blob[1:], _WBITS))
    except (zlib.error, UnicodeDecodeError) as exc:
        raise PackError(f"damaged packed text ({exc})") from None
    raise PackError(f"packed text with an unknown tag {tag}")


def unpack_start(blob: bytes | None, enough: Callable[[str], bool], step: int = 1024) -> str:
    """The start of what :func:`pack` was given: unpacked ``step`` bytes at a time until
    ``enough(text so far)`` or the end (a list row's snippet needs only the first lines of a body
    of many kilobytes)."""
    if not blob:
        return ""
    tag = blob[0]
    if tag not in (PLAIN, DEFLATED):
        raise PackError(f"packed text with an unknown tag {tag}")
    text = codecs.getincrementaldecoder("utf-8")("surrogatepass")
    out = ""
    try:
        if tag == PLAIN:
            for at in range(1, len(blob), step):
                out += text.decode(blob[at : at + step], final=at + step >= len(blob))
                if enough(out):
                    break
            return out
        inflate = zlib.decompressobj(_WBITS)
        data = blob[1:]
        while True:
            chunk = inflate.decompress(data, step)
            data = inflate.unconsumed_tail
            done = not data and not chunk
            out += text.decode(chunk, final=done)
            if done or enough(out):
                return out
    except (zlib.error, UnicodeDecodeError) as exc:
        raise PackError(f"damaged packed text ({exc})") from None


def pack_raw(raw: str, body: str) -> bytes:
    """The raw record as what ``body`` cannot give back; :func:`unpack_raw` with the same body
    returns ``raw``."""
    if not raw:
        return b""
    if body:
        at = raw.find(body)
        if at >= 0:
            rest = raw[:at] + raw[at + len(body) :]
            return bytes((AROUND_BODY,)) + _varint(at) + (pack(rest) or bytes((PLAIN,)))
        data = _utf8(raw)
        if len(data) >= MIN_DEFLATE:
            squeeze = zlib.compressobj(LEVEL, zlib.DEFLATED, _DEFLATE_WBITS, _MEM_LEVEL, zdict=_utf8(body)[-_WINDOW:])
            deflated = squeeze.compress(data) + squeeze.flush()
            if len(deflated) < len(data):
                return bytes((BODY_DICTIONARY,)) + deflated
    return pack(raw)


#: An article's long text packed: (body, body_html or None, raw), as the store keeps them.
PackedText = tuple[bytes, bytes | None, bytes]


def pack_article(body: str, body_html: str | None, raw: str) -> PackedText:
    """An article's body, sanitised HTML and raw record packed as the store keeps them. Deflating
    them is a third of storing a full-text article, so the parse workers do it (see
    :func:`reader.feedparse.parse_and_pack`) and the storing process only writes."""
    return pack(body), None if body_html is None else pack(body_html), pack_raw(raw, body)


def unpack_raw(blob: bytes | None, body: str) -> str:
    """The raw record :func:`pack_raw` was given with ``body``."""
    if not blob:
        return ""
    tag = blob[0]
    if tag == AROUND_BODY:
        at, start = _read_varint(blob, 1)
        rest = unpack(blob[start:])
        if at > len(rest):
            raise PackError("damaged packed record (the body's offset is past its end)")
        return rest[:at] + body + rest[at:]
    if tag == BODY_DICTIONARY:
        try:
            unsqueeze = zlib.decompressobj(_WBITS, zdict=_utf8(body)[-_WINDOW:])
            data = unsqueeze.decompress(blob[1:]) + unsqueeze.flush()
            if not unsqueeze.eof:
                raise zlib.error("cut off")
            return _text(data)
        except (zlib.error, UnicodeDecodeError) as exc:
            raise PackError(f"damaged packed record ({exc})") from None
    return unpack(blob)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        if n:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _read_varint(blob: bytes, start: int) -> tuple[int, int]:
    n = shift = 0
    for i in range(start, min(len(blob), start + 10)):
        n |= (blob[i] & 0x7F) << shift
        if not blob[i] & 0x80:
            return n, i + 1
        shift += 7
    raise PackError("damaged packed record (its offset is cut off)")
