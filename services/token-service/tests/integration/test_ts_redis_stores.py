"""Redis session store and partner directory copy against a real Redis."""

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest
import redis.asyncio as redis
from token_fakes import (
    GRANTS,
    LOCATION_1,
    LOCATION_2,
    FixedClock,
    InMemoryDirectorySource,
)

from token_service.adapters.outbound.redis_partner_directory import (
    RedisPartnerDirectory,
)
from token_service.adapters.outbound.redis_session_store import RedisSessionStore
from token_service.application.ports import DependencyUnavailable
from token_service.domain.errors import LocationNotPermitted, PartnerSuspended
from token_service.domain.identity import CognitoTokens
from token_service.domain.session import SESSION_LIFETIME, BrowserSession

pytestmark = pytest.mark.integration


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    yield connection
    await connection.aclose()


def a_session(clock: FixedClock) -> BrowserSession:
    now = clock.now()
    return BrowserSession(
        session_id="s" * 43,
        csrf_token="c" * 43,
        pos_user_id="u1",
        partner_id="p1",
        external_user_id="EMP-1",
        location_id=LOCATION_1,
        role_slug="location_cashier",
        permissions=("pos.order.read",),
        display_name="Ann 😀",
        jti="j1",
        tokens=CognitoTokens("a", "i", "r", 3600),
        tokens_expire_at=now + timedelta(hours=1),
        created_at=now,
        expires_at=now + SESSION_LIFETIME,
    )


async def test_session_round_trips_with_ttl_to_its_end(
    client: redis.Redis, unique_prefix: str
) -> None:
    """A saved session reads back equal; its key expires at the session's end."""
    clock = FixedClock()
    store = RedisSessionStore(client, unique_prefix)
    session = a_session(clock)

    await store.save(session, clock.now())

    assert await store.get(session.session_id) == session
    ttl = await client.ttl(f"{unique_prefix}session:{session.session_id}")
    assert 8 * 3600 - 5 <= ttl <= 8 * 3600
    clock.advance(3600)
    await store.save(replace(session, display_name="B"), clock.now())
    ttl = await client.ttl(f"{unique_prefix}session:{session.session_id}")
    assert 7 * 3600 - 5 <= ttl <= 7 * 3600


async def test_deleted_session_is_gone(client: redis.Redis, unique_prefix: str) -> None:
    """Delete forgets the session; getting an unknown id is None."""
    clock = FixedClock()
    store = RedisSessionStore(client, unique_prefix)
    session = a_session(clock)
    await store.save(session, clock.now())

    await store.delete(session.session_id)

    assert await store.get(session.session_id) is None


def directory(
    client: redis.Redis, prefix: str, source: InMemoryDirectorySource, clock: FixedClock
) -> RedisPartnerDirectory:
    return RedisPartnerDirectory(client, source, clock, prefix, max_age_s=5.0)


async def test_directory_grants_only_granted_locations(
    client: redis.Redis, unique_prefix: str
) -> None:
    """Granted passes; foreign and unknown locations and partners get one answer."""
    source, clock = InMemoryDirectorySource(dict(GRANTS)), FixedClock()
    copy = directory(client, unique_prefix, source, clock)

    await copy.check("p1", LOCATION_1)
    with pytest.raises(LocationNotPermitted):
        await copy.check("p1", LOCATION_2)
    with pytest.raises(LocationNotPermitted):
        await copy.check("nobody", LOCATION_1)
    with pytest.raises(PartnerSuspended):
        await copy.check("p3", LOCATION_1)


async def test_directory_is_shared_and_reloaded_when_stale(
    client: redis.Redis, unique_prefix: str
) -> None:
    """A fresh copy serves another instance; a stale one is reloaded."""
    source, clock = InMemoryDirectorySource(dict(GRANTS)), FixedClock()
    await directory(client, unique_prefix, source, clock).check("p1", LOCATION_1)
    other = directory(client, unique_prefix, source, clock)

    await other.check("p1", LOCATION_1)
    assert source.snapshots == 1
    clock.advance(6)
    await other.check("p1", LOCATION_1)
    assert source.snapshots == 2


async def test_directory_reloads_once_on_a_miss(
    client: redis.Redis, unique_prefix: str
) -> None:
    """A grant added since the last load is seen on a miss older than 1 s."""
    source, clock = InMemoryDirectorySource(dict(GRANTS)), FixedClock()
    copy = directory(client, unique_prefix, source, clock)
    await copy.check("p1", LOCATION_1)
    source.grants["p1"] = ("active", frozenset({LOCATION_1, LOCATION_2}))
    clock.advance(2)

    await copy.check("p1", LOCATION_2)

    assert source.snapshots == 2


async def test_directory_without_copy_and_source_down_is_unavailable(
    client: redis.Redis, unique_prefix: str
) -> None:
    """Provisioning down and no copy yet: the dependency error surfaces (503)."""
    source, clock = InMemoryDirectorySource(dict(GRANTS)), FixedClock()
    source.failing = True

    with pytest.raises(DependencyUnavailable):
        await directory(client, unique_prefix, source, clock).check("p1", LOCATION_1)


async def test_directory_keeps_a_stale_copy_when_the_source_is_down(
    client: redis.Redis, unique_prefix: str
) -> None:
    """A stale copy still answers while provisioning is away."""
    source, clock = InMemoryDirectorySource(dict(GRANTS)), FixedClock()
    copy = directory(client, unique_prefix, source, clock)
    await copy.check("p1", LOCATION_1)
    source.failing = True
    clock.advance(60)

    await copy.check("p1", LOCATION_1)


async def test_directory_answers_a_fresh_grant_from_memory_until_max_age(
    client: redis.Redis, unique_prefix: str
) -> None:
    """A granted check within max_age needs no Redis; past it, Redis is read again."""
    source, clock = InMemoryDirectorySource(dict(GRANTS)), FixedClock()
    copy = directory(client, unique_prefix, source, clock)
    await copy.check("p1", LOCATION_1)
    await client.delete(f"{unique_prefix}{{directory}}:current")
    source.failing = True
    clock.advance(4)

    await copy.check("p1", LOCATION_1)

    clock.advance(2)
    with pytest.raises(DependencyUnavailable):
        await copy.check("p1", LOCATION_1)
