"""One contract suite for the launch registry and idempotency keys: fakes and Redis."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as redis
from link_fakes import InMemoryIdempotencyKeys, InMemoryLaunchRegistry
from token_fakes import InMemoryLaunchLedger

from token_service.adapters.outbound.redis_idempotency_keys import (
    RedisIdempotencyKeys,
)
from token_service.adapters.outbound.redis_launch_ledger import RedisLaunchLedger
from token_service.adapters.outbound.redis_launch_registry import RedisLaunchRegistry
from token_service.application.launch_ports import ClaimRefused, LaunchLedger
from token_service.application.link_ports import (
    IdempotencyKeys,
    LaunchRegistry,
    RememberedLaunch,
)
from token_service.domain.launch import LaunchDetails

pytestmark = pytest.mark.integration
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
EXPIRES = NOW + timedelta(minutes=10)
LOCATION = "0b7e3b7c-9a55-4a8e-9d1e-2f1d8c2f8e11"
RACES = 50


def details(partner: str = "p1", user: str = "EMP-1") -> LaunchDetails:
    return LaunchDetails(partner, user, None, LOCATION, "location_cashier")


@dataclass(frozen=True)
class Stores:
    ledger: LaunchLedger
    registry: LaunchRegistry
    keys: IdempotencyKeys

    async def mint(self, jti: str, **who: str) -> None:
        await self.ledger.store(jti, details(**who), EXPIRES, NOW)
        await self.registry.track(jti, details(**who), NOW, EXPIRES)


@pytest.fixture(params=["memory", "redis"])
async def stores(
    request: pytest.FixtureRequest, redis_url: str, unique_prefix: str
) -> AsyncIterator[Stores]:
    if request.param == "memory":
        ledger = InMemoryLaunchLedger()
        yield Stores(ledger, InMemoryLaunchRegistry(ledger), InMemoryIdempotencyKeys())
        return
    client = redis.Redis.from_url(redis_url)
    yield Stores(
        RedisLaunchLedger(client, unique_prefix),
        RedisLaunchRegistry(client, unique_prefix),
        RedisIdempotencyKeys(client, unique_prefix),
    )
    await client.aclose()


async def test_a_record_reads_back_with_its_times(
    stores: Stores,
) -> None:
    """created_at from track, expires_at from the ledger, redeemed_at once redeemed."""
    ledger, registry = stores.ledger, stores.registry
    await stores.mint("j1")

    before = await registry.find("j1")
    assert not isinstance(await ledger.claim("j1", "o1", NOW), ClaimRefused)
    await ledger.complete("j1", "o1", "s1")
    await registry.mark_redeemed("j1", NOW + timedelta(seconds=5))
    after = await registry.find("j1")

    assert before is not None
    assert after is not None
    assert (before.state, before.created_at, before.expires_at) == (
        "minted",
        NOW,
        EXPIRES,
    )
    assert (after.state, after.redeemed_at) == ("redeemed", NOW + timedelta(seconds=5))
    assert await registry.find("nope") is None


async def test_revocation_refuses_other_partners_expired_and_used_links(
    stores: Stores,
) -> None:
    """Only the owner revokes, only a pending link, and only once."""
    ledger, registry = stores.ledger, stores.registry
    for jti in ("a", "b", "c"):
        await stores.mint(jti)
    await ledger.claim("b", "o", NOW)

    outcomes = [
        await registry.revoke("p2", "a", NOW),
        await registry.revoke("p1", "a", EXPIRES),
        await registry.revoke("p1", "b", NOW),
        await registry.revoke("p1", "a", NOW),
        await registry.revoke("p1", "a", NOW),
        await registry.revoke("p1", "c", NOW + timedelta(minutes=30)),
    ]

    assert outcomes == [
        "unknown", "expired", "claimed", "revoked", "already_revoked", "unknown",
    ]  # fmt: skip
    assert await ledger.claim("a", "o2", NOW) == ClaimRefused("used")


async def test_revoking_a_used_link_says_whether_it_was_redeemed_or_refused(
    stores: Stores,
) -> None:
    """A link provisioning refused is completed with no session: 'refused'."""
    ledger = stores.ledger
    for jti, session_id in (("signed-in", "s1"), ("turned-away", "")):
        await stores.mint(jti)
        await ledger.claim(jti, "o", NOW)
        await ledger.complete(jti, "o", session_id)

    outcomes = [
        await stores.registry.revoke("p1", jti, NOW)
        for jti in ("signed-in", "turned-away")
    ]

    assert outcomes == ["redeemed", "refused"]


async def test_revocation_and_claim_racing_have_exactly_one_winner(
    stores: Stores,
) -> None:
    """Fifty links each claimed and revoked at once: one of the two, never both."""
    ledger, registry = stores.ledger, stores.registry
    jtis = [f"race-{n}" for n in range(RACES)]
    for jti in jtis:
        await stores.mint(jti)

    async def race(jti: str) -> tuple[bool, bool]:
        claim, revoke = await asyncio.gather(
            ledger.claim(jti, "owner", NOW), registry.revoke("p1", jti, NOW)
        )
        return not isinstance(claim, ClaimRefused), revoke == "revoked"

    results = await asyncio.gather(*(race(jti) for jti in jtis))

    assert all(claimed != revoked for claimed, revoked in results)


async def test_bulk_revocation_matches_all_given_filters(
    stores: Stores,
) -> None:
    """Both filters, then location alone: each link counted once; p2's untouched."""
    registry = stores.registry
    await stores.mint("u1", user="EMP-1")
    await stores.mint("u2", user="EMP-1")
    await stores.mint("v1", user="EMP-2")
    await stores.mint("other", partner="p2", user="EMP-1")

    both = await registry.revoke_matching("p1", "EMP-1", LOCATION, NOW)
    by_location = await registry.revoke_matching("p1", None, LOCATION, NOW)
    foreign = await registry.find("other")

    assert (both, by_location) == (2, 1)
    assert foreign is not None
    assert foreign.state == "minted"


async def test_links_minted_during_a_bulk_revocation_are_revoked_or_answered_after(
    stores: Stores,
) -> None:
    """Mints racing a revocation: each answered before it began is revoked."""
    registry, answered = stores.registry, []

    # Staggered: some mints are answered before the revocation, some during it.
    async def mint(n: int) -> None:
        await asyncio.sleep(n / 1000)
        await stores.mint(f"m{n}")
        answered.append(f"m{n}")

    async def revoke() -> int:
        await asyncio.sleep(RACES / 2000)
        answered.append("revocation")
        return await registry.revoke_matching("p1", None, LOCATION, NOW)

    *_, revoked = await asyncio.gather(*(mint(n) for n in range(RACES)), revoke())

    before = answered[: answered.index("revocation")]
    records = [await registry.find(f"m{n}") for n in range(RACES)]
    revoked_links = {r.jti for r in records if r is not None and r.state == "revoked"}
    assert len(revoked_links) == revoked
    assert set(before) <= revoked_links


async def test_concurrent_takers_of_one_key_get_one_holder(
    stores: Stores,
) -> None:
    """Fifty takes of one key at once: one holds it; the others see its fingerprint."""
    keys = stores.keys

    taken = await asyncio.gather(
        *(keys.take("p1", "k", f"f{n % 2}", 30) for n in range(RACES))
    )
    holders = [n for n, answer in enumerate(taken) if answer is None]
    fingerprints = {answer.fingerprint for answer in taken if answer is not None}

    assert len(holders) == 1
    assert fingerprints == {f"f{holders[0] % 2}"}


async def test_a_remembered_answer_is_replayed_and_a_release_frees_the_key(
    stores: Stores,
) -> None:
    """After remember, take answers the link; after release, the key is free."""
    keys = stores.keys
    link = RememberedLaunch("j1", "https://pos.example/launch?token=t", EXPIRES)
    await keys.take("p1", "done", "f", 30)
    await keys.remember("p1", "done", "f", link, NOW)
    await keys.take("p1", "failed", "f", 30)
    await keys.release("p1", "failed", "f")

    replay = await keys.take("p1", "done", "f", 30)
    retaken = await keys.take("p1", "failed", "f", 30)
    other_partner = await keys.take("p2", "done", "f", 30)

    assert replay is not None
    assert replay.answer == link
    assert retaken is None
    assert other_partner is None
