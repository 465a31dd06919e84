"""Outbound fetches that can reach public addresses only.

A post chooses the URL of its image, so fetching it must not let a post make the wall talk
to the venue's network or the server's own services. The check sits where the connection is
made, not before the request: the address checked is the address connected to, so a DNS
answer that changes between a check and the connection (DNS rebinding) cannot slip through,
and every redirect hop is checked the same way.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Iterable
from ipaddress import IPv4Address, IPv6Address, ip_address

import anyio
import httpcore
import httpx

Address = IPv4Address | IPv6Address
AddressCheck = Callable[[Address], bool]


class Blocked(Exception):
    """A connection refused before it was made; the message names the host."""


def is_public(address: Address) -> bool:
    return address.is_global


def any_address(address: Address) -> bool:
    """For tests and trusted setups whose images are served on the local network."""
    return True


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, resolving the host itself and connecting to a checked address."""

    def __init__(self, allowed: AddressCheck) -> None:
        self.allowed = allowed
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        address = await self.resolve(host, port)
        # TLS still verifies the certificate against `host`: httpcore passes it as the SNI name.
        return await self.inner.connect_tcp(
            str(address), port, timeout, local_address, socket_options
        )

    async def resolve(self, host: str, port: int) -> Address:
        try:
            infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            # A connection error, not a refusal: a DNS hiccup passes, and the fetch is retried.
            raise httpcore.ConnectError(f"cannot resolve {host!r}") from None
        addresses = [ip_address(info[4][0]) for info in infos]
        # One private answer is enough to refuse: the resolver may rotate its answers.
        if not addresses or not all(self.allowed(a) for a in addresses):
            raise Blocked(f"{host!r} is a private address")
        return addresses[0]

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise Blocked("unix sockets are not reachable")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport over a pool whose every connection goes through GuardedBackend.

    httpx takes no network backend argument, so the pool it would build is replaced by the
    same pool with the backend; environment proxies are ignored on purpose (a proxy would
    make the connected address the proxy's, and the check meaningless).
    """

    def __init__(self, allowed: AddressCheck = is_public) -> None:
        super().__init__(trust_env=False)
        if not isinstance(getattr(self, "_pool", None), httpcore.AsyncConnectionPool):
            # Fail loudly rather than fetch unguarded if a new httpx builds its pool elsewhere.
            raise RuntimeError("this httpx version's transport has no pool to guard")
        context: ssl.SSLContext = httpx.create_ssl_context(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context, network_backend=GuardedBackend(allowed)
        )
