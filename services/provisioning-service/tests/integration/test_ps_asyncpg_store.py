"""Integration tests of the asyncpg store and directory against real PostgreSQL."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from ps_rows import partner_rows

from provisioning_service.adapters.outbound.asyncpg_directory import (
    AsyncpgDirectoryAdmin,
    AsyncpgDirectoryReader,
)
from provisioning_service.adapters.outbound.asyncpg_provisioning_store import (
    AsyncpgProvisioningStore,
)
from provisioning_service.domain.directory import PartnerStatus
from provisioning_service.domain.errors import UnknownLocation
from provisioning_service.domain.launch import (
    Abandoned,
    Launch,
    PartnerId,
    Provisioned,
    Rejection,
    RejectionCode,
)

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database_url, min_size=2, max_size=25)
    yield pool
    await pool.close()


class Seeded:
    """A fresh partner with two granted locations and one foreign location."""

    def __init__(self) -> None:
        self.partner_id = f"p-{uuid.uuid4().hex[:10]}"
        self.location = str(uuid.uuid4())
        self.second_location = str(uuid.uuid4())
        self.foreign_location = str(uuid.uuid4())

    def launch(self, jti: str | None = None, **changes: Any) -> Launch:
        fields: dict[str, Any] = {
            "jti": jti or uuid.uuid4().hex,
            "partner_id": PartnerId(self.partner_id),
            "external_user_id": "EMP-1",
            "display_name": "Ada",
            "location_id": self.location,
            "role_slug": "location_supervisor",
            "redeemed_at": datetime.now(UTC),
        }
        fields.update(changes)
        return Launch(**fields)


async def seed(admin: Any) -> Seeded:
    seeded = Seeded()
    await admin.create_partner(seeded.partner_id, "Partner")
    for location in (seeded.location, seeded.second_location, seeded.foreign_location):
        await admin.create_location(location, "Shop")
    await admin.grant(seeded.partner_id, seeded.location)
    await admin.grant(seeded.partner_id, seeded.second_location)
    return seeded


@pytest_asyncio.fixture(loop_scope="session", params=["in_memory", "asyncpg"])
async def contract(
    request: pytest.FixtureRequest, pool: asyncpg.Pool, in_memory_directory: Any
) -> AsyncIterator[tuple[Any, Seeded]]:
    """The same rules, checked on the in-memory fake and on PostgreSQL."""
    if request.param == "in_memory":
        yield in_memory_directory, await seed(in_memory_directory)
        return
    async with pool.acquire() as connection:
        seeded = await seed(AsyncpgDirectoryAdmin(connection))
    yield AsyncpgProvisioningStore(pool), seeded


async def test_first_launch_creates_user_and_membership(contract: Any) -> None:
    store, seeded = contract

    outcome = await store.provision(seeded.launch(display_name=None))

    assert isinstance(outcome, Provisioned)
    assert (outcome.user_created, outcome.membership_created) == (True, True)
    assert outcome.display_name == "EMP-1"
    assert outcome.role_slug == "location_supervisor"
    assert len(outcome.permissions) == 10


async def test_later_launches_ignore_name_and_role(contract: Any) -> None:
    store, seeded = contract
    first = await store.provision(seeded.launch())

    later = await store.provision(
        seeded.launch(display_name="Bob", role_slug="location_cashier")
    )

    assert isinstance(later, Provisioned)
    assert later.pos_user_id == first.pos_user_id
    assert (later.display_name, later.role_slug) == ("Ada", "location_supervisor")
    assert (later.user_created, later.membership_created) == (False, False)


async def test_a_new_location_creates_only_a_membership(contract: Any) -> None:
    store, seeded = contract
    await store.provision(seeded.launch())

    outcome = await store.provision(
        seeded.launch(location_id=seeded.second_location, role_slug="location_cashier")
    )

    assert isinstance(outcome, Provisioned)
    assert (outcome.user_created, outcome.membership_created) == (False, True)
    assert outcome.role_slug == "location_cashier"


async def test_a_repeated_jti_returns_the_stored_result(contract: Any) -> None:
    store, seeded = contract
    first = await store.provision(seeded.launch("jti-repeat-" + seeded.partner_id))

    again = await store.provision(
        seeded.launch("jti-repeat-" + seeded.partner_id, external_user_id="other")
    )

    assert again == first


async def test_a_launch_past_its_provision_by_is_abandoned_unwritten(
    contract: Any,
) -> None:
    """Its asker stopped waiting: the same user a moment later is still new."""
    store, seeded = contract
    passed = datetime.now(UTC) - timedelta(milliseconds=1)

    late = await store.provision(seeded.launch("jti-late", provision_by=passed))
    on_time = await store.provision(
        seeded.launch(provision_by=datetime.now(UTC) + timedelta(seconds=30))
    )

    assert late == Abandoned("jti-late")
    assert isinstance(on_time, Provisioned)
    assert (on_time.user_created, on_time.membership_created) == (True, True)


async def test_a_written_launch_redelivered_past_its_provision_by_still_answers(
    contract: Any,
) -> None:
    """A crash between commit and ack: the redelivery finds the stored result."""
    store, seeded = contract
    jti = "jti-redelivered-" + seeded.partner_id
    first = await store.provision(
        seeded.launch(jti, provision_by=datetime.now(UTC) + timedelta(seconds=30))
    )

    again = await store.provision(
        seeded.launch(jti, provision_by=datetime.now(UTC) - timedelta(seconds=1))
    )

    assert isinstance(first, Provisioned)
    assert again == first


async def test_the_database_clock_decides_as_the_launch_is_written(
    pool: asyncpg.Pool,
) -> None:
    """A deadline that passes while a slow statement waits for a lock counts."""
    async with pool.acquire() as connection:
        seeded = await seed(AsyncpgDirectoryAdmin(connection))
    store = AsyncpgProvisioningStore(pool)

    async with pool.acquire() as blocker, blocker.transaction():
        await blocker.execute(
            "SELECT 1 FROM partner_tbl WHERE partner_id = $1 FOR UPDATE",
            seeded.partner_id,
        )
        pending = asyncio.create_task(
            store.provision(
                seeded.launch(provision_by=datetime.now(UTC) + timedelta(seconds=0.3))
            )
        )
        await asyncio.sleep(0.6)
    outcome = await pending

    assert outcome == Abandoned(outcome.jti)
    assert await partner_rows(pool, seeded.partner_id) == (0, 0, 0)


@pytest.mark.parametrize("case", ["not_granted", "unknown_partner", "suspended"])
async def test_refused_launches_write_nothing(pool: asyncpg.Pool, case: str) -> None:
    async with pool.acquire() as connection:
        admin = AsyncpgDirectoryAdmin(connection)
        seeded = await seed(admin)
        if case == "suspended":
            await admin.set_partner_status(seeded.partner_id, PartnerStatus.SUSPENDED)
    launch = {
        "not_granted": seeded.launch(location_id=seeded.foreign_location),
        "unknown_partner": seeded.launch(partner_id=PartnerId("nobody")),
        "suspended": seeded.launch(),
    }[case]

    outcome = await AsyncpgProvisioningStore(pool).provision(launch)

    assert isinstance(outcome, Rejection)
    expected = "partner_suspended" if case == "suspended" else "location_not_permitted"
    assert outcome.code is RejectionCode(expected)
    assert await partner_rows(pool, seeded.partner_id) == (0, 0, 0)


async def test_concurrent_first_launches_make_one_user_and_one_membership(
    pool: asyncpg.Pool,
) -> None:
    """C-10: 20 first launches of one user at once, each with its own jti."""
    async with pool.acquire() as connection:
        seeded = await seed(AsyncpgDirectoryAdmin(connection))
    store = AsyncpgProvisioningStore(pool)
    roles = ["location_cashier", "location_supervisor"]

    outcomes = await asyncio.gather(
        *(
            store.provision(seeded.launch(display_name=f"n{i}", role_slug=roles[i % 2]))
            for i in range(20)
        )
    )

    assert all(isinstance(outcome, Provisioned) for outcome in outcomes)
    assert len({outcome.pos_user_id for outcome in outcomes}) == 1
    assert len({outcome.role_slug for outcome in outcomes}) == 1
    assert sum(outcome.user_created for outcome in outcomes) == 1
    assert await partner_rows(pool, seeded.partner_id) == (1, 1, 20)


async def test_concurrent_duplicates_of_one_jti_get_one_result(
    pool: asyncpg.Pool,
) -> None:
    """C-11: duplicate deliveries of one message, processed at once."""
    async with pool.acquire() as connection:
        seeded = await seed(AsyncpgDirectoryAdmin(connection))
    store = AsyncpgProvisioningStore(pool)
    launch = seeded.launch()

    outcomes = await asyncio.gather(*(store.provision(launch) for _ in range(10)))

    assert len(set(outcomes)) == 1
    assert await partner_rows(pool, seeded.partner_id) == (1, 1, 1)


async def test_a_partner_may_opt_in_to_name_updates(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as connection:
        seeded = await seed(AsyncpgDirectoryAdmin(connection))
        await connection.execute(
            "UPDATE partner_tbl SET replace_display_name = true WHERE partner_id = $1",
            seeded.partner_id,
        )
    store = AsyncpgProvisioningStore(pool)
    await store.provision(seeded.launch())

    renamed = await store.provision(seeded.launch(display_name="Ada Lovelace"))
    kept = await store.provision(seeded.launch(display_name=None))

    assert isinstance(renamed, Provisioned)
    assert isinstance(kept, Provisioned)
    assert (renamed.display_name, kept.display_name) == ("Ada Lovelace",) * 2


@pytest.mark.parametrize("change", ["revoke", "suspend"])
async def test_a_stored_result_is_not_returned_after_the_grant_is_gone(
    pool: asyncpg.Pool, change: str
) -> None:
    """A launch provisioned before a revoke or a suspension, retried after it,
    is refused: the stored answer never opens a session the partner lost."""
    async with pool.acquire() as connection:
        admin = AsyncpgDirectoryAdmin(connection)
        seeded = await seed(admin)
        store = AsyncpgProvisioningStore(pool)
        launch = seeded.launch()
        assert isinstance(await store.provision(launch), Provisioned)
        if change == "revoke":
            await admin.revoke(seeded.partner_id, seeded.location)
        else:
            await admin.set_partner_status(seeded.partner_id, PartnerStatus.SUSPENDED)

    retried = await store.provision(launch)

    assert isinstance(retried, Rejection)
    expected = "location_not_permitted" if change == "revoke" else "partner_suspended"
    assert retried.code is RejectionCode(expected)


async def test_concurrent_renames_record_each_replaced_name_once(
    pool: asyncpg.Pool,
) -> None:
    """With name updates on, 12 launches at once with 12 names leave an audit
    trail in which every replaced name was really the one replaced."""
    async with pool.acquire() as connection:
        seeded = await seed(AsyncpgDirectoryAdmin(connection))
        await connection.execute(
            "UPDATE partner_tbl SET replace_display_name = true WHERE partner_id = $1",
            seeded.partner_id,
        )
    store = AsyncpgProvisioningStore(pool)
    await store.provision(seeded.launch(display_name="N0"))

    await asyncio.gather(
        *(store.provision(seeded.launch(display_name=f"N{i}")) for i in range(1, 13))
    )

    rows = await pool.fetch(
        "SELECT previous_display_name FROM launch_redemption_tbl"
        " WHERE partner_id = $1 AND previous_display_name IS NOT NULL",
        seeded.partner_id,
    )
    replaced = [row["previous_display_name"] for row in rows]
    assert len(replaced) == 12
    assert len(set(replaced)) == 12


async def test_directory_reader_reports_grants_at_a_growing_version(
    pool: asyncpg.Pool,
) -> None:
    reader = AsyncpgDirectoryReader(pool)
    before = await reader.read()
    async with pool.acquire() as connection:
        seeded = await seed(AsyncpgDirectoryAdmin(connection))

    after = await reader.read()

    assert after.version >= before.version + 3
    listing = {p.partner_id: p for p in after.partners}[seeded.partner_id]
    assert listing.status is PartnerStatus.ACTIVE
    assert listing.location_ids == {seeded.location, seeded.second_location}


async def test_snapshots_and_changes_carry_the_database_epoch(
    pool: asyncpg.Pool,
) -> None:
    """One epoch per database, the same in every snapshot and change, so a copy
    can tell this database's version 2 from another's."""
    reader = AsyncpgDirectoryReader(pool)
    async with pool.acquire() as connection:
        admin = AsyncpgDirectoryAdmin(connection)
        await seed(admin)
        changes = admin.committed

    first, second = await reader.read(), await reader.read()

    assert len(first.epoch) == 36  # a UUID drawn when the database was migrated
    assert second.epoch == first.epoch
    assert {change.epoch for change in changes} == {first.epoch}


async def test_granting_an_unknown_location_names_it(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as connection:
        seeded = await seed(AsyncpgDirectoryAdmin(connection))

        with pytest.raises(UnknownLocation):
            await AsyncpgDirectoryAdmin(connection).grant(
                seeded.partner_id, str(uuid.uuid4())
            )
