"""A Pipedrive API stand-in (v1 persons and notes, v2 activities), from Pipedrive's reference.

Serve `FakePipedrive().app` with `serve_app`; point `PIPEDRIVE_API_URL` at its URL.
Faithful where a write-back depends on it:
- The API token in `x-api-token` (or the `api_token` query parameter); a wrong one is
  401 `{"success": false, "error": "unauthorized access", "errorCode": 401}`.
- A missing person is 404 `Person not found`; a deleted one answers with `active_flag: false`.
- Notes: `GET /api/v1/notes?person_id&start&limit` paged with
  `additional_data.pagination` (`more_items_in_collection`, `next_start`; `data` is null
  when empty); `POST /api/v1/notes` needs `content` and one of the ids (201).
- Activities v2: `person_id` is read-only (400 `ERR_BAD_REQUEST`), the person goes in
  `participants`; `GET /api/v2/activities?person_id&limit&cursor` paged with
  `additional_data.next_cursor`.
- Every answer carries `x-ratelimit-limit`, `-remaining`, `-reset`; a 429 is
  `{"success": false, "error": "Request over limit"}` with `x-ratelimit-remaining: 0`.
"""

from __future__ import annotations

import base64
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.fake_crm import CrmStandIn, with_headers

ERROR_INFO = "Please check developers.pipedrive.com for more information about Pipedrive API."


@dataclass
class Stored:
    id: int
    fields: dict[str, Any]
    add_time: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()))


def _fail(status: int, error: str, **extra: Any) -> JSONResponse:
    body = {
        "success": False,
        "error": error,
        "error_info": ERROR_INFO,
        "data": None,
        "additional_data": None,
        **extra,
    }
    return JSONResponse(body, status_code=status)


class FakePipedrive(CrmStandIn):
    def __init__(
        self,
        *,
        token: str = "0123456789abcdef0123456789abcdef01234567",  # noqa: S107
        reset_seconds: int = 1,
    ) -> None:
        super().__init__()
        self.token = token
        self.reset_seconds = reset_seconds
        self.persons: dict[int, dict[str, Any]] = {}
        self.notes: dict[int, Stored] = {}
        self.activities: dict[int, Stored] = {}
        self._ids = itertools.count(1001)
        self.app = Starlette(
            routes=[
                Route("/api/v1/persons/{id:int}", self._person, methods=["GET"]),
                Route("/api/v1/notes", self._notes, methods=["GET", "POST"]),
                Route("/api/v1/notes/{id:int}", self._note, methods=["PUT"]),
                Route("/v1/notes", self._notes, methods=["GET", "POST"]),
                Route("/api/v2/activities", self._activities, methods=["GET", "POST"]),
            ]
        )

    def add_person(self, person_id: int, name: str, *, active: bool = True) -> None:
        self.persons[person_id] = {"id": person_id, "name": name, "active_flag": active}

    def notes_of(self, person_id: int) -> list[Stored]:
        return [n for n in list(self.notes.values()) if n.fields.get("person_id") == person_id]

    def activities_of(self, person_id: int) -> list[Stored]:
        return [a for a in list(self.activities.values()) if a.fields.get("person_id") == person_id]

    def _limits(self, remaining: int = 39) -> dict[str, Any]:
        return {
            "x-ratelimit-limit": 40,
            "x-ratelimit-remaining": remaining,
            "x-ratelimit-reset": self.reset_seconds,
            "x-daily-requests-left": 9999,
        }

    def _gate(self, request: Request) -> Response | None:
        given = request.headers.get("x-api-token") or request.query_params.get("api_token")
        if given != self.token:
            return JSONResponse(
                {
                    "success": False,
                    "error": "unauthorized access",
                    "errorCode": 401,
                    "error_info": ERROR_INFO,
                },
                status_code=401,
            )
        status = self.take_fault(request)
        if status == 429:
            body = {"success": False, "error": "Request over limit"}
            return with_headers(JSONResponse(body, status_code=429), self._limits(0))
        if status is not None:
            return _fail(status, "Internal server error")
        return None

    async def _answer(self, request: Request, handler: Any) -> Response:
        refused = self._gate(request)
        response = refused if refused is not None else await handler()
        self.record(request, response.status_code)
        return with_headers(response, self._limits()) if refused is None else response

    async def _person(self, request: Request) -> Response:
        async def handle() -> Response:
            person = self.persons.get(request.path_params["id"])
            if person is None:
                return _fail(404, "Person not found")
            return JSONResponse({"success": True, "data": person})

        return await self._answer(request, handle)

    def _page_v1(self, request: Request, items: list[Stored]) -> JSONResponse:
        start = int(request.query_params.get("start") or 0)
        limit = min(int(request.query_params.get("limit") or 100), 500)
        page = items[start : start + limit]
        more = start + limit < len(items)
        pagination: dict[str, Any] = {
            "start": start,
            "limit": limit,
            "more_items_in_collection": more,
        }
        if more:
            pagination["next_start"] = start + limit
        data = [{"id": s.id, "add_time": s.add_time, **s.fields} for s in page] or None
        return JSONResponse(
            {"success": True, "data": data, "additional_data": {"pagination": pagination}}
        )

    async def _notes(self, request: Request) -> Response:
        async def handle() -> Response:
            if request.method == "GET":
                person = request.query_params.get("person_id")
                items = [
                    n
                    for n in list(self.notes.values())
                    if person is None or str(n.fields.get("person_id")) == person
                ]
                return self._page_v1(request, items)
            body = await request.json()
            if not body.get("content"):
                return _fail(400, "Validation failed: content: Required")
            ids = ("person_id", "deal_id", "org_id", "lead_id", "project_id")
            if not any(body.get(k) for k in ids):
                return _fail(
                    400,
                    "Validation failed: deal_id, person_id, org_id, lead_id or "
                    "project_id is required",
                )
            if body.get("person_id") and body["person_id"] not in self.persons:
                return _fail(404, "Person not found")
            note = Stored(next(self._ids), dict(body))
            self.notes[note.id] = note
            await self.hold_if_asked()
            return JSONResponse(
                {"success": True, "data": {"id": note.id, **note.fields}}, status_code=201
            )

        return await self._answer(request, handle)

    async def _note(self, request: Request) -> Response:
        async def handle() -> Response:
            note = self.notes.get(int(request.path_params["id"]))
            if note is None:
                return _fail(404, "Note not found")
            body = await request.json()
            if "content" in body and not body["content"]:
                return _fail(400, "Validation failed: content: Required")
            note.fields.update({k: v for k, v in body.items() if k == "content"})
            return JSONResponse({"success": True, "data": {"id": note.id, **note.fields}})

        return await self._answer(request, handle)

    async def _activities(self, request: Request) -> Response:
        async def handle() -> Response:
            if request.method == "GET":
                person = request.query_params.get("person_id")
                items = [
                    a
                    for a in list(self.activities.values())
                    if person is None or str(a.fields.get("person_id")) == person
                ]
                limit = min(int(request.query_params.get("limit") or 100), 500)
                cursor = request.query_params.get("cursor")
                start = int(base64.b64decode(cursor)) if cursor else 0
                page = items[start : start + limit]
                nxt = (
                    base64.b64encode(str(start + limit).encode()).decode()
                    if start + limit < len(items)
                    else None
                )
                return JSONResponse(
                    {
                        "success": True,
                        "data": [{"id": a.id, **a.fields} for a in page],
                        "additional_data": {"next_cursor": nxt},
                    }
                )
            body = await request.json()
            if "person_id" in body:
                return JSONResponse(
                    {
                        "success": False,
                        "error": "'person_id' is a read-only "
                        "field. Add a primary participant to set 'person_id' "
                        "instead.",
                        "code": "ERR_BAD_REQUEST",
                    },
                    status_code=400,
                )
            if not body.get("subject") and not body.get("type"):
                return JSONResponse(
                    {
                        "success": False,
                        "error": "subject or type is required",
                        "code": "ERR_BAD_REQUEST",
                    },
                    status_code=400,
                )
            primary = [p for p in body.get("participants") or [] if p.get("primary")]
            fields = dict(body)
            if primary:
                fields["person_id"] = primary[0]["person_id"]
            activity = Stored(next(self._ids), fields)
            self.activities[activity.id] = activity
            await self.hold_if_asked()
            return JSONResponse({"success": True, "data": {"id": activity.id, **fields}})

        return await self._answer(request, handle)
