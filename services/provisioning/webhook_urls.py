"""Where a webhook may be sent: the SSRF rules, checked at creation and again at delivery.

A live-mode endpoint needs https and a host whose every address is public. Private, loopback,
link-local, multicast, reserved and unspecified addresses are refused. The setting
`webhooks_allow_private_urls` (dev stack, tests) lets test-mode endpoints use them; live-mode
endpoints never may.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from contracts.webhooks import EndpointMode
from servicekit.errors import ServiceError


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


async def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (empty when it does not resolve)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    return sorted({str(info[4][0]) for info in infos})


Resolver = Callable[[str, int], Awaitable[list[str]]]


async def check_url(
    url: str, mode: EndpointMode, *, allow_private: bool, resolver: Resolver = resolve
) -> None:
    """Refuse (`invalid_request`) a URL this endpoint may not be sent to."""
    if any(ord(character) < 0x20 or ord(character) == 0x7F for character in url):
        raise ServiceError("invalid_request", "a webhook URL may not hold control characters")
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as malformed:  # an out-of-range port, an unclosed IPv6 bracket
        raise ServiceError("invalid_request", "the webhook URL is malformed") from malformed
    if mode == "live" and parts.scheme != "https":
        raise ServiceError("invalid_request", "a live-mode webhook URL must use https")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServiceError("invalid_request", "a webhook URL needs http(s) and a host")
    if parts.username or parts.password:
        raise ServiceError("invalid_request", "a webhook URL may not carry credentials")
    addresses = await resolver(parts.hostname, port)
    if not addresses:
        raise ServiceError("invalid_request", "the webhook URL's host does not resolve")
    if all(_is_public(address) for address in addresses):
        return
    if mode == "test" and allow_private:
        return
    raise ServiceError(
        "invalid_request",
        "the webhook URL resolves to a private, loopback, link-local or reserved address",
    )
