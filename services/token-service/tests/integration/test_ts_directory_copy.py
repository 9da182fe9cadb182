"""The event-fed directory copy over real Redis and RabbitMQ (DESIGN §7.2)."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import aio_pika
import pytest
import pytest_asyncio
from redis.asyncio import Redis

from provisioning_service.adapters.inbound.aio_pika_directory_responder import (
    AioPikaDirectoryResponder,
)
from provisioning_service.domain.directory import (
    Directory,
    PartnerListing,
    PartnerStatus,
)
from tilt_shared.bus import BusNames
from token_service.adapters.inbound.aio_pika_directory_listener import (
    AioPikaDirectoryListener,
)
from token_service.adapters.outbound.redis_directory_copy import RedisDirectoryCopy
from token_service.application.follow_directory import (
    Applied,
    FollowDirectory,
    PartnerState,
)
from token_service.application.ports import DependencyUnavailable
from token_service.domain.errors import LocationNotPermitted, PartnerSuspended

pytestmark = pytest.mark.integration
LOCATION = str(uuid.uuid4())


def state(location_ids: set[str], status: str = "active") -> PartnerState:
    return PartnerState("p1", status, frozenset(location_ids), False)


@pytest_asyncio.fixture(loop_scope="session")
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


def fresh_copy(redis: Redis, unique_prefix: str, **kwargs: float) -> RedisDirectoryCopy:
    # No memory: each check reads Redis, so the test sees every write.
    return RedisDirectoryCopy(redis, unique_prefix, memory_max_age_s=0, **kwargs)


async def test_events_apply_once_in_version_order(
    redis: Redis, unique_prefix: str
) -> None:
    """A duplicate or older event changes nothing; a skipped version is a gap."""
    copy = fresh_copy(redis, unique_prefix)
    await copy.load(3, [state({LOCATION})])

    revoked = await copy.apply(4, state(set()))
    again = await copy.apply(4, state({LOCATION}))
    older = await copy.apply(2, state({LOCATION}))
    gap = await copy.apply(6, state({LOCATION}))

    assert (revoked, again, older, gap) == (
        Applied.APPLIED,
        Applied.STALE,
        Applied.STALE,
        Applied.GAP,
    )
    with pytest.raises(LocationNotPermitted):
        await copy.check("p1", LOCATION)


async def test_an_older_snapshot_never_replaces_a_newer_copy(
    redis: Redis, unique_prefix: str
) -> None:
    """A snapshot overtaken by events is ignored; a newer one replaces the copy."""
    copy = fresh_copy(redis, unique_prefix)
    await copy.load(5, [state({LOCATION})])
    await copy.apply(6, state({LOCATION}, status="suspended"))

    older = await copy.load(5, [state({LOCATION})])
    with pytest.raises(PartnerSuspended):
        await copy.check("p1", LOCATION)
    newer = await copy.load(7, [state({LOCATION})])
    await copy.check("p1", LOCATION)

    assert (older, newer) == (False, True)


async def test_a_snapshot_of_another_database_replaces_a_copy_further_on(
    redis: Redis, unique_prefix: str
) -> None:
    """The copy outlived its database: the new one counts from 1 again, and its
    snapshot must not be taken for an old one (a second `make run` did that)."""
    copy = fresh_copy(redis, unique_prefix)
    other_location = str(uuid.uuid4())
    await copy.load(9, [state({other_location})], epoch="old-database")

    loaded = await copy.load(2, [state({LOCATION})], epoch="new-database")
    again = await copy.load(2, [state(set())], epoch="new-database")

    assert (loaded, again) == (True, False)
    await copy.check("p1", LOCATION)
    with pytest.raises(LocationNotPermitted):
        await copy.check("p1", other_location)


async def test_a_change_of_another_database_is_a_gap(
    redis: Redis, unique_prefix: str
) -> None:
    copy = fresh_copy(redis, unique_prefix)
    await copy.load(3, [state({LOCATION})], epoch="old-database")

    outcome = await copy.apply(4, state(set()), epoch="new-database")

    assert outcome == Applied.GAP
    await copy.check("p1", LOCATION)


async def test_an_event_on_an_empty_copy_asks_for_a_snapshot(
    redis: Redis, unique_prefix: str
) -> None:
    """With no copy yet an event cannot be applied, and the copy says so."""
    follow = FollowDirectory(fresh_copy(redis, unique_prefix))

    assert await follow.changed(1, state({LOCATION})) is True


async def test_only_granted_locations_pass(redis: Redis, unique_prefix: str) -> None:
    """A granted location passes in any case; others and strangers get one answer."""
    copy = fresh_copy(redis, unique_prefix)
    suspended = PartnerState("p3", "suspended", frozenset({LOCATION}), False)
    await copy.load(1, [state({LOCATION}), suspended])

    await copy.check("p1", LOCATION.upper())

    with pytest.raises(LocationNotPermitted):
        await copy.check("p1", str(uuid.uuid4()))
    with pytest.raises(LocationNotPermitted):
        await copy.check("nobody", LOCATION)
    with pytest.raises(PartnerSuspended):
        await copy.check("p3", LOCATION)


async def test_a_copy_loaded_once_serves_every_replica(
    redis: Redis, unique_prefix: str
) -> None:
    """Another replica answers from the shared copy without asking for a snapshot."""
    await fresh_copy(redis, unique_prefix).load(1, [state({LOCATION})])
    other = fresh_copy(redis, unique_prefix)

    await other.check("p1", LOCATION)

    assert not other.snapshot_wanted.is_set()


async def test_a_copy_behind_a_lost_event_answers_until_the_snapshot(
    redis: Redis, unique_prefix: str
) -> None:
    """A skipped version asks for a snapshot; meanwhile the stale copy still
    answers (provisioning re-checks at redemption), and the snapshot repairs it."""
    copy = fresh_copy(redis, unique_prefix)
    follow = FollowDirectory(copy)
    await copy.load(1, [state({LOCATION})])

    wants_snapshot = await follow.changed(3, state(set()))
    await copy.check("p1", LOCATION)
    await follow.snapshot(3, [state(set())])

    assert wants_snapshot is True
    with pytest.raises(LocationNotPermitted):
        await copy.check("p1", LOCATION)


async def test_an_empty_copy_nobody_loads_is_unavailable(
    redis: Redis, unique_prefix: str
) -> None:
    """No copy and no snapshot within the timeout: a 503, after asking for one."""
    copy = fresh_copy(redis, unique_prefix, load_timeout_s=0.1)

    with pytest.raises(DependencyUnavailable):
        await copy.check("p1", LOCATION)

    assert copy.snapshot_wanted.is_set()


async def test_a_partner_is_answered_from_memory_until_max_age(
    redis: Redis, unique_prefix: str
) -> None:
    """Within the memory's age a check needs no Redis; past it, Redis is read."""
    copy = RedisDirectoryCopy(
        redis, unique_prefix, load_timeout_s=0.1, memory_max_age_s=0.3
    )
    await copy.load(1, [state({LOCATION})])
    await copy.check("p1", LOCATION)
    await redis.delete(f"{unique_prefix}{{directory}}:copy:version")

    await copy.check("p1", LOCATION)

    await asyncio.sleep(0.35)
    with pytest.raises(DependencyUnavailable):
        await copy.check("p1", LOCATION)


async def test_an_applied_change_is_not_answered_from_memory(
    redis: Redis, unique_prefix: str
) -> None:
    """The replica that applies a revoke forgets the partner at once."""
    copy = RedisDirectoryCopy(redis, unique_prefix, memory_max_age_s=60)
    await copy.load(1, [state({LOCATION})])
    await copy.check("p1", LOCATION)

    await copy.apply(2, state(set()))

    with pytest.raises(LocationNotPermitted):
        await copy.check("p1", LOCATION)


async def test_redis_down_is_a_dependency_failure() -> None:
    """A Redis that does not answer raises DependencyUnavailable, no driver error."""
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    copy = RedisDirectoryCopy(dead, "x:")

    try:
        with pytest.raises(DependencyUnavailable):
            await copy.check("p1", LOCATION)
        with pytest.raises(DependencyUnavailable):
            await copy.apply(2, state({LOCATION}))
        with pytest.raises(DependencyUnavailable):
            await copy.load(1, [state({LOCATION})])
    finally:
        await dead.aclose()


async def test_provisioning_down_at_start_then_the_snapshot_loads(
    redis: Redis, amqp_url: str, unique_prefix: str
) -> None:
    """Mints answer 503 until provisioning answers; then the snapshot is loaded."""
    names = BusNames.with_prefix(unique_prefix)
    copy = fresh_copy(redis, unique_prefix, load_timeout_s=0.5)
    listener = AioPikaDirectoryListener(
        amqp_url, names, FollowDirectory(copy), copy.snapshot_wanted
    )
    listener.start()
    connection = await aio_pika.connect_robust(amqp_url)

    async def directory() -> Directory:
        partner = PartnerListing("p1", PartnerStatus.ACTIVE, frozenset({LOCATION}))
        return Directory(version=9, partners=(partner,))

    responder = AioPikaDirectoryResponder(directory, names)
    try:
        with pytest.raises(DependencyUnavailable):
            await copy.check("p1", LOCATION)

        await responder.start(connection)
        for _ in range(50):
            try:
                await copy.check("p1", LOCATION)
                break
            except DependencyUnavailable:
                await asyncio.sleep(0.1)
        else:
            pytest.fail("the snapshot never loaded")
    finally:
        await responder.stop()
        await listener.close()
        await connection.close()
