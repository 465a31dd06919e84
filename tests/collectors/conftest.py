from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.collectors.collector_fakes import FakeServer


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def server() -> Iterator[FakeServer]:
    fake = FakeServer()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(3.0)) as client:
        yield client


@pytest.fixture
async def impatient_http() -> AsyncIterator[httpx.AsyncClient]:
    """A client whose read timeout a delayed reply from the fake server will exceed."""
    async with httpx.AsyncClient(timeout=httpx.Timeout(0.2)) as client:
        yield client
