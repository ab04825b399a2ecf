"""The SSRF guard: a callback URL must not lead the gateway into its own network.

Checked when a URL is stored and again at send time, after DNS resolution, because a name
can resolve elsewhere later.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class UnsafeCallbackURL(ValueError):
    """The URL may not be used as a callback; the message says why (never with secrets)."""


# Cloud metadata services, whatever range they are in.
METADATA_HOSTS = frozenset({"169.254.169.254", "fd00:ec2::254", "100.100.100.200"})


def check_url_shape(url: str, *, allow_private: bool) -> str:
    """Scheme and credentials; returns the host. No network access."""
    parts = urlsplit(url)
    allowed = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in allowed:
        raise UnsafeCallbackURL(
            "callback URL must use https"
            + ("" if allow_private else " (set CALLBACK_ALLOW_PRIVATE=true for http)")
        )
    if parts.username or parts.password or "@" in parts.netloc:
        raise UnsafeCallbackURL("callback URL must not contain credentials")
    if not parts.hostname:
        raise UnsafeCallbackURL("callback URL has no host")
    return parts.hostname


def is_forbidden_address(address: str) -> bool:
    """Loopback, private, link-local, reserved, multicast or a metadata address."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        str(ip) in METADATA_HOSTS
        or ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
        or not ip.is_global
    )


async def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to right now."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


async def check_callback_url(url: str, *, allow_private: bool) -> list[str]:
    """Raise `UnsafeCallbackURL` unless `url` is fit to receive results; returns its addresses."""
    host = check_url_shape(url, allow_private=allow_private)
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = await resolve(host, port)
    except OSError:
        raise UnsafeCallbackURL(f"callback host {host!r} does not resolve") from None
    if not allow_private:
        for address in addresses:
            if is_forbidden_address(address):
                raise UnsafeCallbackURL(
                    f"callback host {host!r} resolves to a private or internal address"
                )
    return addresses
