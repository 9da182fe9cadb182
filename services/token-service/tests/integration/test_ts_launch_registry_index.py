"""The Redis registry's per-partner index holds only links that may still be pending."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as redis
from redis.asyncio.connection import Connection

from token_service.adapters.outbound.redis_errors import text
from token_service.adapters.outbound.redis_launch_ledger import RedisLaunchLedger
from token_service.adapters.outbound.redis_launch_registry import RedisLaunchRegistry
from token_service.domain.launch import LaunchDetails

pytestmark = pytest.mark.integration
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SHORT = timedelta(seconds=2)
LONG = timedelta(minutes=10)
# The ledger forgets a record 60 s after its link expires (DESIGN §5).
PURGED = SHORT + timedelta(seconds=61)
LOCATION = "0b7e3b7c-9a55-4a8e-9d1e-2f1d8c2f8e11"
DETAILS = LaunchDetails("p1", "EMP-1", None, LOCATION, "location_cashier")
BUSY = 100


class Store:
    """A ledger and a registry on one real Redis, under the test's own prefix."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self.ledger = RedisLaunchLedger(client, prefix)
        self.registry = RedisLaunchRegistry(client, prefix)

    async def mint(self, jti: str, now: datetime, lifetime: timedelta) -> None:
        await self.ledger.store(jti, DETAILS, now + lifetime, now)
        await self.registry.track(jti, DETAILS, now, now + lifetime)

    async def index_sizes(self) -> list[int]:
        """Members of each index key: sorted sets, or the previous release's sets."""
        sizes = []
        async for key in self.client.scan_iter(f"{self.prefix}launch-index*"):
            if text(await self.client.type(key)) == "zset":
                sizes.append(await self.client.zcard(key))
            else:
                sizes.append(await self.client.scard(key))
        return sizes

    async def index_ttls_s(self) -> list[float]:
        keys = self.client.scan_iter(f"{self.prefix}launch-index*")
        return [await self.client.pttl(key) / 1000 async for key in keys]


@pytest.fixture
async def store(redis_url: str, unique_prefix: str) -> AsyncIterator[Store]:
    client = redis.Redis.from_url(redis_url)
    yield Store(client, unique_prefix)
    await client.aclose()


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, ...]]:
    """Every command any Redis client sends from here on, pipelined or not."""
    commands: list[tuple[object, ...]] = []
    pack = Connection.pack_command

    def recorded(self: Connection, *args: object) -> list[bytes]:
        commands.append(args)
        return pack(self, *args)

    monkeypatch.setattr(Connection, "pack_command", recorded)
    return commands


async def test_a_busy_stores_index_forgets_purged_links(store: Store) -> None:
    """A hundred links long purged, then one more: each index holds only that one."""
    for n in range(BUSY):
        await store.mint(f"old-{n}", T0, SHORT)

    await store.mint("new", T0 + PURGED, SHORT)

    assert await store.index_sizes() == [1, 1]


@pytest.mark.parametrize("after", [SHORT, PURGED], ids=["expired", "purged"])
async def test_a_bulk_revocation_touches_only_pending_links(
    store: Store, sent: list[tuple[object, ...]], after: timedelta
) -> None:
    """Of a hundred dead links and three pending ones, only the three are read."""
    for n in range(BUSY):
        await store.mint(f"dead-{n}", T0, SHORT)
    for n in range(3):
        await store.mint(f"live-{n}", T0, LONG)
    sent.clear()

    revoked = await store.registry.revoke_matching("p1", None, LOCATION, T0 + after)

    records = f"{store.prefix}launch:"
    touched = {arg for args in sent for arg in args if str(arg).startswith(records)}
    assert revoked == 3
    assert touched == {f"{records}live-{n}" for n in range(3)}


async def test_a_bulk_revocation_reaches_every_pending_link_of_a_busy_store(
    store: Store,
) -> None:
    """Twelve hundred pending links, more than one round trip holds: all revoked."""
    jtis = [f"live-{n}" for n in range(1_201)]
    for jti in jtis:
        await store.mint(jti, T0, LONG)

    revoked = await store.registry.revoke_matching("p1", "EMP-1", None, T0)

    records = [await store.registry.find(jti) for jti in jtis]
    assert revoked == len(jtis)
    assert {record.state for record in records if record is not None} == {"revoked"}


async def test_a_bulk_revocation_prunes_the_index_it_reads(store: Store) -> None:
    """With no mint since, a revocation after the purge leaves only pending links."""
    for n in range(BUSY):
        await store.mint(f"dead-{n}", T0, SHORT)
    await store.mint("live", T0, LONG)

    await store.registry.revoke_matching("p1", "EMP-1", LOCATION, T0 + PURGED)

    assert await store.index_sizes() == [1, 1]


async def test_a_short_link_never_shortens_the_life_of_the_index(
    store: Store,
) -> None:
    """A ten-minute link then a two-second one: the index outlives the first."""
    await store.mint("long", T0, LONG)

    await store.mint("short", T0, SHORT)

    assert all(ttl > LONG.total_seconds() for ttl in await store.index_ttls_s())


async def test_an_index_set_of_the_previous_release_breaks_nothing(
    store: Store,
) -> None:
    """A set left under the old key name: mint and bulk revocation still work."""
    legacy = f"{store.prefix}launch-index:{{p1}}:location:{LOCATION}"
    await store.client.sadd(legacy, "old")

    await store.mint("j1", T0, LONG)
    revoked = await store.registry.revoke_matching("p1", None, LOCATION, T0)

    assert revoked == 1
    assert await store.client.smembers(legacy) == {b"old"}
