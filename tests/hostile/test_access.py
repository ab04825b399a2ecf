"""Origins, the simulator's control, dashboard sign-out and wrong-token slow-downs."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import httpx
import pytest

from gateway.http.errors import HTTPProblem
from gateway.http.lockout import FailedAuthLockout
from gateway.upstream import LOCAL_API_KEY, SIMULATOR_MOUNT
from tests.hostile.rig import ADMIN, ADMIN_TOKEN, BEARER, Rig, error_body

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


def locked_out(wrong: Callable[[], httpx.Response], right: Callable[[], httpx.Response]) -> int:
    """Send wrong credentials until the address is locked out, then check that the right one
    is refused too; returns how many wrong ones were answered 401 first.

    Robust to a slow machine: if the lock (1 s, then 2, 4 …) passed before the right credential
    was sent, the next wrong one locks the address out for longer, and the check is repeated.
    """
    refused = 0
    for _ in range(12):
        answer = wrong()
        if answer.status_code == 401:
            refused += 1
            continue
        assert error_body(answer, 429)["code"] == "too_many_failures"
        assert int(answer.headers["retry-after"]) >= 1
        blocked = right()
        if blocked.status_code == 429:
            assert error_body(blocked, 429)["code"] == "too_many_failures"
            return refused
    raise AssertionError("the address was never locked out")


def test_wrong_admin_tokens_lock_an_address_out_and_not_another(rig: Rig) -> None:
    url = rig.url + "/api/calls"
    wrong = {"Authorization": "Bearer not-the-token"}
    with client_from("127.0.0.2") as attacker, client_from("127.0.0.3") as bystander:
        refused = locked_out(
            lambda: attacker.get(url, headers=wrong), lambda: attacker.get(url, headers=ADMIN)
        )
        assert refused >= 6  # five free tries, then the sixth wrong one locks the address out
        assert bystander.get(url, headers=ADMIN).status_code == 200
    rig.assert_no_secret(rig.logs())


def test_wrong_hook_tokens_lock_an_address_out(rig: Rig) -> None:
    body = json.dumps({"firstname": "Ada"}).encode()
    url = rig.url + "/hooks/plain"
    before, upstream = rig.rows(), rig.upstream_requests()
    wrong = {"Authorization": "Bearer guess", "Content-Type": "application/json"}
    right = {**BEARER, "Content-Type": "application/json"}
    with client_from("127.0.0.4") as attacker:
        refused = locked_out(
            lambda: attacker.post(url, content=body, headers=wrong),
            lambda: attacker.post(url, content=body, headers=right),
        )
        assert refused >= 6
    assert rig.rows() == before and rig.upstream_requests() == upstream
    rig.assert_no_secret(rig.logs())


def test_each_further_wrong_credential_locks_out_twice_as_long() -> None:
    now = [1000.0]
    lockout = FailedAuthLockout(free=5, base=1.0, cap=60.0, clock=lambda: now[0])

    def wait_asked() -> int:
        with pytest.raises(HTTPProblem) as caught:
            lockout.check("198.51.100.7")
        assert caught.value.status == 429
        return int(caught.value.headers["Retry-After"])

    for _ in range(5):
        lockout.failed("198.51.100.7")
        lockout.check("198.51.100.7")  # the five free tries lock nothing
    waits = []
    for _ in range(8):
        lockout.failed("198.51.100.7")
        waits.append(wait_asked())
        now[0] += waits[-1]  # the caller waits exactly as long as asked
        lockout.check("198.51.100.7")
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]
    lockout.check("203.0.113.9")  # another address is free
    lockout.failed("198.51.100.7")
    lockout.succeeded("198.51.100.7")  # the right credential starts afresh
    lockout.check("198.51.100.7")
    for _ in range(6):
        lockout.failed("198.51.100.7")
    now[0] += 61 + 60  # a quiet address is forgotten after `cap`
    lockout.check("198.51.100.7")


def test_the_lockout_keeps_a_bounded_number_of_addresses() -> None:
    lockout = FailedAuthLockout(free=0, max_addresses=3, clock=lambda: 50.0)
    for n in range(10):
        lockout.failed(f"192.0.2.{n}")
    for n in range(7):
        lockout.check(f"192.0.2.{n}")  # the oldest were dropped
    with pytest.raises(HTTPProblem):
        lockout.check("192.0.2.9")


@pytest.mark.parametrize("expires", ["%C2%B2", "%D9%A3", "9" * 5000, "-1", "1e9", ""])
def test_a_recording_url_with_a_strange_expiry_is_refused_not_a_500(rig: Rig, expires: str) -> None:
    """Local mode serves the simulator's pre-signed recording URLs without other auth."""
    answer = rig.request(
        "GET", f"{SIMULATOR_MOUNT}/recordings/call_x.wav?expires={expires}&signature=x"
    )
    assert answer.status_code == 403, answer.text[:200]
    assert answer.json() == {"error": "SignatureDoesNotMatch"}
