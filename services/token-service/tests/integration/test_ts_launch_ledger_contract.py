"""One contract suite for every LaunchLedger: the fake and Redis (DESIGN §5)."""

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import redis.asyncio as redis
from token_fakes import FixedClock, InMemoryLaunchLedger

from token_service.adapters.outbound.redis_launch_ledger import RedisLaunchLedger
from token_service.application.launch_ports import ClaimRefused, LaunchLedger
from token_service.application.ports import DependencyUnavailable
from token_service.domain.launch import LaunchDetails

pytestmark = pytest.mark.integration
DETAILS = LaunchDetails(
    "p1", "EMP-1", "Ann 😀", "11111111-1111-4111-8111-111111111111", "location_cashier"
)
TTL = timedelta(seconds=600)


@pytest.fixture(params=["in_memory", "redis"])
async def ledger(
    request: pytest.FixtureRequest, redis_url: str, unique_prefix: str
) -> AsyncIterator[LaunchLedger]:
    if request.param == "in_memory":
        yield InMemoryLaunchLedger()
        return
    client = redis.Redis.from_url(redis_url)
    yield RedisLaunchLedger(client, unique_prefix)
    await client.aclose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


async def minted(ledger: LaunchLedger, clock: FixedClock, jti: str = "j1") -> str:
    await ledger.store(jti, DETAILS, clock.now() + TTL, clock.now())
    return jti


async def test_claim_of_a_minted_record_returns_its_details(
    ledger: LaunchLedger, clock: FixedClock
) -> None:
    """The details come back exactly as stored, emoji and None included."""
    jti = await minted(ledger, clock)

    assert await ledger.claim(jti, "o1", clock.now()) == DETAILS


async def test_none_display_name_round_trips(
    ledger: LaunchLedger, clock: FixedClock
) -> None:
    """An absent display name stays None, not an empty string."""
    details = LaunchDetails("p1", "E", None, DETAILS.location_id, "location_supervisor")
    await ledger.store("j2", details, clock.now() + TTL, clock.now())

    assert await ledger.claim("j2", "o1", clock.now()) == details


async def test_unknown_jti_is_refused_as_unknown(
    ledger: LaunchLedger, clock: FixedClock
) -> None:
    """Nothing stored: the claim says unknown."""
    assert await ledger.claim("nope", "o1", clock.now()) == ClaimRefused("unknown")


async def test_second_claim_within_the_lease_is_busy(
    ledger: LaunchLedger, clock: FixedClock
) -> None:
    """While a claim's lease runs, nobody else can claim: the link is busy
    (a redemption under way), not used; once completed, it is used."""
    jti = await minted(ledger, clock)
    await ledger.claim(jti, "o1", clock.now())
    clock.advance(29)

    assert await ledger.claim(jti, "o2", clock.now()) == ClaimRefused("busy")
    assert await ledger.complete(jti, "o1", "session-1")
    assert await ledger.claim(jti, "o2", clock.now()) == ClaimRefused("used")


async def test_claim_after_the_lease_ran_out_takes_over(
    ledger: LaunchLedger, clock: FixedClock
) -> None:
    """A claim whose 30 s lease expired can be taken; the old owner can't complete."""
    jti = await minted(ledger, clock)
    await ledger.claim(jti, "o1", clock.now())
    clock.advance(30)

    assert await ledger.claim(jti, "o2", clock.now()) == DETAILS
    assert await ledger.complete(jti, "o1", "s1") is False
    assert await ledger.complete(jti, "o2", "s2") is True


async def test_release_lets_the_same_link_be_claimed_again(
    ledger: LaunchLedger, clock: FixedClock
) -> None:
    """Our own failure releases the claim; the link is not burned."""
    jti = await minted(ledger, clock)
    await ledger.claim(jti, "o1", clock.now())

    assert await ledger.release(jti, "o1") is True
    assert await ledger.claim(jti, "o2", clock.now()) == DETAILS


async def test_release_by_another_owner_does_nothing(
    ledger: LaunchLedger, clock: FixedClock
) -> None:
    """Only the owner releases its claim."""
    jti = await minted(ledger, clock)
    await ledger.claim(jti, "o1", clock.now())

    assert await ledger.release(jti, "o2") is False
    assert await ledger.claim(jti, "o3", clock.now()) == ClaimRefused("busy")


async def test_completed_record_is_used_forever(
    ledger: LaunchLedger, clock: FixedClock
) -> None:
    """After complete, claims fail even after the lease; release is refused."""
    jti = await minted(ledger, clock)
    await ledger.claim(jti, "o1", clock.now())
    assert await ledger.complete(jti, "o1", "s1") is True
    clock.advance(120)

    assert await ledger.claim(jti, "o2", clock.now()) == ClaimRefused("used")
    assert await ledger.release(jti, "o1") is False
    assert await ledger.complete(jti, "o1", "s1") is False


async def test_complete_without_claim_is_refused(
    ledger: LaunchLedger, clock: FixedClock
) -> None:
    """A minted record cannot be completed by anyone."""
    jti = await minted(ledger, clock)

    assert await ledger.complete(jti, "o1", "s1") is False


async def test_record_is_gone_60_s_after_expiry(
    ledger: LaunchLedger, clock: FixedClock
) -> None:
    """The record lives until 60 s after the token's expiry, then is unknown."""
    jti = await minted(ledger, clock)
    clock.advance(600 + 59)
    assert await ledger.claim(jti, "o1", clock.now()) == DETAILS
    await ledger.release(jti, "o1")
    clock.advance(1)

    assert await ledger.claim(jti, "o2", clock.now()) == ClaimRefused("unknown")


async def test_redis_key_carries_the_ttl(redis_url: str, unique_prefix: str) -> None:
    """The Redis key expires about 60 s after the token does."""
    client = redis.Redis.from_url(redis_url)
    clock = FixedClock()
    ledger = RedisLaunchLedger(client, unique_prefix)
    await ledger.store("j1", DETAILS, clock.now() + TTL, clock.now())

    ttl = await client.ttl(f"{unique_prefix}launch:j1")
    await client.aclose()

    assert 655 <= ttl <= 660


async def test_redis_down_raises_dependency_unavailable() -> None:
    """A Redis that does not answer raises DependencyUnavailable, no driver error."""
    client = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    ledger = RedisLaunchLedger(client, "x:")
    clock = FixedClock()

    with pytest.raises(DependencyUnavailable):
        await ledger.claim("j1", "o1", clock.now())
    with pytest.raises(DependencyUnavailable):
        await ledger.store("j1", DETAILS, clock.now() + TTL, clock.now())
    await client.aclose()
