"""Write-back to a CRM record: the pieces every CRM destination shares.

A CRM destination (`hubspot_contact`, `pipedrive_person`, `salesforce_record`, …) lives in
its integration's folder and builds on four things here; none of them knows any CRM.

Note for the author of a CRM destination:

1. **Declare the notify entry** with a `WriteBackKind` (`kinds.py`) and expose it as
   `write_backs` on the integration object (the one in the `oneinbox_gateway.integrations`
   entry point group). The hooks integration then accepts
   `notify = [{ <kind> = "<expression>", <option> = … }]`: the expression is evaluated when
   the request arrives, checked against `record_id`, and stored with the delivery as
   `config["record_id"]` (plus your validated options, and any `mapped` option resolved the
   same way). A queued result therefore always goes to the record that asked, whatever
   happens to the hook's mapping later. Options ending in `_env` name environment
   variables; start-up fails when one is unset, so a typo shows at once.
2. **Read credentials** at delivery time with `credential(config, "token_env", auth)`; an
   unset variable is a dead letter whose message names the variable.
3. **Map CRM answers** with `failure(response, what=…, auth=…)` (`failures.py`): 401/403
   dead-letter naming the env var and the scopes, 404 dead-letters (the record is gone),
   429 waits as long as `Retry-After` / `X-HubSpot-RateLimit-*` / `x-ratelimit-reset` ask,
   5xx and transport errors retry on the outbox schedule, other 4xx dead-letter with the
   CRM's own message. Raise `CrmFailure(outcome)` from anywhere inside `deliver()` and turn
   it into the outcome with `outcome_of(exc)`, or catch it yourself.
4. **Create at most once** with `write_once(attempt, find=…, create=…)` (`once.py`): after
   an uncertain try (a crash, a timeout) or any retry, `find` looks for your own earlier
   write first, by `marker(call_id)` (or the call id in a filterable field), with the CRM's
   own query API (HubSpot search, SOQL, a person's notes); only if nothing is found is the
   object created. Make `find` read something the CRM makes consistent at once: HubSpot's
   search index lags writes by seconds, so it also walks the contact's associations.
5. **Write the same words** with `result_html(result)` / `result_text(result)` / `title()`
   (`text.py`): outcome, summary, duration, the number of a phone call, recording link,
   transcript, and the marker.
"""

from gateway.delivery.crm.failures import (
    AuthHint,
    CrmFailure,
    check,
    failure,
    outcome_of,
    rate_limit_wait,
    transport_failure,
)
from gateway.delivery.crm.kinds import (
    WriteBackKind,
    credential,
    credential_envs,
    record_destination,
    write_back_kinds,
)
from gateway.delivery.crm.once import marker, may_exist, write_once
from gateway.delivery.crm.text import phone_words, result_html, result_text, title

__all__ = [
    "AuthHint",
    "CrmFailure",
    "WriteBackKind",
    "check",
    "credential",
    "credential_envs",
    "failure",
    "marker",
    "may_exist",
    "outcome_of",
    "phone_words",
    "rate_limit_wait",
    "record_destination",
    "result_html",
    "result_text",
    "title",
    "transport_failure",
    "write_back_kinds",
    "write_once",
]
