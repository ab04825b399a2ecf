"""A callback URL that would lead into the gateway's own network is refused."""

from __future__ import annotations

import pytest

from gateway.delivery.ssrf import UnsafeCallbackURL, check_callback_url, is_forbidden_address


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://example.com/hook", "https"),
        ("https://user:pw@example.com/hook", "credentials"),
        ("https://127.0.0.1/hook", "private or internal"),
        ("https://localhost/hook", "private or internal"),
        ("https://10.0.0.7/hook", "private or internal"),
        ("https://169.254.169.254/latest/meta-data", "metadata"),
        ("https://[::1]/hook", "private or internal"),
        ("https://[::ffff:192.168.1.1]/hook", "private or internal"),
        ("ftp://example.com/", "https"),
        ("https:///nohost", "no host"),
    ],
)
async def test_unsafe_callback_urls_are_refused(url: str, why: str) -> None:
    with pytest.raises(UnsafeCallbackURL, match=why):
        await check_callback_url(url, allow_private=False, resolver=stub_resolver)


async def stub_resolver(host: str, port: int) -> list[str]:
    """A fixed table in place of DNS: tests never look a real name up."""
    table = {"localhost": ["127.0.0.1", "::1"], "example.com": ["93.184.215.14"]}
    if host not in table:
        raise OSError(f"{host} does not resolve here")
    return table[host]


async def test_a_public_address_is_accepted_without_dns() -> None:
    assert await check_callback_url("https://93.184.215.14/hook", allow_private=False) == [
        "93.184.215.14"
    ]


async def test_allow_private_lets_http_and_loopback_through() -> None:
    assert await check_callback_url("http://127.0.0.1:9/cb", allow_private=True) == ["127.0.0.1"]
    with pytest.raises(UnsafeCallbackURL, match="credentials"):
        await check_callback_url("http://a:b@127.0.0.1/cb", allow_private=True)


@pytest.mark.parametrize(
    ("address", "forbidden"),
    [("8.8.8.8", False), ("192.168.0.1", True), ("100.64.0.1", True), ("fe80::1", True)],
)
def test_address_classes(address: str, forbidden: bool) -> None:
    assert is_forbidden_address(address) is forbidden
