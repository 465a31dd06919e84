"""The guarded transport on its own: the check is made on the address actually connected to."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.http_servers import Handler, serving
from wall.egress import Blocked, GuardedBackend, GuardedTransport, any_address, is_public

pytestmark = pytest.mark.anyio


class EchoHost(Handler):
    def do_GET(self) -> None:
        self.reply(200, (self.headers["Host"] or "").encode())


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with serving(EchoHost) as port:
        yield port


async def test_private_addresses_are_refused_before_connecting(port: int) -> None:
    async with httpx.AsyncClient(transport=GuardedTransport(is_public)) as client:
        with pytest.raises(Blocked, match=re.escape("'127.0.0.1' is a private address")):
            await client.get(f"http://127.0.0.1:{port}/")


async def test_the_checked_address_is_connected_to_under_the_original_host(port: int) -> None:
    # Connected by IP, but the request still names the host, as virtual hosts and CDNs need.
    async with httpx.AsyncClient(transport=GuardedTransport(any_address)) as client:
        response = await client.get(f"http://localhost:{port}/")
    assert response.status_code == 200 and response.text == f"localhost:{port}"


async def test_unix_sockets_are_never_reachable() -> None:
    with pytest.raises(Blocked, match="unix sockets"):
        await GuardedBackend(any_address).connect_unix_socket("/run/postgresql/.s.PGSQL.5432")


@pytest.mark.parametrize(
    "host", ["10.0.0.8", "192.168.1.1", "169.254.169.254", "::1", "fd00::1", "::ffff:127.0.0.1"]
)
async def test_private_ranges_of_both_families_are_refused(host: str) -> None:
    with pytest.raises(Blocked, match="private address"):
        await GuardedBackend(is_public).resolve(host, 80)


async def test_public_addresses_pass() -> None:
    assert str(await GuardedBackend(is_public).resolve("8.8.8.8", 443)) == "8.8.8.8"
