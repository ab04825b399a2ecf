"""gateway.jsontext: orjson where it can, the standard library where it cannot."""

from __future__ import annotations

import json

from gateway import jsontext


def test_compact_utf8_text_that_json_reads_back_the_same() -> None:
    value = {"name": "Zoë", "n": [1, 2.5, None, True], "nested": {"k": "v"}}
    text = jsontext.dumps(value)
    assert text == '{"name":"Zoë","n":[1,2.5,null,true],"nested":{"k":"v"}}'
    assert json.loads(text) == value
    assert jsontext.dumps_bytes(value) == text.encode()


def test_what_orjson_cannot_encode_goes_through_json_unchanged() -> None:
    wide = {"id": 123456789012345678901234567890}  # over 64 bits: orjson refuses it
    assert json.loads(jsontext.dumps(wide)) == wide
    assert json.loads(jsontext.dumps({1: "a"})) == {"1": "a"}  # int keys, as json does
