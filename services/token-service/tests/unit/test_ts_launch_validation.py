"""The launch request rules of DESIGN §3.2 and cases C-09, C-13, C-14, C-17."""

import pytest

from token_service.domain.errors import ValidationFailed
from token_service.domain.launch import LaunchDetails, validate_launch_request

LOCATION = "123e4567-e89b-12d3-a456-426614174000"


def valid(**fields: object) -> LaunchDetails:
    body: dict[str, object] = {
        "external_user_id": "EMP-1",
        "display_name": None,
        "location_id": LOCATION,
        "role_slug": None,
    }
    body.update(fields)
    return validate_launch_request("partner-1", **body)


def field_errors(**fields: object) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        valid(**fields)
    return {error.field: error.message for error in caught.value.errors}


def test_c09_ids_differing_only_in_case_stay_distinct() -> None:
    """External user ids are opaque: case is never folded."""
    assert valid(external_user_id="EMP-1").external_user_id == "EMP-1"
    assert valid(external_user_id="emp-1").external_user_id == "emp-1"


@pytest.mark.parametrize(
    "padded", [" EMP-1", "EMP-1 ", "\tEMP-1", "EMP-1\n", "\u00a0EMP-1", "EMP-1\u3000"]
)
def test_c09_whitespace_padded_ids_are_rejected_not_trimmed(padded: str) -> None:
    """Leading or trailing whitespace of any kind is an error, never trimmed away."""
    assert "whitespace" in field_errors(external_user_id=padded)["external_user_id"]


@pytest.mark.parametrize("bad", ["EMP\x001", "EMP\x1b1", "EMP\u200b1", "EMP\u20281"])
def test_external_user_id_rejects_control_and_invisible_characters(bad: str) -> None:
    """NUL, escape, zero-width space and line separators are rejected."""
    assert "external_user_id" in field_errors(external_user_id=bad)


def test_external_user_id_must_be_nfc() -> None:
    """A decomposed 'é' (e + combining accent) is not NFC and is rejected."""
    assert "NFC" in field_errors(external_user_id="Jose\u0301")["external_user_id"]


@pytest.mark.parametrize("bad", ["", None, 42, "x" * 256])
def test_external_user_id_required_and_bounded(bad: object) -> None:
    """Missing, empty, non-string or over 255 characters is rejected."""
    assert "external_user_id" in field_errors(external_user_id=bad)


def test_external_user_id_of_255_characters_is_accepted() -> None:
    """The upper bound is inclusive."""
    assert len(valid(external_user_id="x" * 255).external_user_id) == 255


@pytest.mark.parametrize("bad", ["admin", "LOCATION_SUPERVISOR", ""])
def test_c13_unknown_role_slugs_are_rejected_naming_the_allowed_values(
    bad: str,
) -> None:
    """Anything but the two role slugs is refused with a message naming them."""
    message = field_errors(role_slug=bad)["role_slug"]
    assert "location_cashier" in message
    assert "location_supervisor" in message


def test_c13_null_or_absent_role_means_cashier() -> None:
    """No role given: the user launches as a cashier."""
    assert valid(role_slug=None).role_slug == "location_cashier"
    assert valid(role_slug="location_supervisor").role_slug == "location_supervisor"


def test_c17_display_name_of_101_characters_is_rejected() -> None:
    """101 characters is one too many."""
    assert "display_name" in field_errors(display_name="a" * 101)


def test_c17_display_name_of_100_emoji_round_trips_exactly() -> None:
    """100 characters including astral-plane emoji are accepted unchanged."""
    name = "😀" * 50 + "b" * 50
    assert valid(display_name=name).display_name == name


@pytest.mark.parametrize(
    "name",
    [
        "\U0001f468\u200d\U0001f4bb Dev",  # man technologist: a ZWJ sequence
        "\U0001f468\u200d\U0001f469\u200d\U0001f467" * 14 + "aa",  # 100 characters
        "\u0646\u06cc\u06a9\u200c\u0646\u0627\u0645",  # Persian, with a ZWNJ
        "\u0915\u094d\u200d\u0937",  # Devanagari half form, with a ZWJ
    ],
)
def test_c17_names_written_with_joiners_are_accepted_unchanged(name: str) -> None:
    """Emoji sequences and scripts that need ZWJ or ZWNJ round-trip exactly."""
    assert valid(display_name=name).display_name == name


@pytest.mark.parametrize(
    "bad", ["Ann\x00", "Ann\x07Lee", "Ann\u2029", "Ann\u202eeL", "\ufeffAnn"]
)
def test_c17_display_name_with_control_characters_is_rejected(bad: str) -> None:
    """A NUL, a control character or a bidi override never reaches the bus."""
    assert "display_name" in field_errors(display_name=bad)


def test_display_name_is_trimmed_and_nfc_normalized() -> None:
    """Names are stored trimmed and in NFC."""
    assert valid(display_name="  Jose\u0301 ").display_name == "José"


@pytest.mark.parametrize("blank", ["   ", ""])
def test_display_name_blank_after_trimming_is_rejected(blank: str) -> None:
    """A name must keep at least one character once trimmed."""
    assert "display_name" in field_errors(display_name=blank)


@pytest.mark.parametrize("bad", ["not-a-uuid", "", None, 7, "{" + LOCATION + "}"])
def test_c14_malformed_location_ids_are_rejected(bad: object) -> None:
    """Only a UUID string in its usual hyphenated form is accepted."""
    assert "location_id" in field_errors(location_id=bad)


def test_location_id_is_stored_lower_case() -> None:
    """An upper-case UUID is the same location in canonical form."""
    assert valid(location_id=LOCATION.upper()).location_id == LOCATION


def test_every_invalid_field_is_reported_once() -> None:
    """All field errors come together, one entry per field."""
    errors = field_errors(
        external_user_id=" x", display_name="\x00", location_id="no", role_slug="admin"
    )
    assert set(errors) == {
        "external_user_id",
        "display_name",
        "location_id",
        "role_slug",
    }
