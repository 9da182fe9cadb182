"""The service's Redis client under a burst: callers queue for a connection.

More simultaneous Redis commands than the connection pool holds must wait for
a free connection, not fail; a Redis that accepts connections but never
answers must still fail within the configured bounds (DESIGN §6, step 7).
"""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from litestar import Litestar
from structlog.testing import capture_logs
from token_fakes import (
    LOCATION_1,
    TEST_BASE_URL,
    FakeWorld,
    FixedClock,
    make_settings,
)

from token_service.adapter_set import build_missing, need
from token_service.application.launch_ports import LaunchLedger
from token_service.application.ports import DependencyUnavailable
from token_service.domain.launch import LaunchDetails
from token_service.entrypoint import create_app
from token_service.settings import Settings

pytestmark = pytest.mark.integration
P1 = {"Authorization": "Bearer p1"}
DETAILS = LaunchDetails("p1", "EMP-1", None, LOCATION_1, "location_cashier")
TTL = timedelta(seconds=600)
# The tester's burst (150 opens) was above redis-py's default pool of 100.
BURST = 150


async def test_a_burst_of_opens_beyond_the_pool_all_redeem(
    redis_url: str, unique_prefix: str
) -> None:
    """150 links opened at once, each by its own browser, all land on /sale."""
    world = FakeWorld()
    settings = make_settings(redis_url=redis_url, redis_prefix=unique_prefix)
    app = create_app(settings, overrides=world.adapters(in_memory_stores=False))

    # The app runs on this loop: Litestar's test client would serve one
    # request at a time from its own thread, and never fill the pool.
    async with app.lifespan():
        urls = [await _mint(app, f"EMP-{n}") for n in range(BURST)]
        with capture_logs() as logs:
            opened = await asyncio.gather(*(_open(app, url) for url in urls))

    assert opened.count(303) == BURST, sorted(set(opened))
    assert [entry for entry in logs if entry["log_level"] == "error"] == []


async def test_more_concurrent_claims_than_the_pool_holds_all_succeed(
    redis_url: str, unique_prefix: str
) -> None:
    """Three times the pool's size in simultaneous claims: each queues, none fails."""
    pool, callers = 4, 12
    settings = make_settings(
        redis_url=redis_url, redis_prefix=unique_prefix, redis_max_connections=pool
    )

    async with _ledger(settings) as (ledger, clock):
        now = clock.now()
        for n in range(callers):
            await ledger.store(f"j{n}", DETAILS, now + TTL, now)
        claimed = await asyncio.gather(
            *(ledger.claim(f"j{n}", f"o{n}", now) for n in range(callers)),
            return_exceptions=True,
        )

    assert claimed == [DETAILS] * callers


async def test_a_silent_redis_fails_within_the_bounds(unique_prefix: str) -> None:
    """A Redis that accepts but never answers: every caller fails, and soon."""
    server = await asyncio.start_server(_never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    wait_s = 0.2
    settings = make_settings(
        redis_url=f"redis://127.0.0.1:{port}/0",
        redis_prefix=unique_prefix,
        redis_max_connections=2,
        redis_pool_timeout_s=wait_s,
        redis_socket_timeout_s=wait_s,
    )

    async with server, _ledger(settings) as (ledger, clock):
        started = time.monotonic()
        claimed = await asyncio.gather(
            *(ledger.claim(f"j{n}", f"o{n}", clock.now()) for n in range(6)),
            return_exceptions=True,
        )
        elapsed = time.monotonic() - started

    failed = [result for result in claimed if isinstance(result, DependencyUnavailable)]
    assert len(failed) == len(claimed)
    # No free connection in time, or no reply in time: the detail says which.
    assert {result.detail.split(":")[0] for result in failed} <= {
        "ConnectionError",
        "TimeoutError",
    }
    # A caller waits at most for the pool, then one connect, then one reply.
    assert elapsed < 3 * wait_s + 0.5


def _browser(app: Litestar) -> httpx.AsyncClient:
    # Litestar types the ASGI scope more narrowly than httpx's callable.
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url=TEST_BASE_URL)


async def _mint(app: Litestar, user: str) -> str:
    body = {"external_user_id": user, "location_id": LOCATION_1}
    async with _browser(app) as partner:
        response = await partner.post("/pos/v1/launch-tokens", json=body, headers=P1)
    assert response.status_code == 201, response.text
    return str(response.json()["launch_url"])


async def _open(app: Litestar, url: str) -> int:
    async with _browser(app) as browser:
        return (await browser.get(url, follow_redirects=False)).status_code


@asynccontextmanager
async def _ledger(settings: Settings) -> AsyncIterator[tuple[LaunchLedger, FixedClock]]:
    """The ledger exactly as the service builds it from `settings`, and its clock."""
    world = FakeWorld()
    # The directory stays in memory: no listener competes for the pool.
    given = replace(world.adapters(in_memory_stores=False), directory=world.directory)

    async with AsyncExitStack() as stack:
        adapters = await build_missing(settings, given, stack)
        yield need(adapters.ledger), world.clock


async def _never_answer(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    await reader.read()
    writer.close()
