"""Unit tests of the launch precheck: what is refused before any database."""

from datetime import UTC, datetime

import pytest

from provisioning_service.domain.errors import InvalidLaunch
from provisioning_service.domain.launch import (
    Launch,
    PartnerId,
    RejectionCode,
    precheck,
)


def launch(**changes: object) -> Launch:
    fields: dict[str, object] = {
        "jti": "jti-1",
        "partner_id": PartnerId("partner-1"),
        "external_user_id": "EMP-1",
        "display_name": None,
        "location_id": "3f2b6c1e-6a43-4d0b-9a57-1c2d3e4f5a6b",
        "role_slug": "location_cashier",
        "redeemed_at": datetime(2026, 5, 12, 10, 30, tzinfo=UTC),
    }
    fields.update(changes)
    return Launch(**fields)  # type: ignore[arg-type]


def test_a_well_formed_launch_passes() -> None:
    assert precheck(launch()) is None


@pytest.mark.parametrize("location_id", ["not-a-uuid", "", "42"])
def test_a_malformed_location_is_refused_like_an_unknown_one(location_id: str) -> None:
    rejection = precheck(launch(location_id=location_id))

    assert rejection is not None
    assert rejection.code is RejectionCode.LOCATION_NOT_PERMITTED


@pytest.mark.parametrize("role_slug", ["admin", "LOCATION_SUPERVISOR", ""])
def test_an_unknown_role_is_refused(role_slug: str) -> None:
    rejection = precheck(launch(role_slug=role_slug))

    assert rejection is not None
    assert rejection.code is RejectionCode.ROLE_NOT_PERMITTED


@pytest.mark.parametrize(
    "changes",
    [
        {"jti": ""},
        {"partner_id": ""},
        {"external_user_id": ""},
        {"external_user_id": "x" * 256},
    ],
)
def test_broken_identifiers_raise_invalid_launch(changes: dict[str, object]) -> None:
    with pytest.raises(InvalidLaunch) as raised:
        precheck(launch(**changes))

    assert raised.value.code == "launch_invalid"


def test_a_missing_display_name_defaults_to_the_external_id() -> None:
    assert launch().first_display_name() == "EMP-1"
    assert launch(display_name="Ada").first_display_name() == "Ada"
