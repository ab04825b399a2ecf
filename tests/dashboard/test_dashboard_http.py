"""The dashboard over real HTTP: sign-in, the session cookie, CSRF, and bad forms."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from gateway.store.tables import CallRow
from tests.admin.rig import ADMIN_TOKEN, AdminRig, admin_rig

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def sign_in(rig: AdminRig) -> tuple[httpx.Client, str]:
    """A browser-like client with a session; returns it and the page's CSRF token."""
    client = httpx.Client(base_url=rig.url)
    answer = client.post("/dashboard/login", data={"token": ADMIN_TOKEN})
    assert answer.status_code == 303
    page = client.get("/")
    assert page.status_code == 200
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match is not None
    return client, match.group(1)


def test_without_a_session_the_dashboard_asks_for_the_token_and_shows_no_data(
    rig: AdminRig,
) -> None:
    call_id = rig.start_call()["call_id"]
    for path in ("/", f"/dashboard/calls/{call_id}"):
        page = httpx.get(rig.url + path)
        assert page.status_code == 200
        assert 'action="/dashboard/login"' in page.text
        assert call_id not in page.text


def test_a_wrong_token_is_refused_without_a_cookie(rig: AdminRig) -> None:
    answer = httpx.post(rig.url + "/dashboard/login", data={"token": "guess"})
    assert answer.status_code == 401
    assert "That token is not right" in answer.text
    assert "set-cookie" not in answer.headers
    assert "guess" not in answer.text


def test_the_session_cookie_is_httponly_and_strict(rig: AdminRig) -> None:
    answer = httpx.post(rig.url + "/dashboard/login", data={"token": ADMIN_TOKEN})
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "secure" not in cookie  # plain http on loopback
    assert ADMIN_TOKEN.lower() not in cookie


def test_the_cookie_is_secure_behind_https(tmp_path: Path) -> None:
    with admin_rig(tmp_path, public_base_url="https://gateway.example") as rig:
        answer = httpx.post(rig.url + "/dashboard/login", data={"token": ADMIN_TOKEN})
        assert "secure" in answer.headers["set-cookie"].lower()


def test_a_forged_or_tampered_cookie_is_a_signed_out_browser(rig: AdminRig) -> None:
    client, _ = sign_in(rig)
    value = client.cookies["gw_session"]
    for forged in (value[:-2] + "xx", "e30.AAAA", "nonsense"):
        page = httpx.get(rig.url + "/", cookies={"gw_session": forged})
        assert 'action="/dashboard/login"' in page.text


def test_replay_needs_the_session_and_its_csrf_token(rig: AdminRig) -> None:
    call_id = rig.start_call()["call_id"]
    rig.seed_delivery(call_id, state="dead", delivery_id="dlv_dead")
    path = "/dashboard/deliveries/dlv_dead/replay"

    signed_out = httpx.post(rig.url + path, data={"csrf": "x"})
    assert signed_out.status_code == 401
    client, csrf = sign_in(rig)
    assert "dlv_dead" in client.get("/").text  # listed among failed deliveries
    for bad in ({"next": "/"}, {"csrf": "not-the-token"}):
        assert client.post(path, data=bad).status_code == 403
    row = rig.delivery("dlv_dead")
    assert row is not None and row.state == "dead"  # nothing changed

    done = client.post(path, data={"csrf": csrf, "next": "//evil.example/"})
    assert done.status_code == 303
    assert done.headers["location"] == "/"  # never an open redirect
    rig.replayed("dlv_dead")


def test_bad_forms_get_clear_errors_and_change_nothing(rig: AdminRig) -> None:
    client, csrf = sign_in(rig)
    huge = client.post("/dashboard/try", content=b"csrf=" + b"a" * (1024 * 1024 + 10), headers=FORM)
    assert huge.status_code == 413
    json_body = client.post("/dashboard/try", json={"csrf": csrf, "agent": "sales"})
    assert json_body.status_code == 415
    missing = client.post("/dashboard/try", data={"csrf": csrf})
    assert missing.status_code == 422
    assert "pick an agent" in missing.text
    unknown = client.post("/dashboard/try", data={"csrf": csrf, "agent": "nobody"})
    assert unknown.status_code == 404
    assert rig.count(CallRow) == 0
    assert rig.upstream_web_calls() == 0


def test_a_call_page_shows_its_timeline_and_unknown_calls_get_404(rig: AdminRig) -> None:
    call_id = rig.start_call()["call_id"]
    client, _ = sign_in(rig)
    page = client.get(f"/dashboard/calls/{call_id}")
    assert page.status_code == 200
    assert "started by admin" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert client.get("/dashboard/calls/call_nope").status_code == 404


def test_sign_out_needs_csrf_and_clears_the_session(rig: AdminRig) -> None:
    client, csrf = sign_in(rig)
    assert client.post("/dashboard/logout", data={"x": "1"}).status_code == 403
    out = client.post("/dashboard/logout", data={"csrf": csrf})
    assert out.status_code == 303
    assert 'action="/dashboard/login"' in client.get("/").text


@pytest.mark.parametrize("local", [False, True])
def test_without_admin_token_remote_mode_shows_a_landing_page_and_local_mode_is_open(
    tmp_path: Path, local: bool
) -> None:
    overrides: dict[str, object] = {"admin_token": None}
    if not local:
        overrides.update(oneinbox_api_key="oi_sk_not_used", oneinbox_base_url="http://127.0.0.1:9")
    with admin_rig(tmp_path, **overrides) as rig:
        page = httpx.get(rig.url + "/")
        assert page.status_code == 200
        if local:
            assert "Try a call" in page.text
            assert "needs no token" in page.text
            assert "httponly" in page.headers["set-cookie"].lower()
        else:
            assert "set <code>ADMIN_TOKEN</code>" in page.text.replace("Set", "set")
            assert "Try a call" not in page.text
            assert httpx.post(rig.url + "/dashboard/try", data={"x": "1"}).status_code == 401


POSTS = [
    "/dashboard/logout",
    "/dashboard/deliveries/dlv_x/replay",
    "/dashboard/try",
    "/dashboard/calls/call_x/end-simulated",
    "/dashboard/destinations/dst_x/enable",
    "/dashboard/destinations/dst_x/test",
    "/dashboard/destinations/test",
]


@pytest.mark.parametrize("path", POSTS)
def test_every_form_post_checks_session_csrf_size_and_type(rig: AdminRig, path: str) -> None:
    assert httpx.post(rig.url + path, data={"csrf": "x"}).status_code == 401
    client, csrf = sign_in(rig)
    assert client.post(path, data={"csrf": "forged"}).status_code == 403
    big = client.post(path, content=b"csrf=" + b"a" * (1024 * 1024 + 1), headers=FORM)
    assert big.status_code == 413
    assert client.post(path, json={"csrf": csrf}).status_code == 415
    assert rig.count(CallRow) == 0
    assert 'action="/dashboard/login"' not in client.get("/").text  # still signed in


def test_sign_in_refuses_oversized_and_non_form_bodies(rig: AdminRig) -> None:
    big = httpx.post(
        rig.url + "/dashboard/login", content=b"token=" + b"a" * (1024 * 1024 + 1), headers=FORM
    )
    assert big.status_code == 413
    as_json = httpx.post(rig.url + "/dashboard/login", json={"token": ADMIN_TOKEN})
    assert as_json.status_code == 415
    assert "set-cookie" not in as_json.headers
    missing = httpx.post(rig.url + "/dashboard/login", data={"other": "x"})
    assert missing.status_code == 401


def test_guessing_the_token_is_rate_limited(rig: AdminRig) -> None:
    answers = [
        httpx.post(rig.url + "/dashboard/login", data={"token": f"guess-{i}"}).status_code
        for i in range(11)
    ]
    assert answers == [401] * 10 + [429]
    # even the right token waits now: the limit is per address, not per guess
    late = httpx.post(rig.url + "/dashboard/login", data={"token": ADMIN_TOKEN})
    assert late.status_code == 429
    assert int(late.headers["retry-after"]) >= 1


def test_the_overview_shows_use_against_limits_and_the_api_refuses_past_them(
    tmp_path: Path,
) -> None:
    with admin_rig(tmp_path, limit_calls_per_day=2, limit_live_calls=10) as limited:
        limited.start_call()
        client, _ = sign_in(limited)
        table = client.get("/").text.split('<table id="limits">', 1)[1].split("</table>", 1)[0]
        cells = re.findall(r"<td>([^<]*)</td>", table)
        assert cells[:4] == ["calls_per_day", "the gateway", "1", "2"]
        assert "live_calls" in cells and "when a call ends" in cells
        limited.start_call()
        over = limited.api("POST", "/api/calls", json={"agent": "sales"})
        assert over.status_code == 429
        assert over.json()["error"]["code"] == "limit_reached"
        assert int(over.headers["Retry-After"]) >= 1
        assert limited.upstream_web_calls() == 2
