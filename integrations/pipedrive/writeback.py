"""`pipedrive_person`: the call's result as one note on the person (and, if asked, one done
call activity), optionally linked to a deal (`pipedrive_deal`).

Config (stored with the delivery; no secrets): `record_id` (the person id, resolved from the
request when it arrived), `token_env` (the variable holding the API token), `activity`
(also log a done call activity) and `pipedrive_deal` (a deal id, resolved like the person id).

Requests, each with the token in the `x-api-token` header (never in the URL):
1. `GET /api/v1/persons/{id}`: the person exists (404 or a deleted person: dead letter).
2. After an uncertain try only: the person's notes (`GET /api/v1/notes?person_id=…`, paged
   with `start`/`limit`) are searched for the call's marker.
3. `POST /api/v1/notes` `{content (HTML), person_id, deal_id?}`.
4. With `activity`: the same for activities, `GET /api/v2/activities?person_id=…` (paged
   with `cursor`), then `POST /api/v2/activities` `{subject, type: "call", done: true,
   participants: [{person_id, primary: true}], deal_id?, duration "HH:MM", note}`. (In API v2
   `person_id` is read-only; the person is set as the primary participant.)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import structlog
from pydantic import BaseModel, ConfigDict, field_validator

from gateway.calls.result import CallResult
from gateway.delivery.crm import (
    AuthHint,
    CrmFailure,
    WriteBackKind,
    check,
    credential,
    marker,
    result_html,
    title,
    transport_failure,
    write_once,
)
from gateway.delivery.crm.http import crm_client
from gateway.delivery.registry import DeliveryAttempt, DeliveryOutcome

log = structlog.get_logger(__name__)

DEFAULT_API_URL = "https://api.pipedrive.com"
DEFAULT_TOKEN_ENV = "PIPEDRIVE_API_TOKEN"  # noqa: S105 (a variable name)
TIMEOUT_SECONDS = 15.0
PAGE = 100
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DIGITS = re.compile(r"[0-9]{1,18}")


class PipedrivePersonOptions(BaseModel):
    """The keys of a `pipedrive_person` notify entry besides the record expression."""

    model_config = ConfigDict(extra="forbid")

    token_env: str = DEFAULT_TOKEN_ENV
    activity: bool = False
    pipedrive_deal: str | None = None  # an expression at hook time, a deal id once stored

    @field_validator("token_env")
    @classmethod
    def _env(cls, value: str) -> str:
        if not ENV_NAME.match(value):
            raise ValueError("must name an environment variable (letters, digits, _)")
        return value


PIPEDRIVE_PERSON = WriteBackKind(
    kind="pipedrive_person",
    crm="Pipedrive",
    options=PipedrivePersonOptions,
    record_id=DIGITS,
    record_id_hint="a Pipedrive person id (digits)",
    mapped=("pipedrive_deal",),
)


def auth_hint(config: dict[str, Any]) -> AuthHint:
    """How to explain a refused token for this delivery."""
    env = str(config.get("token_env") or DEFAULT_TOKEN_ENV)
    return AuthHint(
        "Pipedrive",
        env,
        "the personal API token of a Pipedrive user who can see the person and add notes "
        "and activities (Settings > Personal preferences > API)",
    )


def hours_minutes(seconds: float | None) -> str | None:
    """`HH:MM` (Pipedrive's activity duration), rounded up to a whole minute."""
    if seconds is None:
        return None
    minutes = max(1, -(-round(seconds) // 60))
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class PipedrivePersonDestination:
    """Registered as `pipedrive_person`; one HTTP client for every company it writes to."""

    name = "pipedrive_person"
    # Sent again when the recording becomes available: the note gets its link.
    updates_in_place = True

    def __init__(self, api_url: str = DEFAULT_API_URL, *, timeout: float = TIMEOUT_SECONDS):
        self._http = crm_client(api_url, timeout=timeout)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def deliver(self, attempt: DeliveryAttempt, result: CallResult) -> DeliveryOutcome:
        """Add the note once (and the activity once, if configured)."""
        config = attempt.config
        person = str(config.get("record_id") or "")
        if not DIGITS.fullmatch(person):
            return DeliveryOutcome(ok=False, error="Pipedrive: no person id", permanent=True)
        deal = config.get("pipedrive_deal")
        if deal is not None and not DIGITS.fullmatch(str(deal)):
            return DeliveryOutcome(
                ok=False,
                error=f"Pipedrive: deal id {str(deal)[:30]!r} is not a number",
                permanent=True,
            )
        auth = auth_hint(config)
        try:
            token = credential(config, "token_env", auth)
            company = _Company(self._http, token, auth, int(person))
            await company.check_person()
            tag = marker(result.call_id)
            note, created = await write_once(
                attempt,
                what="Pipedrive note",
                find=lambda: company.find("/api/v1/notes", "content", tag),
                create=lambda: company.add_note(result_html(result), deal),
            )
            if not created and result.recording_url:
                # An earlier note exists and this result may be newer (its recording link).
                await company.update_note(note, result_html(result))
            if config.get("activity"):
                await write_once(
                    attempt,
                    what="Pipedrive activity",
                    find=lambda: company.find("/api/v2/activities", "note", tag),
                    create=lambda: company.add_activity(result, deal),
                )
        except CrmFailure as exc:
            return exc.outcome
        except httpx.HTTPError as exc:
            return transport_failure(exc, crm="Pipedrive")
        log.info(
            "pipedrive.note_added",
            call_id=result.call_id,
            person=person,
            note=note,
            created=created,
        )
        return DeliveryOutcome(ok=True, status_code=201 if created else 200)


class _Company:
    """The requests of one try, with the API token of one Pipedrive company."""

    def __init__(self, http: httpx.AsyncClient, token: str, auth: AuthHint, person: int):
        self.http = http
        self.headers = {"x-api-token": token}
        self.auth = auth
        self.person = person

    async def _send(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        response = await self.http.request(method, path, headers=self.headers, **kwargs)
        return check(response, what=what, auth=self.auth).json()

    async def check_person(self) -> None:
        what = f"person {self.person}"
        found = await self._send("GET", f"/api/v1/persons/{self.person}", what)
        data = found.get("data") or {}
        if data.get("active_flag") is False:
            raise CrmFailure(
                DeliveryOutcome(
                    ok=False,
                    status_code=200,
                    error=f"Pipedrive: {what} was deleted",
                    permanent=True,
                )
            )

    async def find(self, path: str, field: str, tag: str) -> str | None:
        """The person's note (v1, `start` paging) or activity (v2, `cursor` paging) whose
        `field` carries `tag`."""
        params: dict[str, Any] = {"person_id": self.person, "limit": PAGE}
        next_page: Callable[[dict[str, Any]], dict[str, Any] | None]
        if path.startswith("/api/v1/"):
            params["start"] = 0
            next_page = _next_start
        else:
            next_page = _next_cursor
        while True:
            page = await self._send("GET", path, f"person {self.person}", params=params)
            for item in page.get("data") or []:
                if tag in str(item.get(field) or ""):
                    return str(item["id"])
            more = next_page(page)
            if more is None:
                return None
            params.update(more)

    async def add_note(self, content: str, deal: str | None) -> str:
        body: dict[str, Any] = {"content": content, "person_id": self.person}
        if deal is not None:
            body["deal_id"] = int(deal)
        created = await self._send(
            "POST", "/api/v1/notes", f"a note on person {self.person}", json=body
        )
        return str(created["data"]["id"])

    async def update_note(self, note: str, content: str) -> None:
        await self._send("PUT", f"/api/v1/notes/{note}", f"note {note}", json={"content": content})

    async def add_activity(self, result: CallResult, deal: str | None) -> str:
        body: dict[str, Any] = {
            "subject": title(result),
            "type": "call",
            "done": True,
            "participants": [{"person_id": self.person, "primary": True}],
            "note": result_html(result),
        }
        if deal is not None:
            body["deal_id"] = int(deal)
        duration = hours_minutes(result.duration_seconds)
        if duration is not None:
            body["duration"] = duration
        moment = result.ended_at or result.started_at
        if moment is not None:
            body["due_date"] = moment.date().isoformat()
        created = await self._send(
            "POST", "/api/v2/activities", f"an activity on person {self.person}", json=body
        )
        return str(created["data"]["id"])


def _next_start(page: dict[str, Any]) -> dict[str, Any] | None:
    pagination = (page.get("additional_data") or {}).get("pagination") or {}
    if not pagination.get("more_items_in_collection"):
        return None
    return {"start": pagination.get("next_start")}


def _next_cursor(page: dict[str, Any]) -> dict[str, Any] | None:
    cursor = (page.get("additional_data") or {}).get("next_cursor")
    return {"cursor": cursor} if cursor else None
