"""One contract suite for every MintRateLimiter: the fake and Redis (issue #3)."""

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as redis
from token_fakes import FixedClock, InMemoryMintRateLimiter

from token_service.adapters.outbound.redis_mint_rate_limiter import (
    RedisMintRateLimiter,
)
from token_service.application.launch_ports import MintRateLimiter, Throttled
from token_service.application.ports import DependencyUnavailable

pytestmark = pytest.mark.integration
Factory = Callable[[float, int], MintRateLimiter]


@pytest.fixture(params=["in_memory", "redis"])
async def limiter_of(
    request: pytest.FixtureRequest, redis_url: str, unique_prefix: str
) -> AsyncIterator[Factory]:
    if request.param == "in_memory":
        yield InMemoryMintRateLimiter
        return
    client = redis.Redis.from_url(redis_url)
    yield lambda rate, burst: RedisMintRateLimiter(client, rate, burst, unique_prefix)
    await client.aclose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


async def admitted(limiter: MintRateLimiter, clock: FixedClock, n: int) -> int:
    outcomes = [await limiter.acquire("p1", clock.now()) for _ in range(n)]
    return sum(outcome is None for outcome in outcomes)


async def test_a_burst_is_admitted_then_the_next_waits_one_interval(
    limiter_of: Factory, clock: FixedClock
) -> None:
    """With 2/s and a burst of 5, five pass at once and the sixth waits 0.5 s."""
    limiter = limiter_of(2.0, 5)

    assert await admitted(limiter, clock, 5) == 5
    refused = await limiter.acquire("p1", clock.now())

    assert isinstance(refused, Throttled)
    assert refused.retry_after_s == pytest.approx(0.5, abs=0.002)


async def test_the_budget_refills_at_the_sustained_rate(
    limiter_of: Factory, clock: FixedClock
) -> None:
    """After the burst, one more mint is admitted per interval, not more."""
    limiter = limiter_of(2.0, 3)
    await admitted(limiter, clock, 3)

    clock.advance(1.0)

    assert await admitted(limiter, clock, 3) == 2


async def test_a_refused_mint_spends_nothing(
    limiter_of: Factory, clock: FixedClock
) -> None:
    """Hammering while throttled does not push the wait further out."""
    limiter = limiter_of(1.0, 1)
    await admitted(limiter, clock, 1)

    for _ in range(20):
        await limiter.acquire("p1", clock.now())
    clock.advance(1.0)

    assert await limiter.acquire("p1", clock.now()) is None


async def test_partners_have_budgets_of_their_own(
    limiter_of: Factory, clock: FixedClock
) -> None:
    """One partner at its limit does not slow another."""
    limiter = limiter_of(1.0, 2)
    await admitted(limiter, clock, 2)

    assert await limiter.acquire("p2", clock.now()) is None
    assert isinstance(await limiter.acquire("p1", clock.now()), Throttled)


async def test_concurrent_mints_never_exceed_the_burst(
    limiter_of: Factory, clock: FixedClock
) -> None:
    """Fifty simultaneous acquisitions with a burst of ten: exactly ten pass."""
    limiter = limiter_of(0.5, 10)

    outcomes = await asyncio.gather(
        *(limiter.acquire("p1", clock.now()) for _ in range(50))
    )

    assert sum(outcome is None for outcome in outcomes) == 10


async def test_redis_key_is_prefixed_and_expires(
    redis_url: str, unique_prefix: str, clock: FixedClock
) -> None:
    """The bucket lives under the prefix and expires once the budget is full again."""
    client = redis.Redis.from_url(redis_url)
    limiter = RedisMintRateLimiter(client, 10.0, 100, unique_prefix)

    await limiter.acquire("p1", clock.now())
    ttl_ms = await client.pttl(f"{unique_prefix}mint-rate:p1")
    await client.aclose()

    assert 0 < ttl_ms <= 100


async def test_a_dead_redis_is_a_dependency_failure(clock: FixedClock) -> None:
    """No Redis: DependencyUnavailable, never a driver error."""
    client = redis.Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=1)
    limiter = RedisMintRateLimiter(client, 1.0, 1)

    with pytest.raises(DependencyUnavailable):
        await limiter.acquire("p1", clock.now())
    await client.aclose()
