"""Launch requests: the rules a partner's request must meet, and the stored details.

Identifiers are opaque: nothing here trims, folds case or normalizes an
`external_user_id`; a value that would need it is rejected instead (C-09).
"""

import unicodedata
import uuid
from dataclasses import dataclass
from typing import Final

from token_service.domain.errors import FieldError, ValidationFailed

CASHIER: Final = "location_cashier"
SUPERVISOR: Final = "location_supervisor"
ROLE_SLUGS: Final = (CASHIER, SUPERVISOR)
EXTERNAL_USER_ID_MAX: Final = 255
DISPLAY_NAME_MAX: Final = 100
EXAMPLE_UUID: Final = "123e4567-e89b-12d3-a456-426614174000"
# Cc: C0/C1 controls (NUL included); Cf: invisible format characters;
# Zl/Zp: line and paragraph separators. None belong in an id or a name.
FORBIDDEN_CATEGORIES: Final = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
# Names may keep the two joiners that emoji sequences and scripts such as
# Persian or Devanagari need to be written at all (Unicode TR #51, §2.3; the
# Unicode Standard §23.2). Other format characters (bidi overrides, BOM) stay
# forbidden, and ids allow none.
NAME_JOINERS: Final = frozenset({"\u200c", "\u200d"})


@dataclass(frozen=True, slots=True)
class LaunchDetails:
    """What a launch token stands for; stored server-side under its jti (§4)."""

    partner_id: str
    external_user_id: str
    display_name: str | None
    location_id: str
    role_slug: str


def _has_forbidden_characters(text: str, allowed: frozenset[str] = frozenset()) -> bool:
    return any(
        unicodedata.category(ch) in FORBIDDEN_CATEGORIES and ch not in allowed
        for ch in text
    )


def check_external_user_id(value: object) -> str | FieldError:
    field = "external_user_id"
    if not isinstance(value, str) or value == "":
        return FieldError(field, "expected a non-empty string")
    if len(value) > EXTERNAL_USER_ID_MAX:
        return FieldError(
            field,
            f"expected at most {EXTERNAL_USER_ID_MAX} characters, got {len(value)}",
        )
    if value != value.strip():
        return FieldError(field, "expected no leading or trailing whitespace")
    if _has_forbidden_characters(value):
        return FieldError(field, "expected no control or invisible characters")
    if not unicodedata.is_normalized("NFC", value):
        return FieldError(field, "expected text in Unicode NFC form")
    return value


def _check_display_name(value: object) -> str | FieldError | None:
    field = "display_name"
    if value is None:
        return None
    if not isinstance(value, str):
        return FieldError(field, "expected a string or null")
    if _has_forbidden_characters(value, allowed=NAME_JOINERS):
        return FieldError(field, "expected no control or invisible characters")
    name = unicodedata.normalize("NFC", value.strip())
    if not 1 <= len(name) <= DISPLAY_NAME_MAX:
        return FieldError(
            field,
            f"expected 1 to {DISPLAY_NAME_MAX} characters after trimming, "
            f"got {len(name)}",
        )
    return name


def check_location_id(value: object) -> str | FieldError:
    field = "location_id"
    if not isinstance(value, str):
        return FieldError(field, "expected a UUID string")
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        parsed = None
    if parsed is None or value.lower() != str(parsed):
        return FieldError(field, f"expected a UUID string like '{EXAMPLE_UUID}'")
    return str(parsed)


def _check_role_slug(value: object) -> str | FieldError:
    if value is None:
        return CASHIER
    if isinstance(value, str) and value in ROLE_SLUGS:
        return value
    return FieldError("role_slug", f"expected one of {', '.join(ROLE_SLUGS)} or null")


def validate_launch_request(
    partner_id: str,
    external_user_id: object,
    display_name: object,
    location_id: object,
    role_slug: object,
) -> LaunchDetails:
    """The launch details, or `ValidationFailed` listing every invalid field."""
    checked = {
        "external_user_id": check_external_user_id(external_user_id),
        "display_name": _check_display_name(display_name),
        "location_id": check_location_id(location_id),
        "role_slug": _check_role_slug(role_slug),
    }
    errors = tuple(v for v in checked.values() if isinstance(v, FieldError))
    if errors:
        raise ValidationFailed(errors)

    def text(name: str) -> str:
        value = checked[name]
        assert isinstance(value, str)
        return value

    name = checked["display_name"]
    return LaunchDetails(
        partner_id=partner_id,
        external_user_id=text("external_user_id"),
        display_name=name if isinstance(name, str) else None,
        location_id=text("location_id"),
        role_slug=text("role_slug"),
    )
