"""JSON text the gateway writes (store columns, OneInbox requests): orjson, compact UTF-8.

orjson encodes in about a fifth of the standard library's time (the store's JSON columns were
1.6% of the event loop per hook). What it cannot encode (an integer wider than 64 bits) goes
through `json` instead, so nothing that encoded before fails now. Decoding stays with `json`:
orjson would turn such integers into floats.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS  # as `json`: int keys become strings


def dumps(value: Any) -> str:
    """`value` as compact JSON text."""
    return dumps_bytes(value).decode()


def dumps_bytes(value: Any) -> bytes:
    """`value` as compact UTF-8 JSON."""
    try:
        return orjson.dumps(value, option=_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError: e.g. an int over 64 bits
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return text.encode()
