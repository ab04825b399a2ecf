"""A HubSpot CRM API stand-in (v3 objects, v4 associations), from HubSpot's public reference.

Serve `FakeHubSpot().app` with `serve_app`; point `HUBSPOT_API_URL` at its URL. It knows
contacts (`add_contact`), the contact properties defined in the portal, and call
engagements with their associations. Faithful where a write-back depends on it:
- `Authorization: Bearer <private app token>`; a wrong token is 401 `INVALID_AUTHENTICATION`,
  a token without the scopes (`granted_scopes`) is 403 `MISSING_SCOPES`.
- A missing contact is 404 `OBJECT_NOT_FOUND`; an unknown contact property 400
  `VALIDATION_ERROR` (`PROPERTY_DOESNT_EXIST`); `hs_timestamp` is required on a call.
- Search sees an object only `index_lag` seconds after it was created (HubSpot's search
  index lags writes); reads by id and association lists see it at once.
- Pagination: search `after`/`limit`, v4 associations `after`/`limit` (`paging.next`).
- 429: `{"status": "error", "errorType": "RATE_LIMIT", "policyName": …}` with
  `X-HubSpot-RateLimit-Interval-Milliseconds`, `-Max`, `-Remaining: 0` (`interval_ms`).
"""

from __future__ import annotations

import itertools
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.fake_crm import CrmStandIn, with_headers

READ = "crm.objects.contacts.read"
WRITE = "crm.objects.contacts.write"
CALL_TO_CONTACT = 194
DEFAULT_CONTACT_PROPERTIES = {"firstname", "lastname", "email", "phone", "hs_lead_status"}


@dataclass
class CallObject:
    id: str
    properties: dict[str, Any]
    contacts: list[str]
    created: float = field(default_factory=time.monotonic)
    created_at: str = field(
        default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    )


def _error(status: int, category: str, message: str, **extra: Any) -> JSONResponse:
    body = {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
        **extra,
    }
    return JSONResponse(body, status_code=status)


class FakeHubSpot(CrmStandIn):
    def __init__(
        self,
        *,
        token: str = "pat-na1-11111111-2222-3333-4444-555555555555",  # noqa: S107
        index_lag: float = 0.0,
        interval_ms: int = 1000,
    ) -> None:
        super().__init__()
        self.token = token
        self.granted_scopes = {READ, WRITE}
        self.index_lag = index_lag
        self.interval_ms = interval_ms
        self.daily_limit = False  # 429s say policyName DAILY instead of SECONDLY
        self.contacts: dict[str, dict[str, Any]] = {}
        self.contact_properties = set(DEFAULT_CONTACT_PROPERTIES)
        self.calls: dict[str, CallObject] = {}
        self._ids = itertools.count(41_000_000_001)
        self.app = Starlette(
            routes=[
                Route("/crm/v3/objects/contacts/{id}", self._contact, methods=["GET", "PATCH"]),
                Route("/crm/v3/objects/calls", self._create_call, methods=["POST"]),
                Route("/crm/v3/objects/calls/search", self._search_calls, methods=["POST"]),
                Route("/crm/v3/objects/calls/{id:int}", self._update_call, methods=["PATCH"]),
                Route("/crm/v3/objects/calls/batch/read", self._batch_read, methods=["POST"]),
                Route(
                    "/crm/v4/objects/contacts/{id}/associations/calls",
                    self._associated_calls,
                    methods=["GET"],
                ),
            ]
        )

    # State for tests

    def add_contact(self, contact_id: str, **properties: Any) -> None:
        self.contacts[contact_id] = {"hs_object_id": contact_id, **properties}

    def calls_on(self, contact_id: str) -> list[CallObject]:
        return [c for c in list(self.calls.values()) if contact_id in c.contacts]

    # Plumbing

    def _limits(self) -> dict[str, Any]:
        return {
            "X-HubSpot-RateLimit-Interval-Milliseconds": self.interval_ms,
            "X-HubSpot-RateLimit-Max": 190,
            "X-HubSpot-RateLimit-Remaining": 189,
            "X-HubSpot-RateLimit-Daily": 1_000_000,
            "X-HubSpot-RateLimit-Daily-Remaining": 999_999,
        }

    def _gate(self, request: Request, scope: str) -> Response | None:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return _error(
                401,
                "INVALID_AUTHENTICATION",
                "Authentication credentials not found. This API supports OAuth 2.0 "
                "authentication and you can find more details at "
                "https://developers.hubspot.com/docs/methods/auth/oauth-overview",
            )
        if scope not in self.granted_scopes:
            return _error(
                403,
                "MISSING_SCOPES",
                "This app hasn't been granted all required scopes to make this call. "
                "Read more about required scopes here: https://developers.hubspot.com/scopes.",
                errors=[
                    {
                        "message": "One or more of the following scopes are required.",
                        "context": {"requiredGranularScopes": [scope]},
                    }
                ],
            )
        status = self.take_fault(request)
        if status == 429:
            policy = "DAILY" if self.daily_limit else "SECONDLY"
            body = {
                "status": "error",
                "message": f"You have reached your {policy.lower()} limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": str(uuid.uuid4()),
                "policyName": policy,
            }
            headers = {**self._limits(), "X-HubSpot-RateLimit-Remaining": 0}
            if self.daily_limit:
                headers["X-HubSpot-RateLimit-Daily-Remaining"] = 0
            return with_headers(JSONResponse(body, status_code=429), headers)
        if status is not None:
            return _error(status, "INTERNAL_ERROR", "internal error")
        return None

    async def _answer(self, request: Request, scope: str, handler: Any) -> Response:
        refused = self._gate(request, scope)
        response = refused if refused is not None else await handler()
        self.record(request, response.status_code)
        return with_headers(response, self._limits()) if refused is None else response

    # Routes

    async def _contact(self, request: Request) -> Response:
        contact_id = request.path_params["id"]
        scope = READ if request.method == "GET" else WRITE

        async def handle() -> Response:
            contact = self.contacts.get(contact_id)
            if contact is None:
                return _error(404, "OBJECT_NOT_FOUND", "resource not found")
            if request.method == "PATCH":
                values = (await request.json()).get("properties") or {}
                unknown = [n for n in values if n not in self.contact_properties]
                if unknown:
                    problems = [
                        {
                            "isValid": False,
                            "message": f'Property "{n}" does not exist',
                            "error": "PROPERTY_DOESNT_EXIST",
                            "name": n,
                        }
                        for n in unknown
                    ]
                    return _error(
                        400, "VALIDATION_ERROR", f"Property values were not valid: {problems}"
                    )
                contact.update(values)
            return JSONResponse({"id": contact_id, "properties": contact, "archived": False})

        return await self._answer(request, scope, handle)

    async def _create_call(self, request: Request) -> Response:
        async def handle() -> Response:
            body = await request.json()
            properties = dict(body.get("properties") or {})
            if "hs_timestamp" not in properties:
                return _error(
                    400,
                    "VALIDATION_ERROR",
                    "Property values were not valid: hs_timestamp is required",
                )
            contacts: list[str] = []
            for association in body.get("associations") or []:
                target = str((association.get("to") or {}).get("id"))
                types = association.get("types") or [{}]
                if target not in self.contacts or types[0].get("associationTypeId") != 194:
                    return _error(
                        400, "VALIDATION_ERROR", f"One or more associations are invalid: {target}"
                    )
                contacts.append(target)
            call = CallObject(str(next(self._ids)), properties, contacts)
            self.calls[call.id] = call
            await self.hold_if_asked()
            return JSONResponse(self._public(call, list(properties)), status_code=201)

        return await self._answer(request, WRITE, handle)

    def _public(self, call: CallObject, names: list[str]) -> dict[str, Any]:
        props = {n: call.properties.get(n) for n in names}
        props.update(hs_object_id=call.id, hs_createdate=call.created_at)
        return {
            "id": call.id,
            "properties": props,
            "createdAt": call.created_at,
            "updatedAt": call.created_at,
            "archived": False,
        }

    async def _update_call(self, request: Request) -> Response:
        call_id = str(request.path_params["id"])

        async def handle() -> Response:
            call = self.calls.get(call_id)
            if call is None:
                return _error(404, "OBJECT_NOT_FOUND", "resource not found")
            values = (await request.json()).get("properties") or {}
            call.properties.update(values)
            return JSONResponse(self._public(call, list(values)))

        return await self._answer(request, WRITE, handle)

    async def _search_calls(self, request: Request) -> Response:
        async def handle() -> Response:
            body = await request.json()
            indexed = time.monotonic() - self.index_lag
            matches = [
                c
                for c in list(self.calls.values())
                if c.created <= indexed and self._matches(c, body.get("filterGroups") or [])
            ]
            limit = min(int(body.get("limit") or 10), 200)
            start = int(body.get("after") or 0)
            page = matches[start : start + limit]
            out: dict[str, Any] = {
                "total": len(matches),
                "results": [self._public(c, body.get("properties") or []) for c in page],
            }
            if start + limit < len(matches):
                out["paging"] = {"next": {"after": str(start + limit)}}
            return JSONResponse(out)

        return await self._answer(request, READ, handle)

    def _matches(self, call: CallObject, groups: list[dict[str, Any]]) -> bool:
        def one(f: dict[str, Any]) -> bool:
            name, op, value = f.get("propertyName"), f.get("operator"), f.get("value")
            have = (
                call.contacts
                if name == "associations.contact"
                else [call.properties.get(str(name))]
            )
            if op == "EQ":
                return any(str(h) == str(value) for h in have if h is not None)
            if op == "HAS_PROPERTY":
                return any(h is not None for h in have)
            return False

        return not groups or any(all(one(f) for f in g.get("filters") or []) for g in groups)

    async def _batch_read(self, request: Request) -> Response:
        async def handle() -> Response:
            body = await request.json()
            names = body.get("properties") or []
            found = [
                self.calls[str(i["id"])]
                for i in body.get("inputs") or []
                if str(i.get("id")) in self.calls
            ]
            now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
            return JSONResponse(
                {
                    "status": "COMPLETE",
                    "results": [self._public(c, names) for c in found],
                    "startedAt": now,
                    "completedAt": now,
                }
            )

        return await self._answer(request, READ, handle)

    async def _associated_calls(self, request: Request) -> Response:
        contact_id = request.path_params["id"]

        async def handle() -> Response:
            ids = [c.id for c in self.calls_on(contact_id)]
            limit = min(int(request.query_params.get("limit") or 500), 500)
            start = int(request.query_params.get("after") or 0)
            page = ids[start : start + limit]
            out: dict[str, Any] = {
                "results": [
                    {
                        "toObjectId": int(i),
                        "associationTypes": [
                            {
                                "category": "HUBSPOT_DEFINED",
                                "typeId": CALL_TO_CONTACT,
                                "label": None,
                            }
                        ],
                    }
                    for i in page
                ]
            }
            if start + limit < len(ids):
                out["paging"] = {"next": {"after": str(start + limit)}}
            return JSONResponse(out)

        return await self._answer(request, READ, handle)
