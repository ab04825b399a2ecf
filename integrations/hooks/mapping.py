"""Field mapping: JMESPath expressions over `{body, headers, query}` of one request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

SCALARS = (str, int, float, bool)


class MappingError(Exception):
    """A mapped field is missing or has the wrong type; the message names the expression."""

    def __init__(self, expression: str, problem: str) -> None:
        super().__init__(f"`{expression}` {problem}")
        self.expression = expression


@dataclass(frozen=True)
class Expression:
    """A compiled JMESPath expression, kept with its source text for error messages."""

    source: str
    compiled: Any

    def search(self, document: Mapping[str, Any]) -> Any:
        """The value the expression picks out of `document` (None when absent)."""
        try:
            return self.compiled.search(document)
        except JMESPathError as exc:  # e.g. a function given the wrong type at run time
            raise MappingError(self.source, f"failed: {exc}") from None

    def value(self, document: Mapping[str, Any]) -> Any:
        """The picked value; a missing (null) value is an error."""
        found = self.search(document)
        if found is None:
            raise MappingError(self.source, "found nothing in the request")
        return found

    def scalar(self, document: Mapping[str, Any]) -> str | int | float | bool:
        """A string, number or boolean."""
        found = self.value(document)
        if not isinstance(found, SCALARS):
            raise MappingError(self.source, f"gave {_kind(found)}, expected a string or number")
        return found

    def text(self, document: Mapping[str, Any]) -> str:
        """A non-empty string (numbers are written out as text)."""
        found = self.scalar(document)
        if isinstance(found, bool):
            raise MappingError(self.source, "gave a boolean, expected a string")
        text = str(found).strip()
        if not text:
            raise MappingError(self.source, "gave an empty string")
        return text


def compile_expression(source: str) -> Expression:
    """Compile `source`; raises `ValueError` with JMESPath's own explanation."""
    if not isinstance(source, str) or not source.strip():
        raise ValueError("must be a non-empty JMESPath expression")
    try:
        return Expression(source, jmespath.compile(source))
    except JMESPathError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"not a valid JMESPath expression ({first_line})") from None


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def map_fields(
    expressions: Mapping[str, Expression], document: Mapping[str, Any], *, scalars: bool
) -> dict[str, Any]:
    """Evaluate every expression; `scalars` requires each value to be a string or number."""
    out: dict[str, Any] = {}
    for name, expression in expressions.items():
        value = expression.scalar(document) if scalars else expression.value(document)
        out[name] = value
    return out
