"""The mint rate limit over HTTP, on a real Redis shared by two app instances."""

from contextlib import AsyncExitStack
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from token_fakes import LOCATION_1, TEST_BASE_URL, FakeWorld, make_settings

from token_service.entrypoint import create_app

pytestmark = pytest.mark.integration
P1 = {"Authorization": "Bearer p1"}
BODY = {"external_user_id": "EMP-1", "location_id": LOCATION_1}
# One mint per 100 s after a burst of two: the third is refused for 100 s.
LIMITS = {"mint_rate_per_s": 0.01, "mint_burst": 2}


async def replicas(
    stack: AsyncExitStack, redis_url: str, prefix: str, count: int
) -> list[AsyncTestClient[Any]]:
    settings = make_settings(redis_url=redis_url, redis_prefix=prefix, **LIMITS)
    clients = []
    for _ in range(count):
        app = create_app(
            settings, overrides=FakeWorld().adapters(in_memory_stores=False)
        )
        client = AsyncTestClient(app=app, base_url=TEST_BASE_URL)
        clients.append(await stack.enter_async_context(client))
    return clients


async def mint(client: AsyncTestClient[Any], headers: dict[str, str] = P1) -> Any:
    return await client.post("/pos/v1/launch-tokens", json=BODY, headers=headers)


async def test_over_the_limit_is_429_rate_limited_with_retry_after(
    redis_url: str, unique_prefix: str
) -> None:
    """Past its burst a partner gets 429 problem+json with a Retry-After in seconds."""
    async with AsyncExitStack() as stack:
        (client,) = await replicas(stack, redis_url, unique_prefix, 1)

        statuses = [(await mint(client)).status_code for _ in range(2)]
        refused = await mint(client)

    assert statuses == [201, 201]
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.headers["retry-after"] == "100"
    assert refused.headers["cache-control"] == "no-store"
    assert refused.json()["code"] == "rate_limited"


async def test_two_instances_share_one_partner_budget(
    redis_url: str, unique_prefix: str
) -> None:
    """Two replicas on one Redis: the burst spent on one is spent on the other."""
    async with AsyncExitStack() as stack:
        first, second = await replicas(stack, redis_url, unique_prefix, 2)

        spent = [(await mint(first)).status_code, (await mint(second)).status_code]
        on_first = await mint(first)
        on_second = await mint(second)
        other_partner = await mint(second, {"Authorization": "Bearer p2"})

    assert spent == [201, 201]
    assert (on_first.status_code, on_second.status_code) == (429, 429)
    # p2 is not granted LOCATION_1: refused at the grant check, before any budget.
    assert other_partner.json()["code"] == "location_not_permitted"
