"""structlog set-up, once at start, and the one processor that keeps secrets out of logs."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

import structlog

REDACTED = "[redacted]"

# Shapes of secrets that may turn up anywhere in a log line, whatever the key they sit under.
SECRET_PATTERNS = re.compile(
    r"oi_sk_[A-Za-z0-9_\-]+"  # OneInbox secret keys
    r"|xox[abposr]-[A-Za-z0-9\-]+"  # Slack tokens
    r"|whsec_[A-Za-z0-9+/=]+"  # Standard Webhooks secrets
    r"|eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+"  # JWTs: participant tokens
    r"|(?i:bearer|basic)\s+[A-Za-z0-9._~+/=\-]+"  # Authorization header values
)
# Secrets carried in a URL's query string (`?token=…`, `&access_token=…`).
SECRET_QUERY = re.compile(
    r"([?&](?:access_token|token|secret|signature|sig|api_key|key|password)=)[^&\s\"'#]+",
    re.IGNORECASE,
)
# Keys whose value is a secret whatever it looks like.
SECRET_KEYS = re.compile(
    r"(authorization|api_key|apikey|token|secret|password|signature|cookie|credential)",
    re.IGNORECASE,
)


class SecretRedactor:
    """A structlog processor: scrub known secret values and secret-shaped strings."""

    # Run-time secrets (tokens of recent calls) are kept in a bounded, oldest-first set so that
    # scrubbing stays cheap however many calls a process has seen; configured secrets are pinned.
    MAX_LEARNED = 256

    def __init__(self, known_secrets: Iterable[str] = ()) -> None:
        self._pinned: set[str] = {s for s in known_secrets if len(s) >= 6}
        self._learned: dict[str, None] = {}

    @property
    def _known(self) -> list[str]:
        return [*self._pinned, *self._learned]

    def pin(self, *secrets: str) -> None:
        """Always scrub these configured secrets."""
        self._pinned.update(s for s in secrets if s and len(s) >= 6)

    def add(self, *secrets: str) -> None:
        """Scrub these values too (e.g. a token learned at run time), up to MAX_LEARNED."""
        for secret in secrets:
            if not secret or len(secret) < 6 or secret in self._pinned:
                continue
            self._learned.pop(secret, None)
            self._learned[secret] = None
            while len(self._learned) > self.MAX_LEARNED:
                del self._learned[next(iter(self._learned))]

    def scrub(self, value: Any) -> Any:
        """Return `value` with every secret in it replaced, recursing into containers.

        Exceptions and other objects become their (scrubbed) text: a renderer would call
        their `repr`, which may hold a secret the redactor never saw.
        """
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, BaseException):
            value = f"{type(value).__name__}: {value}"
        elif not isinstance(value, str | dict | list | tuple):
            value = repr(value)
        if isinstance(value, str):
            for known in self._known:
                if known in value:
                    value = value.replace(known, REDACTED)
            value = SECRET_QUERY.sub(r"\1" + REDACTED, value)
            return SECRET_PATTERNS.sub(REDACTED, value)
        if isinstance(value, dict):
            return {k: self._scrub_item(k, v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.scrub(v) for v in value)
        return value

    def _scrub_item(self, key: Any, value: Any) -> Any:
        if isinstance(key, str) and SECRET_KEYS.search(key) and isinstance(value, str | bytes):
            return REDACTED
        return self.scrub(value)

    def __call__(
        self, logger: Any, method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key in list(event_dict):
            event_dict[key] = self._scrub_item(key, event_dict[key])
        return event_dict


redactor = SecretRedactor()

MAX_EXCEPTION_CHARS = 16_000


def render_exception(
    logger: Any, method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Turn `exc_info` into the plain formatted traceback, with no local variables.

    The text is kept (JSON logs too) and cut to its last `MAX_EXCEPTION_CHARS` characters,
    where the error is; the redactor runs after this, over the traceback text.
    """
    event_dict = structlog.processors.format_exc_info(logger, method, event_dict)
    text = event_dict.get("exception")
    if isinstance(text, str) and len(text) > MAX_EXCEPTION_CHARS:
        event_dict["exception"] = "…" + text[-MAX_EXCEPTION_CHARS:]
    return event_dict


def _stderr_logger(*args: Any) -> structlog.PrintLogger:
    # Looked up at each use, not bound once: tests (and daemons) may swap sys.stderr later.
    return structlog.PrintLogger(file=sys.stderr)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that always writes to the current `sys.stderr`."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def configure_logging(
    *,
    fmt: str | None = None,
    level: str = "info",
    secrets: Iterable[str] = (),
    cache: bool = False,
) -> None:
    """Configure structlog and the stdlib root logger once: JSON off a TTY, console on one.

    `cache`: each module's logger keeps its first bound form (the server's process, whose
    logging is configured once): without it every log call binds anew, measured at 1.5% of
    the event loop per hook. Tests that configure logging again and again leave it off.
    """
    redactor.pin(*secrets)
    if fmt is None:
        fmt = "console" if sys.stderr.isatty() else "json"
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        render_exception,
        redactor,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        # plain_traceback: never rich's, which prints every frame's local variables.
        else structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    )
    numeric_level = logging.getLevelNamesMapping()[level.upper()]
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=cache,
    )
    # Libraries that log through the stdlib (uvicorn, httpx, alembic) go through the same chain.
    handler = _StderrHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processor=renderer,
            foreign_pre_chain=[
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                render_exception,  # uvicorn's "Exception in ASGI application" included
                redactor,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(numeric_level)
    for noisy in ("httpx", "httpcore", "aiosqlite", "asyncio", "alembic"):
        logging.getLogger(noisy).setLevel(max(numeric_level, logging.WARNING))
    logging.getLogger("uvicorn.access").disabled = True  # the gateway logs requests itself
