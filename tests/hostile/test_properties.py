"""Property tests (hypothesis): the JSON and XML readers, the SSRF guard and the Slack grammar
never fail in any way but their own clear error, and accept what they should."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import math
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.delivery.ssrf import (
    METADATA_HOSTS,
    UnsafeCallbackURL,
    check_callback_url,
    is_forbidden_address,
)
from gateway.http.body import MAX_DEPTH, MAX_INT_DIGITS, parse_json
from gateway.http.errors import HTTPProblem
from gateway.http.xmlbody import MAX_XML_DEPTH, parse_xml, walk
from integrations.slack import grammar

# Examples per property; the sum is the fuzz figure quoted in the closing note.
EXAMPLES = 300
FAST = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- the JSON reader ---------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10 ** (MAX_INT_DIGITS - 1)), max_value=10 ** (MAX_INT_DIGITS - 1))
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
)
documents = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.text(st.characters(exclude_categories=("Cs",)), max_size=8), inner, max_size=4
        )
    ),
    max_leaves=30,
)


@FAST
@given(documents)
def test_every_strict_json_document_reads_back_the_same(document: Any) -> None:
    assert parse_json(json.dumps(document).encode()) == document


@FAST
@given(st.binary(max_size=300))
def test_any_bytes_either_parse_or_are_a_clear_400(raw: bytes) -> None:
    try:
        parse_json(raw)
    except HTTPProblem as problem:
        assert problem.status == 400 and problem.code and problem.message


@FAST
@given(st.text(alphabet='[]{}"a:,1 \\NaInfity.e-', max_size=200))
def test_json_shaped_junk_is_a_clear_400_or_a_value(text: str) -> None:
    try:
        value = parse_json(text.encode())
    except HTTPProblem as problem:
        assert problem.status == 400
    else:
        assert json.loads(json.dumps(value)) == value  # whatever passes, re-encodes cleanly


@FAST
@given(st.integers(min_value=1, max_value=3000), st.sampled_from(["[", '{"k":']))
def test_nesting_is_accepted_exactly_up_to_the_bound(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    raw = (opener * depth + "0" + closer * depth).encode()
    if depth <= MAX_DEPTH:
        parse_json(raw)
    else:
        with pytest.raises(HTTPProblem) as caught:
            parse_json(raw)
        assert caught.value.code == "json_too_deep"


@FAST
@given(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e999", "9" * 41, '"\\ud800"']))
def test_non_finite_numbers_and_lone_surrogates_are_refused_anywhere(bad: str) -> None:
    for raw in (bad, f"[{bad}]", f'{{"a": {{"b": [1, {bad}]}}}}'):
        with pytest.raises(HTTPProblem):
            parse_json(raw.encode())


# -- the XML reader ----------------------------------------------------------------------


@st.composite
def trees(draw: st.DrawFn) -> Element:
    root = Element("root")
    frontier = [(root, 1)]
    for _ in range(draw(st.integers(min_value=0, max_value=40))):
        parent, depth = draw(st.sampled_from(frontier))
        child = SubElement(parent, draw(st.sampled_from(["a", "b", "Id", "sObject"])))
        child.text = draw(
            st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=10)
        )
        frontier.append((child, depth + 1))
    return root


@FAST
@given(trees())
def test_walk_visits_every_element_once_parents_first(root: Element) -> None:
    parsed = parse_xml(tostring(root)) if _depth(root) <= MAX_XML_DEPTH else None
    if parsed is None:
        return
    seen = list(walk(parsed))
    assert len(seen) == len(list(parsed.iter()))
    positions = {id(element): index for index, (element, _) in enumerate(seen)}
    for element, parent in seen:
        if parent is not None:
            assert positions[id(parent)] < positions[id(element)]


@FAST
@given(st.integers(min_value=1, max_value=5000))
def test_xml_nesting_is_accepted_exactly_up_to_the_bound(depth: int) -> None:
    raw = ("<a>" * depth + "</a>" * depth).encode()
    if depth <= MAX_XML_DEPTH:
        assert len(list(walk(parse_xml(raw)))) == depth
    else:
        with pytest.raises(HTTPProblem) as caught:
            parse_xml(raw)
        assert caught.value.code == "xml_too_deep"


@FAST
@given(st.binary(max_size=300) | st.text(alphabet="<>/a =\"'!&;?x", max_size=200).map(str.encode))
def test_any_xml_body_parses_or_is_a_clear_400(raw: bytes) -> None:
    try:
        parse_xml(raw)
    except HTTPProblem as problem:
        assert problem.status == 400 and problem.code in ("malformed_xml", "xml_too_deep")


def _depth(root: Element) -> int:
    deepest, stack = 0, [(root, 1)]
    while stack:
        element, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in element)
    return deepest


# -- the SSRF guard ----------------------------------------------------------------------

internal_v4 = (
    st.sampled_from(
        [
            "127.0.0.0/8",
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "169.254.0.0/16",
            "100.64.0.0/10",
            "0.0.0.0/8",
        ]
    )
    .flatmap(
        lambda net: st.integers(
            min_value=int(ipaddress.ip_network(net)[0]),
            max_value=int(ipaddress.ip_network(net)[-1]),
        )
    )
    .map(ipaddress.IPv4Address)
)


def wrappings(v4: ipaddress.IPv4Address) -> list[str]:
    """The IPv6 spellings that carry `v4`: mapped, 6to4, NAT64, Teredo (client obfuscated)."""
    n = int(v4)
    return [
        f"::ffff:{v4}",
        str(ipaddress.IPv6Address((0x2002 << 112) | (n << 80) | 1)),
        str(ipaddress.IPv6Address((0x64FF9B << 96) | n)),
        str(ipaddress.IPv6Address((0x20010000 << 96) | (0x01020304 << 64) | (n ^ 0xFFFFFFFF))),
    ]


@FAST
@given(internal_v4)
def test_an_internal_ipv4_address_is_refused_in_every_ipv6_wrapping(
    v4: ipaddress.IPv4Address,
) -> None:
    assert is_forbidden_address(str(v4))
    for address in wrappings(v4):
        assert is_forbidden_address(address), address
        with pytest.raises(UnsafeCallbackURL):
            run(check_callback_url(f"https://[{address}]/cb", allow_private=False))


@FAST
@given(st.sampled_from(sorted(METADATA_HOSTS)), st.booleans())
def test_metadata_addresses_are_refused_even_when_private_ones_are_allowed(
    metadata: str, by_name: bool
) -> None:
    addresses = [metadata]
    if ":" not in metadata:
        addresses += wrappings(ipaddress.IPv4Address(metadata))
    for address in addresses:
        host = "meta.example" if by_name else (f"[{address}]" if ":" in address else address)

        async def stub(name: str, port: int, address: str = address) -> list[str]:
            return [address]

        with pytest.raises(UnsafeCallbackURL):
            run(check_callback_url(f"https://{host}/", allow_private=True, resolver=stub))


@FAST
@given(st.text(max_size=120), st.booleans())
def test_any_url_is_accepted_or_refused_with_a_reason_without_real_dns(
    url: str, private: bool
) -> None:
    looked_up: list[str] = []

    async def stub(name: str, port: int) -> list[str]:
        looked_up.append(name)
        return ["93.184.215.14"]

    try:
        addresses = run(check_callback_url(url, allow_private=private, resolver=stub))
    except UnsafeCallbackURL as refused:
        assert str(refused)
    else:
        assert addresses and all(not is_forbidden_address(a) or private for a in addresses)
    assert all(name and len(name) <= 253 for name in looked_up)


@FAST
@given(
    st.lists(
        st.sampled_from(["93.184.215.14", "10.0.0.1", "::1", "fec0::5", "8.8.8.8"]),
        min_size=1,
        max_size=4,
    )
)
def test_a_name_is_refused_if_any_of_its_addresses_is_internal(addresses: list[str]) -> None:
    async def stub(name: str, port: int) -> list[str]:
        return addresses

    internal = any(is_forbidden_address(a) for a in addresses)
    try:
        run(check_callback_url("https://receiver.example/cb", allow_private=False, resolver=stub))
    except UnsafeCallbackURL:
        assert internal
    else:
        assert not internal


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# -- the Slack grammar -------------------------------------------------------------------


@FAST
@given(st.text(max_size=300))
def test_any_command_text_parses_or_is_a_usage_error(text: str) -> None:
    try:
        grammar.parse(text)
    except grammar.UsageError as error:
        assert error.message


@FAST
@given(
    st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=60)
    | st.integers(min_value=-(10**3900), max_value=10**3900).map(str)
    | st.floats().map(str),
    st.sampled_from(sorted(k for k, t in grammar.AGENT_FIELDS.items() if t in (int, float))),
)
def test_numeric_agent_fields_are_finite_and_in_range_or_refused(raw: str, key: str) -> None:
    quoted = "'" + raw.replace("'", "") + "'"
    try:
        command = grammar.parse(f"agent set sales {key}={quoted}")
    except grammar.UsageError:
        return
    assert isinstance(command, grammar.AgentSetCommand)
    outer, _, inner = key.partition(".")
    value = command.fields[outer][inner] if inner else command.fields[outer]
    assert math.isfinite(value) and 0 <= value <= grammar.MAX_NUMBER


keys = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True)
values = st.text(
    st.characters(
        exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp"),
        exclude_characters="'\"\\<>&\u2018\u2019\u201c\u201d\u201e",
    ),
    min_size=1,
    max_size=15,
)


@FAST
@given(st.dictionaries(keys, values, max_size=5))
def test_call_variables_read_back_exactly(variables: dict[str, str]) -> None:
    text = "call sales " + " ".join(f"{k}='{v}'" for k, v in variables.items())
    command = grammar.parse(text)
    assert isinstance(command, grammar.CallCommand)
    assert command.agent == "sales" and command.variables == variables


def test_overlong_command_text_is_refused_before_it_is_read() -> None:
    with pytest.raises(grammar.UsageError, match="too long"):
        grammar.parse("call sales note=" + "x" * 900_000)
