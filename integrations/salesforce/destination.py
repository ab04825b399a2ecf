"""The `salesforce_record` destination: one call Task on the record that asked, effectively once.

Config (no secrets): `record_id` (resolved from the hook's expression when the call started),
`client_id_env` and `client_secret_env` (names of the environment variables holding the
connected app's consumer key and secret). The Task's `CallObject` carries the gateway's marker
of the call; after a try whose fate is unknown (the process died waiting for the answer, a
timeout) the destination first asks SOQL for a Task with that marker on that record, and
writes only if there is none: never two Tasks for one call.

The result is sent again when its recording becomes available after it went out
(`updates_in_place`): the retry finds the Task it wrote by its marker and changes its
`Description` in place (`PATCH`), so the recording link joins the summary on the same Task.
"""

from __future__ import annotations

from typing import Any

import httpx
import structlog

from gateway.calls.result import CallResult
from gateway.delivery.crm import (
    AuthHint,
    CrmFailure,
    credential,
    marker,
    transport_failure,
    write_once,
)
from gateway.delivery.registry import DeliveryAttempt, DeliveryOutcome
from integrations.salesforce.api import (
    SalesforceClient,
    SalesforceError,
    TokenRefused,
    soql_quote,
)
from integrations.salesforce.task import (
    call_task,
    is_record_id,
    relation_field,
    task_description,
)

log = structlog.get_logger(__name__)

KIND = "salesforce_record"
CRM = "salesforce"
# Salesforce's answers for a record the Task cannot point at: deleted, never existed, not
# visible to the run-as user, not an id, or an id of an object the field does not take.
RECORD_PROBLEMS = frozenset(
    {
        "INVALID_CROSS_REFERENCE_KEY",
        "ENTITY_IS_DELETED",
        "MALFORMED_ID",
        "FIELD_INTEGRITY_EXCEPTION",
        "INVALID_ID_FIELD",
    }
)
PERMISSION_HINT = (
    "the connected app's run-as user needs the API Enabled permission, Create and Edit on "
    "Tasks (Edit Tasks), and read access to the record"
)
CLIENT_ID = AuthHint(CRM, "SALESFORCE_CLIENT_ID", "the connected app's consumer key")
CLIENT_SECRET = AuthHint(CRM, "SALESFORCE_CLIENT_SECRET", "the connected app's consumer secret")


class SalesforceRecordDestination:
    """Registered on `ctx.destinations` as `salesforce_record`."""

    name = KIND
    # Sent again when the recording becomes available: the Task gets the link in place.
    updates_in_place = True

    def __init__(self, login_url: str | None, *, http: httpx.AsyncClient | None = None) -> None:
        self.login_url = login_url
        self._http = http or httpx.AsyncClient(follow_redirects=False)
        self._clients: dict[tuple[str, str], SalesforceClient] = {}

    async def aclose(self) -> None:
        await self._http.aclose()

    async def deliver(self, attempt: DeliveryAttempt, result: CallResult) -> DeliveryOutcome:
        """Write the call Task unless an earlier, uncertain try already did."""
        config = attempt.config
        record = str(config.get("record_id") or "")
        if not is_record_id(record):
            return _dead(f"salesforce: {record!r} is not a Salesforce record id (15 or 18 letters)")
        if not self.login_url:
            return _dead("salesforce: SALESFORCE_LOGIN_URL is not set (your org's My Domain URL)")
        tag = marker(result.call_id)
        try:
            client = self._client(config)
            task_id, created = await write_once(
                attempt,
                what=f"Task on {record}",
                find=lambda: _find_own_task(client, tag, record),
                create=lambda: client.create("Task", call_task(result, record, tag)),
            )
            if not created and result.recording_url:
                # The Task exists and this result may be newer (its recording link).
                await _update_description(client, task_id, record, result)
        except CrmFailure as exc:
            return exc.outcome
        except TokenRefused as exc:
            return _dead(
                f"salesforce: the org refused the connected app's credentials ({exc.code}: "
                f"{exc.message}); check {config.get('client_id_env')} and "
                f"{config.get('client_secret_env')}, and that the app enables the client "
                "credentials flow with a run-as user",
                status=exc.status,
            )
        except SalesforceError as exc:
            return _failure(exc, record)
        except httpx.HTTPError as exc:
            return transport_failure(exc, crm=CRM)
        log.info(
            "salesforce.task_created" if created else "salesforce.task_found",
            call_id=result.call_id,
            record_id=record,
            task=task_id,
        )
        return DeliveryOutcome(ok=True, status_code=201 if created else 200)

    def _client(self, config: dict[str, Any]) -> SalesforceClient:
        client_id = credential(config, "client_id_env", CLIENT_ID)
        secret = credential(config, "client_secret_env", CLIENT_SECRET)
        key = (client_id, secret)
        client = self._clients.get(key)
        if client is None:
            assert self.login_url is not None
            client = SalesforceClient(self.login_url, client_id, secret, http=self._http)
            self._clients[key] = client
        return client


async def _find_own_task(client: SalesforceClient, tag: str, record: str) -> str | None:
    """The id of a Task this destination wrote earlier for the call on `record`, if any."""
    soql = (
        f"SELECT Id FROM Task WHERE CallObject = {soql_quote(tag)} "  # noqa: S608
        f"AND {relation_field(record)} = {soql_quote(record)}"
    )
    found = await client.query(soql)
    return str(found[0]["Id"]) if found else None


async def _update_description(
    client: SalesforceClient, task_id: str, record: str, result: CallResult
) -> None:
    """Put the newer result's text in the Task's `Description`; a Task gone meanwhile is a
    dead letter that says so (the org lost it, not the record)."""
    try:
        await client.update("Task", task_id, {"Description": task_description(result)})
    except SalesforceError as exc:
        if exc.status == 404:
            raise CrmFailure(
                _dead(
                    f"salesforce: the call's Task {task_id} on {record} was deleted before the "
                    f"recording link could be added to it: {exc}",
                    status=exc.status,
                )
            ) from exc
        raise


def _dead(message: str, *, status: int | None = None) -> DeliveryOutcome:
    return DeliveryOutcome(ok=False, status_code=status, error=message, permanent=True)


def _failure(exc: SalesforceError, record: str) -> DeliveryOutcome:
    """Retry what time can fix (limits, outages); dead-letter what needs an admin."""
    status, code = exc.status, exc.code
    if status == 429 or code == "REQUEST_LIMIT_EXCEEDED":
        # The org's API request limit (a rolling 24 h count): the schedule's later tries fit.
        return DeliveryOutcome(
            ok=False, status_code=status, error=f"salesforce: {exc}", retry_after=exc.retry_after
        )
    if status is None or status >= 500 or status == 401:
        return DeliveryOutcome(ok=False, status_code=status, error=f"salesforce: {exc}")
    if code in RECORD_PROBLEMS:
        return _dead(
            f"salesforce: record {record} cannot take the Task (deleted, not visible to the "
            f"run-as user, or not a record a Task can point at): {exc}",
            status=status,
        )
    if status == 403:
        return _dead(f"salesforce: {exc}; {PERMISSION_HINT}", status=status)
    return _dead(f"salesforce: {exc}", status=status)
