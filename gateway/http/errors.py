"""The one error body: `{"error": {"code", "message"}}`; never a stack trace, never a secret."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import JSONResponse

from gateway.logging import redactor


class HTTPProblem(Exception):
    """Raise from a handler to answer with the error body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def error_response(
    status: int, code: str, message: str, *, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """A JSON error answer; the message goes through the secret redactor first."""
    body = {"error": {"code": code, "message": redactor.scrub(message)}}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def problem_response(problem: HTTPProblem) -> JSONResponse:
    return error_response(problem.status, problem.code, problem.message, headers=problem.headers)
