"""One contract suite for every MintAdmission: stepwise on fakes, and Redis."""

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest
import redis.asyncio as redis
from token_fakes import FixedClock, InMemoryLaunchLedger, InMemoryMintRateLimiter

from token_service.adapters.outbound.redis_launch_ledger import RedisLaunchLedger
from token_service.adapters.outbound.redis_mint_admission import RedisMintAdmission
from token_service.adapters.outbound.redis_mint_rate_limiter import (
    RedisMintRateLimiter,
)
from token_service.application.launch_ports import (
    ClaimRefused,
    LaunchLedger,
    MintAdmission,
    Throttled,
)
from token_service.application.mint_launch import StepwiseMintAdmission
from token_service.domain.launch import LaunchDetails

pytestmark = pytest.mark.integration
Factory = Callable[[int], tuple[MintAdmission, LaunchLedger]]
DETAILS = LaunchDetails(
    "p1", "EMP-1", None, "0b7e3b7c-9a55-4a8e-9d1e-2f1d8c2f8e11", "location_cashier"
)


@pytest.fixture(params=["stepwise", "redis"])
async def admission_of(
    request: pytest.FixtureRequest, redis_url: str, unique_prefix: str
) -> AsyncIterator[Factory]:
    if request.param == "stepwise":

        def stepwise(burst: int) -> tuple[MintAdmission, LaunchLedger]:
            ledger = InMemoryLaunchLedger()
            limiter = InMemoryMintRateLimiter(rate_per_s=1.0, burst=burst)
            return StepwiseMintAdmission(limiter, ledger), ledger

        yield stepwise
        return
    client = redis.Redis.from_url(redis_url)

    def on_redis(burst: int) -> tuple[MintAdmission, LaunchLedger]:
        limiter = RedisMintRateLimiter(client, 1.0, burst, unique_prefix)
        ledger = RedisLaunchLedger(client, unique_prefix)
        return RedisMintAdmission(client, limiter, ledger), ledger

    yield on_redis
    await client.aclose()


async def admit(admission: MintAdmission, clock: FixedClock, jti: str) -> object:
    expires_at = clock.now() + timedelta(minutes=10)
    return await admission.admit("p1", jti, DETAILS, expires_at, clock.now())


async def test_an_admitted_mint_leaves_a_claimable_record(
    admission_of: Factory,
) -> None:
    """Within the budget: admitted, and the record is there to claim."""
    admission, ledger = admission_of(5)
    clock = FixedClock()

    assert await admit(admission, clock, "jti-1") is None

    assert await ledger.claim("jti-1", "owner", clock.now()) == DETAILS


async def test_a_throttled_mint_leaves_no_record_and_spends_nothing(
    admission_of: Factory,
) -> None:
    """Past the burst: Throttled, no record, and the wait does not grow."""
    admission, ledger = admission_of(1)
    clock = FixedClock()
    await admit(admission, clock, "jti-1")

    first = await admit(admission, clock, "jti-2")
    second = await admit(admission, clock, "jti-3")

    assert isinstance(first, Throttled)
    assert isinstance(second, Throttled)
    assert first.retry_after_s == second.retry_after_s
    assert await ledger.claim("jti-2", "owner", clock.now()) == ClaimRefused("unknown")


async def test_concurrent_mints_store_exactly_the_burst(admission_of: Factory) -> None:
    """Forty simultaneous mints with a burst of ten: ten records, thirty refusals."""
    admission, ledger = admission_of(10)
    clock = FixedClock()

    outcomes = await asyncio.gather(
        *(admit(admission, clock, f"jti-{i}") for i in range(40))
    )
    claims = [await ledger.claim(f"jti-{i}", "owner", clock.now()) for i in range(40)]

    assert sum(outcome is None for outcome in outcomes) == 10
    assert sum(claim == DETAILS for claim in claims) == 10
