"""JSON from peers we do not control, parsed within a size and a nesting bound.

`json.loads` has no limits of its own: a megabyte of `[` raises `RecursionError` from deep in
the decoder (which callers catching `ValueError` do not expect, so a stream connection or a
websocket died of it), and a large document costs memory in proportion. Every JSON text that
arrives from an upstream platform or a websocket client goes through `loads` here instead,
which answers either the parsed value or `JSONRejected` (a `ValueError`) with a short reason.
"""

from __future__ import annotations

import json

__all__ = ["JSONRejected", "loads", "MAX_DEPTH", "MAX_BYTES"]

# Upstream documents nest a handful of levels (HAL pages: 5); anything deeper is hostile.
MAX_DEPTH = 32
# An Action Network page of 25 fundraising pages is ~40 KB; a P2P page of 100 gifts ~60 KB.
MAX_BYTES = 8 * 1024 * 1024


class JSONRejected(ValueError):
    """The text is not JSON we accept: malformed, too large or nested too deeply."""


def loads(text: str | bytes, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> object:
    """Parse `text`, refusing more than `max_bytes` or more than `max_depth` levels of nesting."""
    if len(text) > max_bytes:
        raise JSONRejected(f"JSON text of {len(text)} bytes is larger than {max_bytes}")
    # Cheap upper bound first: nesting needs brackets, and most texts have few of them.
    if _bracket_count(text) > max_depth and _deeper_than(text, max_depth):
        raise JSONRejected(f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except RecursionError:  # pragma: no cover - the depth check above runs first
        raise JSONRejected("JSON nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise JSONRejected(f"not valid JSON: {str(error)[:80]}") from None


def _bracket_count(text: str | bytes) -> int:
    if isinstance(text, bytes):
        return text.count(b"[") + text.count(b"{")
    return text.count("[") + text.count("{")


def _deeper_than(text: str | bytes, limit: int) -> bool:
    """Whether `[`/`{` outside strings nest deeper than `limit` (a scan that stops once so)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False
