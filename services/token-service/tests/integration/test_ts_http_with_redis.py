"""The app on a real Redis; bus, Cognito and partner auth faked (§3, §6, §10)."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from token_fakes import LOCATION_1, TEST_BASE_URL, FakeWorld, make_settings

from token_service.entrypoint import create_app

pytestmark = pytest.mark.integration
P1 = {"Authorization": "Bearer p1"}
BODY = {"external_user_id": "EMP-1", "display_name": "Ann", "location_id": LOCATION_1}


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld()


@pytest.fixture
async def client(
    world: FakeWorld, redis_url: str, unique_prefix: str
) -> AsyncIterator[AsyncTestClient[Any]]:
    settings = make_settings(redis_url=redis_url, redis_prefix=unique_prefix)
    app = create_app(settings, overrides=world.adapters(in_memory_stores=False))
    async with AsyncTestClient(app=app, base_url=TEST_BASE_URL) as test_client:
        yield test_client


async def mint(client: AsyncTestClient[Any], **body: object) -> str:
    response = await client.post(
        "/pos/v1/launch-tokens", json={**BODY, **body}, headers=P1
    )
    assert response.status_code == 201, response.text
    return str(response.json()["launch_url"])


async def test_launch_sale_and_sign_out(client: AsyncTestClient[Any]) -> None:
    """Mint, open, see the sale page, sign out, and be signed out."""
    url = await mint(client)

    opened = await client.get(url, follow_redirects=False)
    sale = await client.get("/sale")
    csrf = sale.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    logout = await client.post(
        "/logout", data={"csrf_token": csrf}, follow_redirects=False
    )

    assert opened.status_code == 303
    assert "Ann" in sale.text
    assert "location_cashier" in sale.text
    assert logout.status_code == 303
    after = await client.get("/sale", follow_redirects=False)
    assert after.headers["location"] == "/signed-out"


async def test_c03_reopening_in_the_same_browser_lands_on_sale(
    client: AsyncTestClient[Any], world: FakeWorld
) -> None:
    """A reload of the link with its own session is no second redemption."""
    url = await mint(client)
    await client.get(url, follow_redirects=False)

    again = await client.get(url, follow_redirects=False)

    assert again.status_code == 303
    assert again.headers["location"] == "/sale"
    assert len(world.bus.sent) == 1


async def test_c18_used_link_from_another_browser_is_410(
    client: AsyncTestClient[Any], world: FakeWorld
) -> None:
    """After 1 s and after 9 minutes, another browser gets the used page."""
    url = await mint(client)
    await client.get(url, follow_redirects=False)
    client.cookies.clear()

    world.clock.advance(1)
    soon = await client.get(url, follow_redirects=False)
    world.clock.advance(9 * 60)
    late = await client.get(url, follow_redirects=False)

    for response in (soon, late):
        assert response.status_code == 410
        assert "already used" in response.text
        assert "back-office" in response.text


async def test_c16_failure_after_claim_is_503_and_the_link_still_works(
    client: AsyncTestClient[Any], world: FakeWorld
) -> None:
    """Broker down: a retry page; once it is back the same link succeeds."""
    url = await mint(client)
    world.bus.failing = True

    failed = await client.get(url, follow_redirects=False)
    world.bus.failing = False
    retried = await client.get(url, follow_redirects=False)

    assert failed.status_code == 503
    assert "retried" in failed.text
    assert "set-cookie" not in failed.headers
    assert retried.status_code == 303


async def test_concurrent_opens_of_one_link_yield_one_session(
    client: AsyncTestClient[Any], world: FakeWorld
) -> None:
    """20 simultaneous opens of one link: one redemption, no 5xx, the rest gone."""
    url = await mint(client)

    responses = await asyncio.gather(
        *(client.get(url, follow_redirects=False) for _ in range(20))
    )

    statuses = [response.status_code for response in responses]
    assert set(statuses) <= {303, 410}
    assert len(world.issuer.issued) == 1
    assert len(world.bus.sent) == 1


async def test_readiness_pings_redis(client: AsyncTestClient[Any]) -> None:
    """With Redis up the service is ready."""
    response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"]["redis"] is True


async def test_redis_down_answers_503_never_500(
    world: FakeWorld, unique_prefix: str
) -> None:
    """A dead Redis: mint is 503 with Retry-After, readiness is 503."""
    settings = make_settings(
        redis_url="redis://127.0.0.1:1/0", redis_prefix=unique_prefix
    )
    app = create_app(settings, overrides=world.adapters(in_memory_stores=False))

    async with AsyncTestClient(app=app, base_url=TEST_BASE_URL) as dead:
        minted = await dead.post("/pos/v1/launch-tokens", json=BODY, headers=P1)
        ready = await dead.get("/readyz")

    assert minted.status_code == 503
    assert "retry-after" in minted.headers
    assert ready.status_code == 503
