"""A local stand-in of the Salesforce org the `salesforce_record` destination writes to.

Written from Salesforce's public reference (REST API developer guide, OAuth 2.0 client
credentials flow, Task object reference), not from the gateway's code:

- `POST /services/oauth2/token` (the org's My Domain): form `grant_type=client_credentials`,
  `client_id`, `client_secret` (or HTTP Basic) → `200 {"access_token", "signature", "scope",
  "instance_url", "id", "token_type": "Bearer", "issued_at"}` (no refresh token, no
  `expires_in`: the org's session timeout decides). Errors are `400 {"error",
  "error_description"}`: `unsupported_grant_type`, `invalid_client_id`, `invalid_client`
  ("invalid client credentials"), `invalid_grant` ("no client credentials user enabled").
- The REST API lives under the answer's `instance_url` (here `<url>/instance`, so a client
  that ignores `instance_url` finds nothing): `POST /services/data/vNN.0/sobjects/Task[/]`
  → `201 {"id": "00T…", "success": true, "errors": []}`; `PATCH …/sobjects/Task/<id>` changes
  the fields sent → `204` (no body; `404 NOT_FOUND` for an id the org does not have, `404
  ENTITY_IS_DELETED` for a deleted Task); `GET …/query?q=SOQL` → `{"totalSize",
  "done", "records", "nextRecordsUrl"?}` and `GET …/query/<locator>` for the next batch.
  Errors are lists: `[{"message", "errorCode", "fields"}]`; a session that expired answers
  `401 [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]`; the
  org's API limit `403 [{"errorCode": "REQUEST_LIMIT_EXCEEDED", …}]`. Successful answers
  carry `Sforce-Limit-Info: api-usage=N/LIMIT`.

Test levers: `expire_sessions()`, `fail(kind, status, body, times=, headers=)` for `token`,
`create`, `update` or `query`, `hold_creates` (the Task is stored, its answer never sent: a process
killed while waiting is the crash window), `add_record(prefix)` / `delete_record(id)`.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

ORG_ID = "00D5g000004ABCDEAA"
RUN_AS_USER = "0055g00000RunAsAAA"
INSTANCE_PATH = "/instance"
API_VERSIONS = tuple(f"{v}.0" for v in range(31, 66))
TASK_FIELDS = {
    "Subject": 255,
    "Description": 32000,
    "WhoId": 18,
    "WhatId": 18,
    "Status": 40,
    "TaskSubtype": 40,
    "Priority": 40,
    "ActivityDate": 10,
    "CallDurationInSeconds": 8,
    "CallType": 40,
    "CallDisposition": 255,
    "CallObject": 255,
    "OwnerId": 18,
}
STATUSES = ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")
SUBTYPES = ("Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn")
CALL_TYPES = ("Internal", "Inbound", "Outbound")
WHO_PREFIXES = ("003", "00Q")  # Contact, Lead
ID_SHAPE = re.compile(r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$")
# The one query shape the destination sends (plus optional LIMIT), as Salesforce parses it.
SOQL = re.compile(
    r"^SELECT\s+(?P<fields>[\w\s,]+?)\s+FROM\s+Task\s+WHERE\s+CallObject\s*=\s*"
    r"'(?P<marker>(?:[^'\\]|\\.)*)'"
    r"(?:\s+AND\s+(?P<ref>WhoId|WhatId)\s*=\s*'(?P<ref_id>[a-zA-Z0-9]{15,18})')?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE,
)


def errors(code: str, message: str, *fields: str) -> list[dict[str, Any]]:
    """A REST error body as Salesforce sends it: a list of error objects."""
    return [{"message": message, "errorCode": code, "fields": list(fields)}]


@dataclass
class Fault:
    status: int
    body: Any
    times: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class TokenRequest:
    client_id: str
    grant_type: str
    at: float = field(default_factory=time.monotonic)


class FakeSalesforce:
    """State and Starlette app of one org. Serve `.app` with `serve_app`; the org's My Domain
    URL (`SALESFORCE_LOGIN_URL`) is the server's URL."""

    def __init__(
        self,
        *,
        client_id: str = "3MVG9test.consumer.key",
        client_secret: str = "test-consumer-secret-0123456789",  # noqa: S107
        page_size: int = 2000,
        api_limit: int = 15000,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.run_as_user: str | None = RUN_AS_USER  # None: the flow has no run-as user yet
        self.page_size = page_size
        self.api_limit = api_limit
        self.api_usage = 0
        self.sessions: set[str] = set()
        self.token_requests: list[TokenRequest] = []
        self.tasks: dict[str, dict[str, Any]] = {}  # id -> fields (+ CreatedDate)
        self.records: set[str] = set()
        self.deleted: set[str] = set()
        self.faults: dict[str, list[Fault]] = {}
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, bearer token)
        self.deleted_tasks: set[str] = set()
        self.updates: list[tuple[str, dict[str, Any]]] = []  # (Task id, fields sent)
        self.hold_creates = False
        self.held = 0  # creates stored whose answer is being held
        self._cursors: dict[str, list[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        data = f"{INSTANCE_PATH}/services/data/v{{version}}"
        self.app = Starlette(
            routes=[
                Route("/services/oauth2/token", self._token, methods=["POST"]),
                Route(data + "/sobjects/Task", self._create_task, methods=["POST"]),
                Route(data + "/sobjects/Task/", self._create_task, methods=["POST"]),
                Route(data + "/sobjects/Task/{task_id}", self._update_task, methods=["PATCH"]),
                Route(data + "/query", self._query, methods=["GET"]),
                Route(data + "/query/", self._query, methods=["GET"]),
                Route(data + "/query/{locator}", self._query_more, methods=["GET"]),
            ]
        )

    # ---- test levers ------------------------------------------------------------------
    def new_id(self, prefix: str) -> str:
        """An 18-character id with the key prefix of an object (`003` Contact, `00T` Task…)."""
        with self._lock:
            n = next(self._ids)
        return f"{prefix}5g00000{n:05d}AAA"[:18].ljust(18, "A")

    def add_record(self, prefix: str, record: str | None = None) -> str:
        """A Contact (`003`), Lead (`00Q`), Account (`001`), Opportunity (`006`)… that exists
        (`record`: that very id, e.g. the one in a payload fixture)."""
        record = record or self.new_id(prefix)
        with self._lock:
            self.records.add(record)
        return record

    def delete_record(self, record: str) -> None:
        with self._lock:
            self.records.discard(record)
            self.deleted.add(record)

    def delete_task(self, task_id: str) -> None:
        """The Task is deleted in the org (a user cleaned up the activity history)."""
        with self._lock:
            self.tasks.pop(task_id, None)
            self.deleted_tasks.add(task_id)

    def expire_sessions(self) -> None:
        """Every access token handed out so far stops working (session timeout, logout)."""
        with self._lock:
            self.sessions.clear()

    def fail(
        self,
        kind: str,
        status: int,
        body: Any,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
    ) -> None:
        """The next `times` requests of `kind` (`token`, `create`, `query`) answer this."""
        with self._lock:
            self.faults.setdefault(kind, []).append(Fault(status, body, times, headers or {}))

    def tasks_for(self, marker: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(t) for t in self.tasks.values() if t.get("CallObject") == marker]

    def all_tasks(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(t) for t in self.tasks.values()]

    def seen_tokens(self) -> list[str]:
        """Bearer tokens the org was sent (to look for them in the gateway's logs)."""
        with self._lock:
            return sorted({t for _, _, t in self.requests if t})

    # ---- helpers ----------------------------------------------------------------------
    def _fault(self, kind: str) -> Response | None:
        with self._lock:
            queue = self.faults.get(kind) or []
            if not queue:
                return None
            fault = queue[0]
            fault.times -= 1
            if fault.times <= 0:
                queue.pop(0)
        return JSONResponse(fault.body, status_code=fault.status, headers=fault.headers)

    def _session(self, request: Request, kind: str) -> Response | None:
        """401 unless a live session is presented; the version must exist; faults apply."""
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else None
        with self._lock:
            self.requests.append((request.method, request.url.path, token))
            live = token is not None and token in self.sessions
        if request.path_params["version"] not in API_VERSIONS:
            return JSONResponse(
                errors("NOT_FOUND", "The requested resource does not exist"), status_code=404
            )
        if not live:
            return JSONResponse(
                errors("INVALID_SESSION_ID", "Session expired or invalid"), status_code=401
            )
        return self._fault(kind)

    def _limit_headers(self) -> dict[str, str]:
        with self._lock:
            self.api_usage += 1
            return {"Sforce-Limit-Info": f"api-usage={self.api_usage}/{self.api_limit}"}

    # ---- OAuth 2.0 client credentials ---------------------------------------------------
    async def _token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            decoded = base64.b64decode(basic[6:]).decode()
            client_id, _, secret = decoded.partition(":")
        grant = form.get("grant_type", "")
        with self._lock:
            self.token_requests.append(TokenRequest(client_id, grant))
        fault = self._fault("token")
        if fault is not None:
            return fault

        def refuse(error: str, description: str) -> Response:
            body = {"error": error, "error_description": description}
            return JSONResponse(body, status_code=400)

        if grant != "client_credentials":
            return refuse("unsupported_grant_type", "grant type not supported")
        if client_id != self.client_id:
            return refuse("invalid_client_id", "client identifier invalid")
        if not secrets.compare_digest(secret.encode(), self.client_secret.encode()):
            return refuse("invalid_client", "invalid client credentials")
        if self.run_as_user is None:
            return refuse("invalid_grant", "no client credentials user enabled")
        token = f"{ORG_ID[:15]}!AR8AQ{secrets.token_urlsafe(40)}"
        with self._lock:
            self.sessions.add(token)
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "access_token": token,
                "signature": base64.b64encode(secrets.token_bytes(32)).decode(),
                "scope": "api",
                "instance_url": base + INSTANCE_PATH,
                "id": f"{base}/id/{ORG_ID}/{self.run_as_user}",
                "token_type": "Bearer",
                "issued_at": str(int(time.time() * 1000)),
            }
        )

    # ---- sObjects --------------------------------------------------------------------
    async def _create_task(self, request: Request) -> Response:
        refused = self._session(request, "create")
        if refused is not None:
            return refused
        try:
            fields = await request.json()
        except ValueError:
            return JSONResponse(
                errors("JSON_PARSER_ERROR", "Unexpected character at [line:1, column:1]"),
                status_code=400,
            )
        if not isinstance(fields, dict):
            return JSONResponse(
                errors("JSON_PARSER_ERROR", "Cannot deserialize instance of Task"),
                status_code=400,
            )
        problem = self._invalid(fields)
        if problem is not None:
            return JSONResponse(problem, status_code=400)
        task_id = self.new_id("00T")
        with self._lock:
            self.tasks[task_id] = {"Id": task_id, **fields, "CreatedDate": time.time()}
        if self.hold_creates:
            with self._lock:
                self.held += 1
            await asyncio.Event().wait()  # never answered: the client dies waiting
        body = {"id": task_id, "success": True, "errors": []}
        headers = {
            **self._limit_headers(),
            "Location": f"{request.url.path.rstrip('/')}/{task_id}",
        }
        return JSONResponse(body, status_code=201, headers=headers)

    async def _update_task(self, request: Request) -> Response:
        refused = self._session(request, "update")
        if refused is not None:
            return refused
        task_id = request.path_params["task_id"]
        try:
            fields = await request.json()
        except ValueError:
            return JSONResponse(
                errors("JSON_PARSER_ERROR", "Unexpected character at [line:1, column:1]"),
                status_code=400,
            )
        if not isinstance(fields, dict):
            return JSONResponse(
                errors("JSON_PARSER_ERROR", "Cannot deserialize instance of Task"),
                status_code=400,
            )
        with self._lock:
            deleted, known = task_id in self.deleted_tasks, task_id in self.tasks
        if deleted:
            return JSONResponse(errors("ENTITY_IS_DELETED", "entity is deleted"), status_code=404)
        if not known:
            return JSONResponse(
                errors("NOT_FOUND", "The requested resource does not exist"), status_code=404
            )
        problem = self._invalid(fields)
        if problem is not None:
            return JSONResponse(problem, status_code=400)
        with self._lock:
            self.tasks[task_id].update(fields)
            self.updates.append((task_id, dict(fields)))
        return Response(status_code=204, headers=self._limit_headers())

    def _invalid(self, fields: dict[str, Any]) -> list[dict[str, Any]] | None:
        for name, value in fields.items():
            if name not in TASK_FIELDS:
                return errors(
                    "INVALID_FIELD", f"No such column '{name}' on sobject of type Task", name
                )
            if isinstance(value, str) and len(value) > TASK_FIELDS[name]:
                return errors(
                    "STRING_TOO_LONG",
                    f"{name}: data value too large: {value[:40]}... "
                    f"(max length={TASK_FIELDS[name]})",
                    name,
                )
        for name, allowed in (
            ("Status", STATUSES),
            ("TaskSubtype", SUBTYPES),
            ("CallType", CALL_TYPES),
        ):
            if name in fields and fields[name] not in allowed:
                return errors(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{name}: bad value for restricted picklist field: {fields[name]}",
                    name,
                )
        for name in ("WhoId", "WhatId"):
            value = fields.get(name)
            if value is None:
                continue
            label = "Name ID" if name == "WhoId" else "Related To ID"
            if not isinstance(value, str) or not ID_SHAPE.match(value):
                return errors("MALFORMED_ID", f"{label}: id value of incorrect type: {value}", name)
            if name == "WhoId" and not value.startswith(WHO_PREFIXES):
                return errors(
                    "FIELD_INTEGRITY_EXCEPTION",
                    f"{label}: id value of incorrect type: {value}",
                    name,
                )
            with self._lock:
                deleted, known = value in self.deleted, value in self.records
            if deleted:
                return errors("ENTITY_IS_DELETED", "entity is deleted", name)
            if not known:
                return errors("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", name)
        return None

    # ---- SOQL -------------------------------------------------------------------------
    async def _query(self, request: Request) -> Response:
        refused = self._session(request, "query")
        if refused is not None:
            return refused
        soql = request.query_params.get("q", "")
        match = SOQL.match(soql.strip())
        if match is None:
            return JSONResponse(
                errors("MALFORMED_QUERY", f"unexpected token in: {soql[:80]}"), status_code=400
            )
        marker = re.sub(r"\\(.)", r"\1", match["marker"])
        wanted = [f.strip() for f in match["fields"].split(",")]
        unknown = [f for f in wanted if f != "Id" and f not in TASK_FIELDS]
        if unknown:
            return JSONResponse(
                errors("INVALID_FIELD", f"No such column '{unknown[0]}' on entity 'Task'"),
                status_code=400,
            )
        with self._lock:
            found = [
                t
                for t in sorted(self.tasks.values(), key=lambda t: t["CreatedDate"])
                if t.get("CallObject") == marker
                and (match["ref"] is None or t.get(match["ref"]) == match["ref_id"])
            ]
        if match["limit"] is not None:
            found = found[: int(match["limit"])]
        version = request.path_params["version"]
        records = [
            {
                "attributes": {
                    "type": "Task",
                    "url": f"/services/data/v{version}/sobjects/Task/{t['Id']}",
                },
                **{f: t.get(f) for f in wanted},
            }
            for t in found
        ]
        return self._page(version, records, len(records))

    async def _query_more(self, request: Request) -> Response:
        refused = self._session(request, "query")
        if refused is not None:
            return refused
        with self._lock:
            rest = self._cursors.pop(request.path_params["locator"], None)
        if rest is None:
            return JSONResponse(
                errors("INVALID_QUERY_LOCATOR", "invalid query locator"), status_code=400
            )
        total = int(request.path_params["locator"].rsplit("-", 2)[-1])
        return self._page(request.path_params["version"], rest, total)

    def _page(self, version: str, records: list[dict[str, Any]], total: int) -> Response:
        batch, rest = records[: self.page_size], records[self.page_size :]
        body: dict[str, Any] = {"totalSize": total, "done": not rest, "records": batch}
        if rest:
            locator = f"01g5g{secrets.token_hex(5)}-{len(batch)}-{total}"
            with self._lock:
                self._cursors[locator] = rest
            body["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}"
        return JSONResponse(body, headers=self._limit_headers())
