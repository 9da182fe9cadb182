"""Fakes of the provisioning ports and the bus fixtures of the service's tests."""

import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aio_pika
import asyncpg
import pytest
import pytest_asyncio
from aio_pika.abc import AbstractRobustConnection

from provisioning_service.adapters.outbound.asyncpg_directory import (
    AsyncpgDirectoryAdmin,
)
from provisioning_service.domain.directory import (
    Directory,
    Membership,
    PartnerListing,
    PartnerStatus,
    UserListing,
)
from provisioning_service.domain.errors import UnknownLocation, UnknownPartner
from provisioning_service.domain.launch import (
    Abandoned,
    Launch,
    Outcome,
    PosUserId,
    Provisioned,
    Rejection,
    RejectionCode,
)
from provisioning_service.settings import Settings
from tilt_shared.bus import BusNames
from tilt_shared.settings import Secret

CASHIER = (
    "pos.customer.create",
    "pos.customer.read",
    "pos.order.create",
    "pos.order.read",
    "pos.payment.initiate",
    "pos.payment.refund",
    "pos.payment.void",
)
PERMISSIONS = {
    "location_cashier": CASHIER,
    "location_supervisor": tuple(
        sorted((*CASHIER, "pos.order.override", "pos.report.read", "pos.settings.read"))
    ),
}


class InMemoryDirectory:
    """ProvisioningStore, DirectoryReader and DirectoryAdmin in dictionaries."""

    def __init__(self) -> None:
        self.partners: dict[str, PartnerStatus] = {}
        self.grants: set[tuple[str, str]] = set()
        self.locations: set[str] = set()
        self.users: dict[tuple[str, str], tuple[str, str]] = {}
        self.memberships: dict[tuple[str, str], str] = {}
        self.redemptions: dict[str, Provisioned] = {}
        self.version = 0

    async def provision(self, launch: Launch) -> Outcome:
        status = self.partners.get(launch.partner_id)
        if status is None or (launch.partner_id, launch.location_id) not in self.grants:
            return Rejection(launch.jti, RejectionCode.LOCATION_NOT_PERMITTED)
        if status is not PartnerStatus.ACTIVE:
            return Rejection(launch.jti, RejectionCode.PARTNER_SUSPENDED)
        if launch.jti in self.redemptions:
            return self.redemptions[launch.jti]
        if launch.provision_by is not None and datetime.now(UTC) > launch.provision_by:
            return Abandoned(launch.jti)

        key = (launch.partner_id, launch.external_user_id)
        user_created = key not in self.users
        if user_created:
            self.users[key] = (f"user-{len(self.users)}", launch.first_display_name())
        pos_user_id, display_name = self.users[key]
        membership = (pos_user_id, launch.location_id)
        membership_created = membership not in self.memberships
        if membership_created:
            self.memberships[membership] = launch.role_slug
        role = self.memberships[membership]

        outcome = Provisioned(
            jti=launch.jti,
            pos_user_id=PosUserId(pos_user_id),
            display_name=display_name,
            location_id=launch.location_id,
            role_slug=role,
            permissions=PERMISSIONS[role],
            user_created=user_created,
            membership_created=membership_created,
        )
        self.redemptions[launch.jti] = outcome
        return outcome

    async def read(self) -> Directory:
        partners = tuple(
            PartnerListing(
                partner_id,
                status,
                frozenset(loc for p, loc in self.grants if p == partner_id),
            )
            for partner_id, status in sorted(self.partners.items())
        )
        return Directory(self.version, partners)

    async def create_partner(self, partner_id: str, name: str) -> bool:
        changed = partner_id not in self.partners
        self.partners.setdefault(partner_id, PartnerStatus.ACTIVE)
        return self._changed(changed)

    async def set_partner_status(self, partner_id: str, status: PartnerStatus) -> bool:
        if partner_id not in self.partners:
            raise UnknownPartner(partner_id)
        changed = self.partners[partner_id] is not status
        self.partners[partner_id] = status
        return self._changed(changed)

    async def create_location(self, location_id: str, name: str) -> bool:
        changed = location_id not in self.locations
        self.locations.add(location_id)
        return changed

    async def grant(self, partner_id: str, location_id: str) -> bool:
        if partner_id not in self.partners:
            raise UnknownPartner(partner_id)
        if location_id not in self.locations:
            raise UnknownLocation(location_id)
        changed = (partner_id, location_id) not in self.grants
        self.grants.add((partner_id, location_id))
        return self._changed(changed)

    async def revoke(self, partner_id: str, location_id: str) -> bool:
        if partner_id not in self.partners:
            raise UnknownPartner(partner_id)
        changed = (partner_id, location_id) in self.grants
        self.grants.discard((partner_id, location_id))
        return self._changed(changed)

    async def users(self, partner_id: str) -> list[UserListing]:
        if partner_id not in self.partners:
            raise UnknownPartner(partner_id)
        return [
            UserListing(
                pos_user_id,
                external_user_id,
                display_name,
                tuple(
                    Membership(location, role)
                    for (user, location), role in self.memberships.items()
                    if user == pos_user_id
                ),
            )
            for (partner, external_user_id), (pos_user_id, display_name) in (
                self.users.items()
            )
            if partner == partner_id
        ]

    def _changed(self, changed: bool) -> bool:
        self.version += int(changed)
        return changed


@pytest.fixture
def in_memory_directory() -> InMemoryDirectory:
    return InMemoryDirectory()


sys.path.insert(0, str(Path(__file__).parent))
from ps_bus import BusProbe  # noqa: E402 -- importable only once the path is set


@pytest.fixture
def settings(amqp_url: str, database_url: str, unique_prefix: str) -> Settings:
    return Settings(
        amqp_url=Secret(amqp_url),
        database_url=Secret(database_url),
        bus_prefix=unique_prefix,
        max_retries=2,
    )


@pytest_asyncio.fixture(loop_scope="session")
async def seeded(database_url: str) -> dict[str, str]:
    """A new active partner with one granted location."""
    partner_id, location_id = f"p-{uuid.uuid4().hex[:10]}", str(uuid.uuid4())
    connection = await asyncpg.connect(database_url)
    admin = AsyncpgDirectoryAdmin(connection)
    await admin.create_partner(partner_id, "Partner")
    await admin.create_location(location_id, "Shop")
    await admin.grant(partner_id, location_id)
    await connection.close()
    return {"partner_id": partner_id, "location_id": location_id}


@pytest_asyncio.fixture(loop_scope="session")
async def probe(
    amqp_url: str, unique_prefix: str, seeded: dict[str, str]
) -> AsyncIterator[BusProbe]:
    """A client of the test's bus names; deletes its queues and exchanges after."""
    connection: AbstractRobustConnection = await aio_pika.connect_robust(amqp_url)
    names = BusNames.with_prefix(unique_prefix)
    yield BusProbe(connection, await connection.channel(), names, seeded)
    cleanup = await connection.channel()
    for queue in (names.provisioning_queue, names.dead_letter_queue):
        await cleanup.queue_delete(queue)
    for exchange in (names.exchange, names.dead_letter_exchange):
        await cleanup.exchange_delete(exchange)
    await connection.close()
