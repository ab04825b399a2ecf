"""Origins, the simulator's control, dashboard sign-out and wrong-token slow-downs."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from gateway.upstream import LOCAL_API_KEY, SIMULATOR_MOUNT
from tests.hostile.rig import ADMIN, ADMIN_TOKEN, BEARER, Rig, error_body
from tests.support.servers import wait_until

LINK = "b" * 24
SIM = SIMULATOR_MOUNT + "/_sim"


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        ("http://evil.example", "evil.example"),  # Origin matches the Host it chose
        ("http://evil.example", None),
        ("null", None),
        ("https://127.0.0.1", None),  # the right host with the wrong scheme
    ],
)
@pytest.mark.parametrize("action", ["session", "leave"])
def test_join_posts_check_origin_against_public_base_url(
    rig: Rig, origin: str, host: str | None, action: str
) -> None:
    headers = {"Origin": origin, "Content-Type": "application/json"}
    if host is not None:
        headers["Host"] = host
    rig.attack(
        "POST",
        f"/join/{LINK}/{action}",
        status=403,
        code="forbidden_origin",
        content=b"{}",
        headers=headers,
    )


def test_the_public_origin_is_accepted(rig: Rig) -> None:
    headers = {"Origin": rig.public, "Content-Type": "application/json"}
    # Past the origin check: the link does not exist.
    rig.attack("POST", f"/join/{LINK}/session", status=404, content=b"{}", headers=headers)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/config"),
        ("PATCH", "/config"),
        ("GET", "/stats"),
        ("POST", "/reset"),
        ("GET", "/rtc"),
        ("POST", "/calls/call_x/end"),
        ("POST", "/calls/call_x/join"),
    ],
)
@pytest.mark.parametrize(
    "auth",
    [None, f"Bearer {LOCAL_API_KEY}", "Bearer wrong", ADMIN_TOKEN],
    ids=["none", "api-key", "wrong", "token-without-scheme"],
)
def test_simulator_control_needs_the_admin_token(
    rig: Rig, method: str, path: str, auth: str | None
) -> None:
    before = rig.simulator.config.model_dump()
    headers = {"Authorization": auth} if auth else {}
    kwargs = {"json": {"rate_429": 1.0}} if method != "GET" else {}
    rig.attack(method, SIM + path, status=401, code="unauthorized", headers=headers, **kwargs)
    assert rig.simulator.config.model_dump() == before


def test_simulator_control_answers_the_admin_token(rig: Rig) -> None:
    answer = rig.request("GET", SIM + "/config", headers=ADMIN)
    assert answer.status_code == 200 and "rate_429" in answer.json()


def sign_in(rig: Rig) -> httpx.Cookies:
    response = rig.request(
        "POST",
        "/dashboard/login",
        data={"token": ADMIN_TOKEN},
        headers={"Origin": rig.public},
    )
    assert response.status_code == 303, response.text
    cookies = httpx.Cookies()
    cookies.set("gw_session", response.cookies["gw_session"])
    return cookies


def csrf_of(rig: Rig, cookies: httpx.Cookies) -> str:
    page = rig.request("GET", "/", cookies=cookies)
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, "the signed-in page carries a CSRF token"
    return found.group(1)


def test_a_cookie_copied_before_sign_out_no_longer_works(rig: Rig) -> None:
    cookies = sign_in(rig)
    csrf = csrf_of(rig, cookies)
    out = rig.request("POST", "/dashboard/logout", data={"csrf": csrf}, cookies=cookies)
    assert out.status_code == 303
    # The browser dropped its cookie; a copy of it is sent again.
    again = rig.request("POST", "/dashboard/try", data={"csrf": csrf}, cookies=cookies)
    assert again.status_code == 401
    page = rig.request("GET", "/", cookies=cookies)
    assert 'name="token"' in page.text  # the sign-in form, not the dashboard
    assert csrf not in page.text
    # Another session of the same admin is not affected.
    other = sign_in(rig)
    assert csrf_of(rig, other) != csrf


def client_from(address: str) -> httpx.Client:
    """Requests from another loopback address (all of 127/8 reaches the gateway)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30)


def test_wrong_admin_tokens_slow_an_address_down_more_each_time(rig: Rig) -> None:
    with client_from("127.0.0.2") as attacker, client_from("127.0.0.3") as bystander:
        wrong = {"Authorization": "Bearer not-the-token"}
        for _ in range(6):
            error_body(attacker.get(rig.url + "/api/calls", headers=wrong), 401)
        locked = attacker.get(rig.url + "/api/calls", headers=ADMIN)  # even the right token
        assert error_body(locked, 429)["code"] == "too_many_failures"
        first_wait = int(locked.headers["retry-after"])
        # Another address is not affected.
        assert bystander.get(rig.url + "/api/calls", headers=ADMIN).status_code == 200
        wait_until(
            lambda: attacker.get(rig.url + "/api/calls", headers=wrong).status_code == 401,
            timeout=first_wait + 5,
            interval=0.2,
            what="the first lock-out to pass",
        )
        longer = attacker.get(rig.url + "/api/calls", headers=ADMIN)
        assert error_body(longer, 429)["code"] == "too_many_failures"
        assert int(longer.headers["retry-after"]) > first_wait
    rig.assert_no_secret(rig.logs())


def test_wrong_hook_tokens_slow_an_address_down(rig: Rig) -> None:
    body = json.dumps({"firstname": "Ada"}).encode()
    before, upstream = rig.rows(), rig.upstream_requests()
    with client_from("127.0.0.4") as attacker:
        wrong = {"Authorization": "Bearer guess", "Content-Type": "application/json"}
        answers = [
            attacker.post(rig.url + "/hooks/plain", content=body, headers=wrong).status_code
            for _ in range(7)
        ]
        assert answers[:6] == [401] * 6 and answers[6] == 429
        right = {**BEARER, "Content-Type": "application/json"}
        locked = attacker.post(rig.url + "/hooks/plain", content=body, headers=right)
        assert error_body(locked, 429)["code"] == "too_many_failures"
    assert rig.rows() == before and rig.upstream_requests() == upstream
    rig.assert_no_secret(rig.logs())
