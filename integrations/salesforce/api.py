"""An async client for the few Salesforce REST calls the write-back makes.

OAuth 2.0 client credentials flow against the org's My Domain (`SALESFORCE_LOGIN_URL`): the
token answer's `instance_url` is where the REST API lives. The token is cached and shared by
every delivery; a request answered `401 INVALID_SESSION_ID` (the org's session timeout, a
revoked session) gets one new token and is sent once more. The token and the client secret
are pinned in the log redactor and never put in an error message.

Why httpx and not `simple-salesforce`: that client is synchronous (requests), so every
write would hold a thread of the pool while the outbox is async; it would bring a second
HTTP stack with its own pool, timeouts and retry behaviour beside the one the gateway
already uses; and its session handling (raise `SalesforceExpiredSession`, the caller logs
in again) is the part we need to control anyway. `aiosalesforce` is async, but carries its
own retry policy that would fight the outbox's schedule. Four endpoints (token, create,
update, query) are a small surface to own; errors keep Salesforce's own `errorCode`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from gateway.http.retry_after import parse_retry_after
from gateway.logging import redactor

API_VERSION = "62.0"
TIMEOUT_SECONDS = 15.0


@dataclass
class SalesforceError(Exception):
    """Salesforce said no. `code` is its `errorCode` (REST) or `error` (OAuth)."""

    status: int | None
    code: str
    message: str
    fields: list[str] = field(default_factory=list)
    retry_after: float | None = None

    def __str__(self) -> str:
        where = f" ({', '.join(self.fields)})" if self.fields else ""
        status = f"HTTP {self.status} " if self.status is not None else ""
        return f"{status}{self.code}: {self.message}{where}"


class TokenRefused(SalesforceError):
    """The token endpoint refused the client credentials (`invalid_client`, …)."""


@dataclass(frozen=True)
class Session:
    access_token: str = field(repr=False)
    instance_url: str


def soql_quote(value: str) -> str:
    """A SOQL string literal: quotes and backslashes escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class SalesforceClient:
    """One connected app's access to one org; safe to share between concurrent deliveries."""

    def __init__(
        self,
        login_url: str,
        client_id: str,
        client_secret: str,
        *,
        http: httpx.AsyncClient,
        api_version: str = API_VERSION,
    ) -> None:
        self.login_url = login_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        redactor.pin(client_secret)
        self._http = http
        self.api_version = api_version
        self._session: Session | None = None
        self._lock = asyncio.Lock()
        self.tokens_fetched = 0

    async def create(self, sobject: str, fields: dict[str, Any]) -> str:
        """Create one record; its id."""
        path = f"/services/data/v{self.api_version}/sobjects/{sobject}/"
        body = await self._request("POST", path, json=fields)
        if not isinstance(body, dict) or not body.get("id"):
            raise SalesforceError(None, "UNEXPECTED_ANSWER", "create answered without an id")
        return str(body["id"])

    async def update(self, sobject: str, record_id: str, fields: dict[str, Any]) -> None:
        """Change fields of one record in place (`PATCH`, answered 204)."""
        path = f"/services/data/v{self.api_version}/sobjects/{sobject}/{record_id}"
        await self._request("PATCH", path, json=fields)

    async def query(self, soql: str) -> list[dict[str, Any]]:
        """Every record a SOQL query returns, following `nextRecordsUrl` to the last batch."""
        path: str | None = f"/services/data/v{self.api_version}/query"
        params: dict[str, str] | None = {"q": soql}
        records: list[dict[str, Any]] = []
        while path is not None:
            body = await self._request("GET", path, params=params)
            if not isinstance(body, dict):
                raise SalesforceError(None, "UNEXPECTED_ANSWER", "query answered no object")
            records.extend(body.get("records") or [])
            more = body.get("nextRecordsUrl")
            path = str(more) if not body.get("done", True) and more else None
            params = None
        return records

    async def session(self) -> Session:
        """The cached session, or a new one from the token endpoint."""
        current = self._session
        if current is not None:
            return current
        async with self._lock:
            if self._session is None:
                self._session = await self._fetch_token()
            return self._session

    async def _renew(self, stale: Session) -> Session:
        async with self._lock:
            if self._session is None or self._session == stale:
                # Concurrent deliveries that saw the same stale token renew it once.
                self._session = await self._fetch_token()
            return self._session

    async def _fetch_token(self) -> Session:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
        }
        answer = await self._http.post(
            self.login_url + "/services/oauth2/token",
            data=form,
            headers={"Accept": "application/json"},
            timeout=TIMEOUT_SECONDS,
        )
        body = _json(answer)
        if answer.status_code != 200 or not isinstance(body, dict):
            raise _token_error(answer.status_code, body)
        token, instance = body.get("access_token"), body.get("instance_url")
        if not isinstance(token, str) or not token or not _is_http_url(instance):
            raise SalesforceError(
                answer.status_code, "UNEXPECTED_ANSWER", "token answer lacks access_token or URL"
            )
        redactor.add(token)
        self.tokens_fetched += 1
        return Session(token, str(instance).rstrip("/"))

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        session = await self.session()
        answer = await self._send(session, method, path, json, params)
        if answer.status_code == 401 and _code(_json(answer)) == "INVALID_SESSION_ID":
            session = await self._renew(session)
            answer = await self._send(session, method, path, json, params)
        body = _json(answer)
        if answer.status_code >= 300:
            raise _api_error(answer, body)
        return body

    async def _send(
        self,
        session: Session,
        method: str,
        path: str,
        json: Any,
        params: dict[str, str] | None,
    ) -> httpx.Response:
        return await self._http.request(
            method,
            session.instance_url + path,
            json=json,
            params=params,
            headers={
                "Authorization": f"Bearer {session.access_token}",
                "Accept": "application/json",
            },
            timeout=TIMEOUT_SECONDS,
        )


def _json(answer: httpx.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        return None


def _code(body: Any) -> str | None:
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return str(body[0].get("errorCode") or "") or None
    return None


def _is_http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _token_error(status: int, body: Any) -> SalesforceError:
    if isinstance(body, dict) and body.get("error"):
        error = str(body["error"])
        description = str(body.get("error_description") or "")
        if status < 500:
            return TokenRefused(status, error, description)
        return SalesforceError(status, error, description)
    return SalesforceError(status, f"HTTP_{status}", "the token endpoint gave no OAuth answer")


def _api_error(answer: httpx.Response, body: Any) -> SalesforceError:
    retry_after = parse_retry_after(answer.headers.get("retry-after"))
    if isinstance(body, list) and body and isinstance(body[0], dict):
        first = body[0]
        raw_fields = first.get("fields")
        fields = [str(f) for f in raw_fields] if isinstance(raw_fields, list) else []
        return SalesforceError(
            answer.status_code,
            str(first.get("errorCode") or f"HTTP_{answer.status_code}"),
            str(first.get("message") or ""),
            fields,
            retry_after,
        )
    return SalesforceError(
        answer.status_code,
        f"HTTP_{answer.status_code}",
        "no Salesforce error body",
        [],
        retry_after,
    )
