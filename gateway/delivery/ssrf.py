"""The SSRF guard: a callback URL must not lead the gateway into its own network.

Checked when a URL is stored and again at send time, after DNS resolution, because a name
can resolve elsewhere later. An IPv6 address that carries an IPv4 one (mapped, 6to4,
Teredo, NAT64) is judged by the IPv4 inside it too. Cloud metadata addresses are refused
always, even with `CALLBACK_ALLOW_PRIVATE=true`. A URL that does not parse, or a host name
that is not one, is refused without any lookup.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Iterator
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]


class UnsafeCallbackURL(ValueError):
    """The URL may not be used as a callback; the message says why (never with secrets)."""


# Cloud metadata services, whatever range they are in (AWS, GCP, Azure, Oracle; AWS IPv6;
# Alibaba).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
METADATA_HOSTS = frozenset(str(a) for a in METADATA_ADDRESSES)
NAT64 = ipaddress.ip_network("64:ff9b::/96")
MAX_URL_LENGTH = 2048
LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
# WHATWG URL: a host whose last label is a number is an IPv4 address in some notation
# (`2130706433`, `0x7f.1`); such spellings are refused rather than guessed at.
NUMERIC_LABEL = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)")


def _parts(url: str) -> SplitResult:
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeCallbackURL(f"callback URL is over {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise UnsafeCallbackURL("callback URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number in range)
    except ValueError:
        raise UnsafeCallbackURL("callback URL is malformed") from None
    return parts


def check_url_shape(url: str, *, allow_private: bool) -> str:
    """Scheme, credentials and a well-formed host; returns the host. No network access."""
    parts = _parts(url)
    allowed = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in allowed:
        raise UnsafeCallbackURL(
            "callback URL must use https"
            + ("" if allow_private else " (set CALLBACK_ALLOW_PRIVATE=true for http)")
        )
    if parts.username or parts.password or "@" in parts.netloc:
        raise UnsafeCallbackURL("callback URL must not contain credentials")
    host = parts.hostname
    if not host:
        raise UnsafeCallbackURL("callback URL has no host")
    literal = ip_literal(host)
    if literal is not None:
        if is_metadata_address(literal):
            raise UnsafeCallbackURL("callback URL points at a cloud metadata address")
        if not allow_private and is_forbidden_address(str(literal)):
            raise UnsafeCallbackURL("callback URL points at a private or internal address")
        return host
    _check_host_name(host)
    return host


def ip_literal(host: str) -> IPAddress | None:
    """The address when `host` is an IP literal (brackets already removed), else None."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0] if ":" in host else host)
    except ValueError:
        return None


def _check_host_name(host: str) -> None:
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise UnsafeCallbackURL("callback URL host is not a valid host name") from None
    name = ascii_host.removesuffix(".")
    labels = name.split(".")
    if len(name) > 253 or not all(LABEL.fullmatch(label) for label in labels):
        raise UnsafeCallbackURL("callback URL host is not a valid host name")
    if NUMERIC_LABEL.fullmatch(labels[-1]):
        raise UnsafeCallbackURL("callback URL host is a number: write the address in full")


def embedded_addresses(ip: IPAddress) -> Iterator[IPAddress]:
    """`ip` and every IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64)."""
    yield ip
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            yield ip.ipv4_mapped
        if ip.sixtofour is not None:
            yield ip.sixtofour
        if ip.teredo is not None:
            yield from ip.teredo  # (server, client); the client address is un-obfuscated
        if ip in NAT64:
            yield ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)


def is_metadata_address(ip: IPAddress) -> bool:
    """A cloud metadata address, directly or inside an IPv6 one."""
    return any(inner in METADATA_ADDRESSES for inner in embedded_addresses(ip))


def _is_internal(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:  # fec0::/10, deprecated
        return True
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
        or not ip.is_global
    )


def is_forbidden_address(address: str) -> bool:
    """Loopback, private, link-local, site-local, reserved, multicast or metadata, directly
    or by the IPv4 address an IPv6 one carries."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return any(
        inner in METADATA_ADDRESSES or _is_internal(inner) for inner in embedded_addresses(ip)
    )


async def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to right now (the system resolver)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


async def check_callback_url(
    url: str, *, allow_private: bool, resolver: Resolver = resolve
) -> list[str]:
    """Raise `UnsafeCallbackURL` unless `url` is fit to receive results; returns its addresses.

    `resolver` is the system's by default; tests hand in a table so no real name is looked up.
    """
    host = check_url_shape(url, allow_private=allow_private)
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    literal = ip_literal(host)
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = await resolver(host, port)
        except (OSError, UnicodeError, ValueError):
            raise UnsafeCallbackURL(f"callback host {host!r} does not resolve") from None
        if not addresses:
            raise UnsafeCallbackURL(f"callback host {host!r} does not resolve")
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if is_metadata_address(ip):
            raise UnsafeCallbackURL(f"callback host {host!r} resolves to a metadata address")
        if not allow_private and is_forbidden_address(address):
            raise UnsafeCallbackURL(
                f"callback host {host!r} resolves to a private or internal address"
            )
    return addresses
