"""`hubspot_contact`: the call's result as one call engagement on the contact's timeline.

A *call* engagement rather than a note, because it is one: HubSpot shows it in the
contact's activity as a call, with its status, duration, recording player and outcome, and
reports and sequences count it as a call. A note would carry the same words but none of
that. The outcome is in the title in words (HubSpot's call outcomes are portal-specific
GUIDs; map them with `dispositions` if you want the outcome field set too).

Config (stored with the delivery; no secrets): `record_id` (the contact id, resolved from
the request when it arrived), `token_env` (the variable holding the private app's token),
`properties` (contact property → result field, written after the call is logged) and
`dispositions` (outcome → call outcome GUID).

Requests, each with `Authorization: Bearer <token>` (HubSpot CRM API v3, associations v4):
1. `GET /crm/v3/objects/contacts/{id}`: the contact exists (a 404 is a dead letter).
2. After an uncertain try only: find this call's engagement, by `hs_call_external_id`
   (the call's marker) with `POST /crm/v3/objects/calls/search`, then, since the search
   index lags writes by seconds, among the contact's calls (`GET /crm/v4/objects/contacts/
   {id}/associations/calls` and `POST /crm/v3/objects/calls/batch/read`).
3. `POST /crm/v3/objects/calls` with the association to the contact (type 194).
4. With `properties`: `PATCH /crm/v3/objects/contacts/{id}` (idempotent).
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import structlog
from pydantic import BaseModel, ConfigDict, Field, field_validator

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

DEFAULT_API_URL = "https://api.hubapi.com"
DEFAULT_TOKEN_ENV = "HUBSPOT_ACCESS_TOKEN"  # noqa: S105 (a variable name)
SCOPES = "crm.objects.contacts.read and crm.objects.contacts.write"
CALL_TO_CONTACT = 194  # HUBSPOT_DEFINED association type id
TIMEOUT_SECONDS = 15.0
ASSOCIATIONS_PAGE = 500
BATCH_READ_LIMIT = 100
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PROPERTY_NAME = re.compile(r"^[a-z0-9_]{1,100}$")
# What `properties = { my_property = "<field>" }` may copy onto the contact.
RESULT_FIELDS = (
    "outcome",
    "summary",
    "status",
    "duration_seconds",
    "call_id",
    "recording_url",
    "ended_at",
    "agent_name",
    "end_reason",
)
# HubSpot's hs_call_status values for the gateway's final call states.
CALL_STATUS = {"completed": "COMPLETED", "failed": "FAILED"}


class HubSpotContactOptions(BaseModel):
    """The keys of a `hubspot_contact` notify entry besides the record expression."""

    model_config = ConfigDict(extra="forbid")

    token_env: str = DEFAULT_TOKEN_ENV
    properties: dict[str, str] = Field(default_factory=dict)
    dispositions: dict[str, str] = Field(default_factory=dict)

    @field_validator("token_env")
    @classmethod
    def _env(cls, value: str) -> str:
        if not ENV_NAME.match(value):
            raise ValueError("must name an environment variable (letters, digits, _)")
        return value

    @field_validator("properties")
    @classmethod
    def _properties(cls, value: dict[str, str]) -> dict[str, str]:
        for name, source in value.items():
            if not PROPERTY_NAME.match(name):
                raise ValueError(f"{name!r} is not a HubSpot property's internal name")
            if source not in RESULT_FIELDS:
                raise ValueError(f"{name}: {source!r} is not one of {', '.join(RESULT_FIELDS)}")
        return value


HUBSPOT_CONTACT = WriteBackKind(
    kind="hubspot_contact",
    crm="HubSpot",
    options=HubSpotContactOptions,
    record_id=re.compile(r"[0-9]{1,20}"),
    record_id_hint="a HubSpot contact id (digits)",
)


def auth_hint(config: dict[str, Any]) -> AuthHint:
    """How to explain a refused token for this delivery."""
    env = str(config.get("token_env") or DEFAULT_TOKEN_ENV)
    return AuthHint("HubSpot", env, f"a private app access token with the scopes {SCOPES}")


def call_properties(result: CallResult, dispositions: dict[str, str]) -> dict[str, Any]:
    """The call engagement's properties for `result`."""
    moment = result.ended_at or result.started_at
    props: dict[str, Any] = {
        "hs_timestamp": moment.isoformat().replace("+00:00", "Z") if moment else None,
        "hs_call_title": title(result),
        "hs_call_body": result_html(result),
        "hs_call_status": CALL_STATUS.get(result.status, "COMPLETED"),
        "hs_call_direction": "OUTBOUND",  # web or phone, the gateway reached out
        "hs_call_external_id": marker(result.call_id),
    }
    if result.type == "outbound":  # a phone call: HubSpot shows the numbers on the call
        props["hs_call_to_number"] = result.to_number
        props["hs_call_from_number"] = result.from_number
    if result.duration_seconds is not None:
        props["hs_call_duration"] = str(round(result.duration_seconds * 1000))
    if result.recording_url:
        props["hs_call_recording_url"] = result.recording_url
    if result.outcome and result.outcome in dispositions:
        props["hs_call_disposition"] = dispositions[result.outcome]
    return {k: v for k, v in props.items() if v is not None}


def contact_updates(result: CallResult, properties: dict[str, str]) -> dict[str, str]:
    """Contact property values copied from the result (missing values clear the property)."""
    data = result.model_dump(mode="json")
    return {
        name: "" if data.get(src) is None else str(data[src]) for name, src in properties.items()
    }


class HubSpotContactDestination:
    """Registered as `hubspot_contact`; one HTTP client for every portal it writes to."""

    name = "hubspot_contact"
    # Sent again when the recording becomes available: the logged call gets its link.
    updates_in_place = True

    def __init__(self, api_url: str = DEFAULT_API_URL, *, timeout: float = TIMEOUT_SECONDS):
        self._http = crm_client(api_url, timeout=timeout)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def deliver(self, attempt: DeliveryAttempt, result: CallResult) -> DeliveryOutcome:
        """Log the call on the contact once, then update the contact's properties."""
        config = attempt.config
        options = HubSpotContactOptions.model_validate(
            {k: v for k, v in config.items() if k != "record_id"}
        )
        contact = str(config.get("record_id") or "")
        if not contact:
            return DeliveryOutcome(ok=False, error="HubSpot: no contact id", permanent=True)
        auth = auth_hint(config)
        try:
            token = credential(config, "token_env", auth)
            portal = _Portal(self._http, token, auth, contact)
            await portal.check_contact()
            engagement, created = await write_once(
                attempt,
                what="HubSpot call",
                find=lambda: portal.find_call(marker(result.call_id)),
                create=lambda: portal.create_call(call_properties(result, options.dispositions)),
            )
            if not created and result.recording_url:
                # An earlier write exists and this result may be newer (its recording link).
                await portal.update_call(engagement, call_properties(result, options.dispositions))
            if options.properties:
                await portal.update_contact(contact_updates(result, options.properties))
        except CrmFailure as exc:
            return exc.outcome
        except httpx.HTTPError as exc:
            return transport_failure(exc, crm="HubSpot")
        log.info(
            "hubspot.call_logged",
            call_id=result.call_id,
            contact=contact,
            engagement=engagement,
            created=created,
        )
        return DeliveryOutcome(ok=True, status_code=201 if created else 200)


class _Portal:
    """The requests of one try, with the token of one portal."""

    def __init__(self, http: httpx.AsyncClient, token: str, auth: AuthHint, contact: str):
        self.http = http
        self.headers = {"Authorization": f"Bearer {token}"}
        self.auth = auth
        self.contact = contact

    async def _send(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        response = await self.http.request(method, path, headers=self.headers, **kwargs)
        return check(response, what=what, auth=self.auth).json()

    async def check_contact(self) -> None:
        await self._send(
            "GET",
            f"/crm/v3/objects/contacts/{self.contact}",
            f"contact {self.contact}",
            params={"properties": "hs_object_id"},
        )

    async def create_call(self, properties: dict[str, Any]) -> str:
        body = {
            "properties": properties,
            "associations": [
                {
                    "to": {"id": self.contact},
                    "types": [
                        {
                            "associationCategory": "HUBSPOT_DEFINED",
                            "associationTypeId": CALL_TO_CONTACT,
                        }
                    ],
                }
            ],
        }
        created = await self._send(
            "POST", "/crm/v3/objects/calls", f"a call on contact {self.contact}", json=body
        )
        return str(created["id"])

    async def update_call(self, engagement: str, properties: dict[str, Any]) -> None:
        await self._send(
            "PATCH",
            f"/crm/v3/objects/calls/{engagement}",
            f"call {engagement}",
            json={"properties": properties},
        )

    async def find_call(self, external_id: str) -> str | None:
        """This call's engagement on the contact, if an earlier try created it."""
        search = {
            "filterGroups": [
                {
                    "filters": [
                        {
                            "propertyName": "hs_call_external_id",
                            "operator": "EQ",
                            "value": external_id,
                        },
                        {
                            "propertyName": "associations.contact",
                            "operator": "EQ",
                            "value": self.contact,
                        },
                    ]
                }
            ],
            "properties": ["hs_call_external_id"],
            "limit": 1,
        }
        found = await self._send(
            "POST", "/crm/v3/objects/calls/search", "the call search", json=search
        )
        if found.get("results"):
            return str(found["results"][0]["id"])
        return await self._find_among_associated(external_id)

    async def _find_among_associated(self, external_id: str) -> str | None:
        # The search index lags writes; the contact's associations do not.
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": ASSOCIATIONS_PAGE}
            if after:
                params["after"] = after
            page = await self._send(
                "GET",
                f"/crm/v4/objects/contacts/{self.contact}/associations/calls",
                f"contact {self.contact}",
                params=params,
            )
            ids = [str(item["toObjectId"]) for item in page.get("results") or []]
            for start in range(0, len(ids), BATCH_READ_LIMIT):
                chunk = ids[start : start + BATCH_READ_LIMIT]
                read = await self._send(
                    "POST",
                    "/crm/v3/objects/calls/batch/read",
                    "the contact's calls",
                    json={
                        "properties": ["hs_call_external_id"],
                        "inputs": [{"id": i} for i in chunk],
                    },
                )
                for call in read.get("results") or []:
                    if (call.get("properties") or {}).get("hs_call_external_id") == external_id:
                        return str(call["id"])
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return None

    async def update_contact(self, values: dict[str, str]) -> None:
        await self._send(
            "PATCH",
            f"/crm/v3/objects/contacts/{self.contact}",
            f"contact {self.contact}",
            json={"properties": values},
        )
