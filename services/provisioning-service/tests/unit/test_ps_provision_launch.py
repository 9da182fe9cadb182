"""Unit tests of the ProvisionLaunch use case against an in-memory store."""

from datetime import UTC, datetime
from typing import Any

from structlog.testing import capture_logs

from provisioning_service.application.provision_launch import ProvisionLaunch
from provisioning_service.application.read_directory import ReadDirectory
from provisioning_service.domain.directory import PartnerStatus
from provisioning_service.domain.launch import (
    Launch,
    PartnerId,
    Provisioned,
    Rejection,
    RejectionCode,
)

LOCATION = "3f2b6c1e-6a43-4d0b-9a57-1c2d3e4f5a6b"


def launch(jti: str, **changes: Any) -> Launch:
    fields: dict[str, Any] = {
        "jti": jti,
        "partner_id": PartnerId("p1"),
        "external_user_id": "EMP-1",
        "display_name": "Ada",
        "location_id": LOCATION,
        "role_slug": "location_supervisor",
        "redeemed_at": datetime(2026, 5, 12, 10, 30, tzinfo=UTC),
    }
    fields.update(changes)
    return Launch(**fields)


async def seeded(directory: Any) -> ProvisionLaunch:
    await directory.create_partner("p1", "Partner one")
    await directory.create_location(LOCATION, "Shop")
    await directory.grant("p1", LOCATION)
    return ProvisionLaunch(directory)


async def test_first_launch_creates_and_logs_user_provisioned(
    in_memory_directory: Any,
) -> None:
    provision = await seeded(in_memory_directory)

    with capture_logs() as logs:
        outcome = await provision(launch("j1"))

    assert isinstance(outcome, Provisioned)
    assert (outcome.user_created, outcome.membership_created) == (True, True)
    assert "pos.report.read" in outcome.permissions
    assert logs[0]["event"] == "user_provisioned"
    assert logs[0]["user_created"] is True


async def test_later_launch_keeps_the_stored_name_and_role(
    in_memory_directory: Any,
) -> None:
    provision = await seeded(in_memory_directory)
    await provision(launch("j1"))

    outcome = await provision(
        launch("j2", display_name="Other", role_slug="location_cashier")
    )

    assert isinstance(outcome, Provisioned)
    assert (outcome.display_name, outcome.role_slug) == ("Ada", "location_supervisor")
    assert (outcome.user_created, outcome.membership_created) == (False, False)


async def test_an_unknown_role_is_rejected_before_the_store(
    in_memory_directory: Any,
) -> None:
    provision = await seeded(in_memory_directory)

    with capture_logs() as logs:
        outcome = await provision(launch("j1", role_slug="admin"))

    assert isinstance(outcome, Rejection)
    assert outcome.code is RejectionCode.ROLE_NOT_PERMITTED
    assert in_memory_directory.users == {}
    assert logs[0]["event"] == "launch_rejected"


async def test_a_suspended_partner_is_rejected(in_memory_directory: Any) -> None:
    provision = await seeded(in_memory_directory)
    await in_memory_directory.set_partner_status("p1", PartnerStatus.SUSPENDED)

    outcome = await provision(launch("j1"))

    assert isinstance(outcome, Rejection)
    assert outcome.code is RejectionCode.PARTNER_SUSPENDED


async def test_read_directory_returns_partners_with_their_grants(
    in_memory_directory: Any,
) -> None:
    await seeded(in_memory_directory)

    directory = await ReadDirectory(in_memory_directory)()

    assert directory.version == 2
    assert directory.partners[0].location_ids == frozenset({LOCATION})
