"""Unit tests of the launch precheck: what is refused before any database."""

import secrets
from datetime import UTC, datetime, timedelta, timezone

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


def _refusal(changes: dict[str, object]) -> str:
    with pytest.raises(InvalidLaunch) as raised:
        precheck(launch(**changes))
    return str(raised.value)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"jti": "j" * 65}, "base64url"),
        ({"jti": "j" * 12_000}, "base64url"),
        ({"jti": "jti with spaces"}, "base64url"),
        ({"external_user_id": " EMP-1 "}, "surrounding whitespace"),
        ({"external_user_id": "EMP\x001"}, "control or invisible"),
        ({"external_user_id": "EMP\u202e1"}, "control or invisible"),
        ({"external_user_id": "EMP\u200d1"}, "control or invisible"),
        ({"external_user_id": "Zoe\u0308"}, "NFC"),
        ({"display_name": "x" * 101}, "display_name of 1-100"),
        ({"display_name": "x" * 100_000}, "display_name of 1-100"),
        ({"display_name": ""}, "display_name of 1-100"),
        ({"display_name": " Ada"}, "surrounding whitespace"),
        ({"display_name": "Ada\nLovelace"}, "control or invisible"),
        ({"display_name": "Zoe\u0308"}, "NFC"),
    ],
)
def test_text_breaking_the_mint_rules_is_an_invalid_launch(
    changes: dict[str, object], expected: str
) -> None:
    assert expected in _refusal(changes)


@pytest.mark.parametrize("field", ["redeemed_at", "provision_by"])
@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (datetime(2026, 5, 12, 10, 30), "time zone"),
        (datetime(1, 1, 1, tzinfo=UTC), "from 2020"),
        (datetime(9999, 12, 31, tzinfo=UTC), "from 2020"),
    ],
)
def test_the_launch_times_must_be_aware_and_plausible(
    field: str, instant: datetime, expected: str
) -> None:
    refusal = _refusal({field: instant})

    assert field in refusal
    assert expected in refusal


def test_a_refusal_names_the_rule_never_the_value() -> None:
    message = _refusal({"external_user_id": " secret-employee-7 "})

    assert "secret-employee-7" not in message


@pytest.mark.parametrize(
    "changes",
    [
        {"jti": secrets.token_urlsafe(16)},
        {"jti": "j" * 64},
        {"external_user_id": "x" * 255},
        {"display_name": "n" * 100},
        {"display_name": "Zoë"},
        {"display_name": "👩\u200d💻 Ada"},
        {
            "redeemed_at": datetime(
                2026, 5, 12, 12, 30, tzinfo=timezone(timedelta(hours=2))
            )
        },
    ],
)
def test_what_the_token_service_mints_passes(changes: dict[str, object]) -> None:
    assert precheck(launch(**changes)) is None
