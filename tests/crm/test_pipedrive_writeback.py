"""`pipedrive_person`: each call's result lands once as a note on the person that asked (and,
if configured, a done call activity), against a Pipedrive stand-in on loopback."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.crm_rig import CrmGateway, crm_gateway
from tests.support.fake_pipedrive import FakePipedrive, Stored
from tests.support.servers import serve_app, wait_until

FIXTURES = Path(__file__).resolve().parents[2] / "integrations" / "pipedrive" / "fixtures"
CONFIG = """
[agents.tester]
create = { first_message = "Hello from the tests" }

[hooks.crm]
preset = "pipedrive"
auth = { scheme = "bearer", token_env = "TEST_HOOK_TOKEN" }
agent = "tester"

[hooks.crm-deal]
preset = "pipedrive"
auth = { scheme = "bearer", token_env = "TEST_HOOK_TOKEN" }
agent = "tester"
notify = [{ pipedrive_person = "body.data.id", activity = true, pipedrive_deal = "body.deal_id" }]

[hooks.crm-ring]
preset = "pipedrive"
action = "start_phone_call"
auth = { scheme = "bearer", token_env = "TEST_HOOK_TOKEN" }
agent = "tester"
"""


@pytest.fixture(scope="module")
def pipedrive() -> Iterator[FakePipedrive]:
    fake = FakePipedrive(reset_seconds=2)
    with serve_app(fake.app) as server:
        fake.url = server.url  # type: ignore[attr-defined]
        yield fake


def pipedrive_env(pipedrive: FakePipedrive) -> dict[str, str]:
    return {"PIPEDRIVE_API_URL": pipedrive.url, "PIPEDRIVE_API_TOKEN": pipedrive.token}  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def gw(pipedrive: FakePipedrive, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrmGateway]:
    env = pipedrive_env(pipedrive)
    with crm_gateway(tmp_path_factory.mktemp("pipedrive-wb"), CONFIG, env) as gateway:
        yield gateway


@pytest.fixture(autouse=True)
def fresh(pipedrive: FakePipedrive) -> Iterator[None]:
    token = pipedrive.token
    pipedrive.add_person(3, "Ada Lovelace")
    yield
    pipedrive.token = token
    pipedrive.faults.clear()
    pipedrive.persons.clear()
    pipedrive.notes.clear()
    pipedrive.activities.clear()


def person_event(person_id: int = 3, **extra: Any) -> dict[str, Any]:
    body = json.loads((FIXTURES / "person-updated.json").read_text())
    body["data"]["id"] = person_id
    body["meta"]["id"] = str(uuid.uuid4())  # Pipedrive's event id: the preset's idempotency key
    return {**body, **extra}


def test_the_preset_adds_one_note_with_summary_and_outcome_to_the_person(
    pipedrive: FakePipedrive, tmp_path: Path, database_url: str
) -> None:
    # The happy path on SQLite and on PostgreSQL (its own gateway on that store).
    env = pipedrive_env(pipedrive)
    with crm_gateway(tmp_path, CONFIG, env, database_url=database_url) as gw:
        call_id = gw.call_and_finish("crm", person_event())
        done = gw.settled(call_id, "pipedrive_person")
    assert done.state == "delivered", done.last_error
    (note,) = pipedrive.notes_of(3)
    content = note.fields["content"]
    assert "Interested" in content and "Asked for a demo next Tuesday." in content
    assert f"[oneinbox:{call_id}]" in content
    assert "Phone call to" not in content  # a web call dials no number
    assert pipedrive.activities == {}
    posts = pipedrive.requests("POST", "/api/v1/notes")
    assert all(p.headers["x-api-token"] == pipedrive.token for p in posts)
    assert all("api_token" not in p.query for p in pipedrive.seen)  # never in a URL


def test_a_phone_calls_note_names_the_number_dialled(
    gw: CrmGateway, pipedrive: FakePipedrive
) -> None:
    call_id = gw.call_and_finish("crm-ring", person_event())  # primary phone +14155550100
    done = gw.settled(call_id, "pipedrive_person")
    assert done.state == "delivered", done.last_error
    (note,) = pipedrive.notes_of(3)
    assert "<strong>Phone call to:</strong> +14155550100" in note.fields["content"]


def test_a_done_call_activity_and_the_deal_when_configured(
    gw: CrmGateway, pipedrive: FakePipedrive
) -> None:
    call_id = gw.call_and_finish("crm-deal", person_event(deal_id=77))
    done = gw.settled(call_id, "pipedrive_person")
    assert done.state == "delivered", done.last_error
    assert done.config["pipedrive_deal"] == "77"
    (note,) = pipedrive.notes_of(3)
    assert note.fields["deal_id"] == 77
    (activity,) = pipedrive.activities_of(3)
    assert activity.fields["type"] == "call" and activity.fields["done"] is True
    assert activity.fields["deal_id"] == 77
    assert f"[oneinbox:{call_id}]" in activity.fields["note"]


def test_a_failure_between_note_and_activity_adds_neither_twice(
    gw: CrmGateway, pipedrive: FakePipedrive
) -> None:
    for n in range(150):  # earlier notes: the search for ours pages through them
        pipedrive.notes[10_000 + n] = Stored(10_000 + n, {"content": "<p>met</p>", "person_id": 3})
    pipedrive.fail(503, method="POST", path="/api/v2/activities")
    call_id = gw.call_and_finish("crm-deal", person_event(deal_id=77))
    done = gw.settled(call_id, "pipedrive_person")
    assert done.state == "delivered", done.last_error
    assert [status for status, _ in done.tries] == [503, 200]  # 200: the note was found
    assert len([n for n in pipedrive.notes_of(3) if call_id in n.fields["content"]]) == 1
    assert len(pipedrive.activities_of(3)) == 1
    notes_read = pipedrive.requests("GET", "/api/v1/notes")
    assert any("start=100" in r.query for r in notes_read)  # paged


def test_a_rate_limit_waits_for_x_ratelimit_reset(gw: CrmGateway, pipedrive: FakePipedrive) -> None:
    pipedrive.fail(429, times=1)
    call_id = gw.call_and_finish("crm", person_event())
    done = gw.settled(call_id, "pipedrive_person")
    assert done.state == "delivered"
    assert [status for status, _ in done.tries] == [429, 201]
    limited = [s for s in pipedrive.seen if s.status == 429]
    after = [s for s in pipedrive.seen if s.at > limited[0].at]
    assert after[0].at - limited[0].at >= 1.9  # x-ratelimit-reset: 2
    assert len(pipedrive.notes_of(3)) == 1


@pytest.mark.parametrize("gone", ["missing", "deleted"])
def test_a_missing_or_deleted_person_is_a_dead_letter_without_retries(
    gw: CrmGateway, pipedrive: FakePipedrive, gone: str
) -> None:
    if gone == "deleted":
        pipedrive.add_person(4, "Gone", active=False)
    call_id = gw.call_and_finish("crm", person_event(4))
    done = gw.settled(call_id, "pipedrive_person")
    assert done.state == "dead" and done.attempts == 1
    assert done.last_error is not None and "person 4" in done.last_error
    assert pipedrive.notes_of(4) == []


def test_a_refused_token_names_the_variable(gw: CrmGateway, pipedrive: FakePipedrive) -> None:
    pipedrive.token = "f" * 40
    call_id = gw.call_and_finish("crm", person_event())
    done = gw.settled(call_id, "pipedrive_person")
    assert done.state == "dead" and done.tries[-1][0] == 401
    assert done.last_error is not None and "PIPEDRIVE_API_TOKEN" in done.last_error
    assert pipedrive.notes == {}


def test_a_recording_ready_after_the_result_is_added_to_the_note(
    gw: CrmGateway, pipedrive: FakePipedrive
) -> None:
    gw.gateway.sim_config(recording_delay=4, analysis_delay=0.3)
    try:
        response = gw.post("crm", person_event())
        assert response.status_code == 202, response.text
        call_id = str(response.json()["call_id"])
        gw.gateway.join_call(call_id)
        gw.gateway.end_call(call_id)
        assert gw.settled(call_id, "pipedrive_person").state == "delivered"
        (note,) = pipedrive.notes_of(3)
        assert "/recordings/" not in note.fields["content"]  # not recorded yet
        wait_until(
            lambda: "/recordings/" in pipedrive.notes_of(3)[0].fields["content"],
            timeout=30,
            what="the recording link in the note",
        )
        assert gw.gateway.url + "/recordings/" in pipedrive.notes_of(3)[0].fields["content"]
        assert len(pipedrive.notes_of(3)) == 1  # edited in place, not added twice
    finally:
        gw.gateway.sim_config(recording_delay=0.5, analysis_delay=2.0)
