"""The Redis session store against a real Redis."""

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest
import redis.asyncio as redis
from token_fakes import LOCATION_1, FixedClock

from token_service.adapters.outbound.redis_session_store import RedisSessionStore
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
