"""Reading an XML body safely: defusedxml's parser, a depth bound, and no recursion anywhere.

defusedxml refuses entity expansion and external references. The depth bound is enforced
while parsing (the tree is never built past it), and `walk` visits a tree with an explicit
stack, so no document can exhaust Python's stack however it nests.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from gateway.http.errors import HTTPProblem

MAX_XML_DEPTH = 32  # a Salesforce Outbound Message is 6 levels deep, an sObject a few more


class _TooDeep(Exception):
    pass


class _BoundedBuilder:
    """An ElementTree parser target that refuses to open an element past `max_depth`."""

    def __init__(self, max_depth: int) -> None:
        self._builder = TreeBuilder()
        self._depth = 0
        self._max_depth = max_depth

    def start(self, tag: str, attrs: dict[str, str]) -> Element:
        self._depth += 1
        if self._depth > self._max_depth:
            raise _TooDeep
        return self._builder.start(tag, attrs)

    def end(self, tag: str) -> Element:
        self._depth -= 1
        return self._builder.end(tag)

    def data(self, data: str) -> None:
        self._builder.data(data)

    def close(self) -> Element:
        return self._builder.close()


def parse_xml(raw: bytes, *, max_depth: int = MAX_XML_DEPTH) -> Element:
    """The document's root element; 400 `malformed_xml` or `xml_too_deep` otherwise."""
    parser: Any = DefusedXMLParser(
        target=_BoundedBuilder(max_depth),
        forbid_dtd=False,
        forbid_entities=True,
        forbid_external=True,
    )
    try:
        parser.feed(raw)
        root: Element = parser.close()
    except _TooDeep:
        raise HTTPProblem(
            400, "xml_too_deep", f"the XML nests deeper than {max_depth} levels"
        ) from None
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise HTTPProblem(400, "malformed_xml", f"the body is not acceptable XML: {exc}") from None
    return root


def walk(root: Element) -> Iterator[tuple[Element, Element | None]]:
    """Every element with its parent, parents first, without recursion."""
    stack: list[tuple[Element, Element | None]] = [(root, None)]
    while stack:
        element, parent = stack.pop()
        yield element, parent
        stack.extend((child, element) for child in reversed(element))
