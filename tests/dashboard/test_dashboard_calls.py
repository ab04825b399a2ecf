"""The calls list and the success rates over real HTTP, on SQLite and PostgreSQL.

Calls are written into the store as the gateway writes them (a row and its timeline), with
times spread over days so that filters, windows and pages have something to tell apart.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.store.tables import CallEventRow, CallRow, DeliveryRow, utcnow
from tests.admin.rig import ADMIN_TOKEN, AdminRig, admin_rig

NOW = utcnow().replace(microsecond=0)


@pytest.fixture
def board(tmp_path: Path, database_url: str) -> Iterator[AdminRig]:
    with admin_rig(tmp_path, database_url=database_url) as rig:
        rig.database_url = database_url
        yield rig


def signed_in(rig: AdminRig) -> httpx.Client:
    client = httpx.Client(base_url=rig.url, timeout=15)
    assert client.post("/dashboard/login", data={"token": ADMIN_TOKEN}).status_code == 303
    return client


def seed(rig: AdminRig, calls: list[dict[str, Any]]) -> None:
    """Each dict: id, created_at, and optionally states (the timeline), origin, agent, result."""

    async def write(session: Any) -> None:
        for spec in calls:
            states = spec.get("states", ["started"])
            kind, _, name = spec.get("origin", "hook:new-lead").partition(":")
            session.add(
                CallRow(
                    id=spec["id"],
                    agent_id=spec.get("agent_id", "agt_sales"),
                    agent_name=spec.get("agent", "sales"),
                    origin_kind=kind,
                    origin_name=name,
                    state=states[-1],
                    result=spec.get("result"),
                    created_at=spec["created_at"],
                )
            )
        await session.flush()
        for spec in calls:
            states = spec.get("states", ["started"])
            for before, after in zip([None, *states], states, strict=False):
                session.add(
                    CallEventRow(
                        call_id=spec["id"], from_state=before, to_state=after, at=spec["created_at"]
                    )
                )
            for key, state in spec.get("deliveries", []):
                session.add(
                    DeliveryRow(
                        id=f"dlv_{spec['id']}_{len(key)}_{state}",
                        call_id=spec["id"],
                        destination=key.split(":")[0] if key.startswith("slack:") else "callback",
                        destination_key=key,
                        config={},
                        state=state,
                        attempts=1,
                        created_at=spec["created_at"],
                    )
                )

    rig.run(write)


def listed(page: httpx.Response) -> list[str]:
    """The call ids of a calls table, in the order shown."""
    table = page.text.split('<table id="calls">', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<a href="/dashboard/calls/(call_[^"]+)">', table)


def link(page: httpx.Response, element_id: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" id="{element_id}"', page.text)
    return html.unescape(found.group(1)) if found else None


def test_paging_walks_every_call_once_newest_first_and_back(board: AdminRig) -> None:
    # 130 calls, some sharing a timestamp: the id breaks ties, so no call is skipped or doubled.
    calls = [
        {"id": f"call_{i:04d}", "created_at": NOW - timedelta(minutes=i // 3)} for i in range(130)
    ]
    seed(board, calls)
    expected = [c["id"] for c in sorted(calls, key=lambda c: (c["created_at"], c["id"]))][::-1]
    client = signed_in(board)

    first = client.get("/dashboard/calls")
    assert first.status_code == 200
    assert "130 calls match" in first.text
    assert link(first, "page-newer") is None
    seen, pages, page = listed(first), [listed(first)], first
    while (older := link(page, "page-older")) is not None:
        page = client.get(older)
        assert page.status_code == 200
        pages.append(listed(page))
        seen += pages[-1]
    assert seen == expected
    assert [len(p) for p in pages] == [50, 50, 30]

    back = [listed(page)]
    while (newer := link(page, "page-newer")) is not None:
        page = client.get(newer)
        back.append(listed(page))
    assert back == pages[::-1]

    # The overview shows the newest 20 and links to the rest.
    overview = client.get("/")
    assert listed(overview) == expected[:20]
    assert 'href="/dashboard/calls" id="all-calls"' in overview.text
    small = client.get("/dashboard/calls", params={"limit": "7"})
    assert listed(small) == expected[:7]
    older_small = link(small, "page-older")
    assert older_small is not None and "limit=7" in older_small
    assert listed(client.get(older_small)) == expected[7:14]


def test_filters_and_search_choose_exactly_the_matching_calls(board: AdminRig) -> None:
    day = timedelta(days=1)
    seed(
        board,
        [
            {
                "id": "call_hook_ok",
                "created_at": NOW - 3 * day,
                "states": ["started", "live", "ended", "analyzed", "delivered"],
                "result": {"outcome": "Interested", "summary": "Ada wants a DEMO on Friday"},
            },
            {
                "id": "call_hook_failed",
                "created_at": NOW - 2 * day,
                "states": ["started", "failed"],
                "result": {"outcome": "Not Connected", "summary": "nobody answered"},
            },
            {
                "id": "call_other_hook",
                "origin": "hook:renewals",
                "agent": "support",
                "agent_id": "agt_support",
                "created_at": NOW - day,
                "states": ["started", "live"],
            },
            {
                "id": "call_slack",
                "origin": "slack:T1/U2",
                "created_at": NOW - timedelta(hours=1),
                "result": {"outcome": "Interested", "summary": "100% sure, call back"},
                "states": ["started", "live", "ended", "analyzed"],
            },
        ],
    )
    client = signed_in(board)

    def ids(**params: str) -> set[str]:
        page = client.get("/dashboard/calls", params=params)
        assert page.status_code == 200, page.text
        return set(listed(page))

    assert ids(state="live") == {"call_other_hook"}
    assert ids(outcome="Interested") == {"call_hook_ok", "call_slack"}
    assert ids(origin="hook") == {"call_hook_ok", "call_hook_failed", "call_other_hook"}
    assert ids(origin="hook:renewals") == {"call_other_hook"}
    assert ids(origin="slack:T1/U2") == {"call_slack"}
    assert ids(agent="support") == {"call_other_hook"}
    assert ids(agent="agt_support") == {"call_other_hook"}
    assert ids(q="demo") == {"call_hook_ok"}  # in the summary, any case
    assert ids(q="renewals") == {"call_other_hook"}  # the origin's name
    assert ids(q="call_slack") == {"call_slack"}
    assert ids(q="100%") == {"call_slack"}  # % is a character, not a wildcard
    assert ids(q="1%0") == set()
    two_days_ago = (NOW - 2 * day - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
    assert ids(since=two_days_ago) == {"call_hook_failed", "call_other_hook", "call_slack"}
    assert ids(since=two_days_ago, until=(NOW - 2 * day).strftime("%Y-%m-%dT%H:%M:%S+00:00")) == (
        set()
    )
    assert ids(until=(NOW - 3 * day).date().isoformat()) == {"call_hook_ok"}  # the whole day
    assert ids(origin="hook", outcome="Interested", q="friday") == {"call_hook_ok"}
    assert ids(state="", outcome="", q="") == {  # an empty field is no filter
        "call_hook_ok",
        "call_hook_failed",
        "call_other_hook",
        "call_slack",
    }
    # The form shows the search back, and each cell links to its filter.
    page = client.get("/dashboard/calls", params={"q": "demo", "state": "delivered"})
    assert 'value="demo"' in page.text and '<option value="delivered" selected>' in page.text
    assert 'href="/dashboard/calls?origin=hook%3Anew-lead"' in page.text
    assert "1 call matches" in page.text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"state": "bogus"}, "state &#39;bogus&#39; is not one of: started, live"),
        ({"since": "yesterday"}, "since is a date (2025-01-31) or a date and time"),
        ({"until": "9999-12-31"}, "until is a date"),
        ({"since": "2025-02-01", "until": "2025-01-01"}, "since must be earlier than until"),
        ({"limit": "0"}, "limit is a number of calls from 1 to 200"),
        ({"limit": "²"}, "limit is a number of calls"),
        ({"before": "not-a-mark"}, "before is not a page link this dashboard made"),
        ({"after": "bm8tYmFy"}, "after is not a page link this dashboard made"),
        ({"origin": "Hook Name"}, "origin is a kind (hook, slack, admin, dashboard) or kind:name"),
        ({"q": "x" * 201}, "q is at most 200 characters"),
    ],
)
def test_a_bad_filter_is_a_400_that_says_what_is_wrong(
    board: AdminRig, params: dict[str, str], message: str
) -> None:
    seed(board, [{"id": "call_one", "created_at": NOW}])
    page = signed_in(board).get("/dashboard/calls", params=params)
    assert page.status_code == 400
    assert 'id="filter-problems"' in page.text
    assert message in page.text
    assert listed(page) == []


def test_success_rates_per_origin_and_destination_over_a_window(board: AdminRig) -> None:
    hook = "https://crm.example/results"
    done = ["started", "live", "ended", "analyzed", "delivered"]
    recent, old = NOW - timedelta(hours=2), NOW - timedelta(days=10)

    def call(call_id: str, states: list[str], *deliveries: tuple[str, str]) -> Any:
        return {"id": call_id, "created_at": recent, "states": states, "deliveries": deliveries}

    seed(
        board,
        [
            call("call_a1", done, (hook, "delivered")),
            call("call_a2", done[:4], (hook, "dead")),
            call("call_a3", ["started", "failed", "delivered"], (hook, "delivered"),
                 ("slack:C1", "pending")),
            call("call_a4", ["started", "expired"]),
            call("call_a5", ["started", "live"]),
            {**call("call_b1", done, ("slack:C1", "delivered")), "origin": "slack:T1/U2"},
            # Ten days ago: outside 7 days, inside 30.
            {**call("call_a6", done, (hook, "disabled")), "created_at": old},
        ],
    )  # fmt: skip
    client = signed_in(board)

    def rows(page: httpx.Response, table: str) -> list[list[str]]:
        body = page.text.split(f'<table id="{table}">', 1)[1].split("</table>", 1)[0]
        found = []
        for row in re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>", 1)[1], re.S):
            cells = re.findall(r"<td>(.*?)</td>", row, re.S)
            found.append([re.sub(r"<[^>]+>", "", c).strip() for c in cells])
        return found

    week = client.get("/dashboard/rates")  # 7 days unless asked
    assert week.status_code == 200
    # origin, calls, succeeded, failed, under way, success
    assert rows(week, "origin-rates") == [
        ["hook · new-lead", "5", "2", "2", "1", "50.0 %"],
        ["slack · T1/U2", "1", "1", "0", "0", "100.0 %"],
    ]
    assert rows(week, "destination-rates") == [
        [f"callback · {hook}", "3", "2", "1", "0", "66.7 %"],
        ["slack · slack:C1", "2", "1", "0", "1", "100.0 %"],
    ]
    month = client.get("/dashboard/rates", params={"window": "30d"})
    assert rows(month, "origin-rates")[0] == ["hook · new-lead", "6", "3", "2", "1", "60.0 %"]
    assert rows(month, "destination-rates")[0] == [
        f"callback · {hook}", "4", "2", "2", "0", "50.0 %"
    ]  # fmt: skip
    hour = client.get("/dashboard/rates", params={"window": "1h"})
    assert "No calls in the last 1h." in hour.text
    assert "No results sent in the last 1h." in hour.text

    bad = client.get("/dashboard/rates", params={"window": "forever"})
    assert bad.status_code == 400
    assert "window &#39;forever&#39; is not one of: 1h, 24h, 7d, 30d" in bad.text


@pytest.mark.parametrize("path", ["/dashboard/calls?q=call", "/dashboard/rates"])
def test_the_new_pages_need_a_session(board: AdminRig, path: str) -> None:
    seed(board, [{"id": "call_secret", "created_at": NOW, "deliveries": [("slack:C9", "dead")]}])
    page = httpx.get(board.url + path)
    assert 'action="/dashboard/login"' in page.text
    assert "call_secret" not in page.text and "slack:C9" not in page.text
    assert 'href="/dashboard/calls"' not in page.text  # no navigation for strangers


def test_add_to_slack_shows_only_with_slack_oauth_and_leads_to_the_install_page(
    tmp_path: Path,
) -> None:
    slack = {"slack_signing_secret": "dashboard-test-signing-secret"}
    oauth = {"slack_client_id": "1234.5678", "slack_client_secret": "oauth-client-secret-x"}
    button = '<a class="header-action" id="add-to-slack" href="/slack/install">Add to Slack</a>'
    for name in ("oauth", "token", "half"):
        (tmp_path / name).mkdir()
    with admin_rig(tmp_path / "oauth", **slack, **oauth) as rig:
        assert button in signed_in(rig).get("/").text
        assert button in signed_in(rig).get("/dashboard/rates").text  # on every page
        assert "add-to-slack" not in httpx.get(rig.url + "/").text  # not for strangers
        install = httpx.get(rig.url + "/slack/install")
        assert install.status_code == 200
        assert "https://slack.com/oauth/v2/authorize?" in install.text
        assert "client_id=1234.5678" in install.text
    with admin_rig(tmp_path / "token", **slack, slack_bot_token="xoxb-one-workspace") as rig:
        assert "add-to-slack" not in signed_in(rig).get("/").text
    with admin_rig(tmp_path / "half", **slack, slack_client_id="1234.5678") as rig:
        assert "add-to-slack" not in signed_in(rig).get("/").text  # no secret: no OAuth
