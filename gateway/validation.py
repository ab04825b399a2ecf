"""Pydantic's validation errors as one line a person reads: `field.path: what is wrong`.

Every place that validates input (the admin API, OneInbox's webhooks and answers, the config
file, the settings, the hooks) names a problem this way, and never echoes the value.
"""

from __future__ import annotations

from pydantic import ValidationError
from pydantic_core import ErrorDetails

VALUE_ERROR = "Value error, "


def where(error: ErrorDetails, default: str = "body") -> str:
    """The dotted path of the field at fault (`default` when the problem is the whole input)."""
    return ".".join(str(part) for part in error["loc"]) or default


def what(error: ErrorDetails) -> str:
    """Pydantic's message without the `Value error, ` its validators' messages start with."""
    return str(error["msg"]).removeprefix(VALUE_ERROR)


def first_problem(exc: ValidationError, default: str = "body") -> str:
    """`where: what` of the first problem."""
    error = exc.errors()[0]
    return f"{where(error, default)}: {what(error)}"


def problems(exc: ValidationError, default: str = "body", *, most: int = 3) -> str:
    """`where: what` of the first `most` problems, separated by `; `."""
    return "; ".join(f"{where(error, default)}: {what(error)}" for error in exc.errors()[:most])
