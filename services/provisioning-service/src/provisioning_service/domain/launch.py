"""A redeemed launch to provision, and what provisioning makes of it (DESIGN §8)."""

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final, NewType

from provisioning_service.domain.errors import InvalidLaunch

PosUserId = NewType("PosUserId", str)
PartnerId = NewType("PartnerId", str)

# DESIGN §3.3: the only roles a launch may ask for.
KNOWN_ROLES: Final = frozenset({"location_cashier", "location_supervisor"})
MAX_EXTERNAL_USER_ID: Final = 255  # DESIGN §3.2
MAX_DISPLAY_NAME: Final = 100  # DESIGN §3.2
# The token service's jti is 22 base64url characters; 64 leaves slack.
JTI_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
# The same characters the token service refuses at mint: controls, invisible
# format characters, line and paragraph separators, surrogates, private use
# and unassigned code points. Names may keep the two joiners emoji sequences
# and some scripts need (Unicode TR #51, §2.3).
FORBIDDEN_CATEGORIES: Final = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
NAME_JOINERS: Final = frozenset({"\u200c", "\u200d"})
# Redemptions happen now: anything outside this window is a bug or a forgery,
# and the extremes of `datetime` reach PostgreSQL as -infinity or infinity.
EARLIEST_REDEMPTION: Final = datetime(2020, 1, 1, tzinfo=UTC)
LATEST_REDEMPTION: Final = datetime(2100, 1, 1, tzinfo=UTC)


class RejectionCode(StrEnum):
    LOCATION_NOT_PERMITTED = "location_not_permitted"
    PARTNER_SUSPENDED = "partner_suspended"
    ROLE_NOT_PERMITTED = "role_not_permitted"


@dataclass(frozen=True, slots=True)
class Launch:
    """A claimed launch, as the token service handed it over."""

    jti: str
    partner_id: PartnerId
    external_user_id: str
    display_name: str | None
    location_id: str
    role_slug: str
    redeemed_at: datetime
    # The asker stops waiting after this; None: it never stops (ADR 0007).
    provision_by: datetime | None = None

    def first_display_name(self) -> str:
        """The name a new user gets: the given one, else the external id."""
        return self.display_name or self.external_user_id


@dataclass(frozen=True, slots=True)
class Provisioned:
    """The POS user and membership a launch signs in as."""

    jti: str
    pos_user_id: PosUserId
    display_name: str
    location_id: str
    role_slug: str
    permissions: tuple[str, ...]
    user_created: bool
    membership_created: bool


@dataclass(frozen=True, slots=True)
class Rejection:
    """Provisioning refused the launch; nothing was written."""

    jti: str
    code: RejectionCode
    message: str = ""


@dataclass(frozen=True, slots=True)
class Abandoned:
    """The asker stopped waiting before the launch could be written; nothing was.

    Writing it anyway would provision a user for a link the token service has
    told its user was not used, which may since have been revoked.
    """

    jti: str


Outcome = Provisioned | Rejection | Abandoned


def precheck(launch: Launch) -> Rejection | None:
    """Refuse what needs no database; raise `InvalidLaunch` for broken input.

    A malformed location id gets the same answer as an unknown one, so that
    locations cannot be probed (DESIGN §3.2).
    """
    check_launch(launch)

    if not _is_uuid(launch.location_id):
        return Rejection(launch.jti, RejectionCode.LOCATION_NOT_PERMITTED)
    if launch.role_slug not in KNOWN_ROLES:
        return Rejection(
            launch.jti,
            RejectionCode.ROLE_NOT_PERMITTED,
            f"expected one of {sorted(KNOWN_ROLES)}",
        )
    return None


def check_launch(launch: Launch) -> None:
    """Raise `InvalidLaunch` unless the launch meets the contract of DESIGN §3.2.

    The token service applies the same rules at mint, so a launch breaking
    them was forged or mangled on the way. Messages name the field and the
    rule, never the value, which may be personal data.
    """
    if not JTI_PATTERN.fullmatch(launch.jti):
        raise InvalidLaunch("expected a jti of 1-64 base64url characters")
    if not launch.partner_id:
        raise InvalidLaunch("expected a non-empty partner_id")
    _check_external_user_id(launch.external_user_id)
    if launch.display_name is not None:
        _check_display_name(launch.display_name)
    _check_instant("redeemed_at", launch.redeemed_at)
    if launch.provision_by is not None:
        _check_instant("provision_by", launch.provision_by)


def _check_external_user_id(value: str) -> None:
    if not 1 <= len(value) <= MAX_EXTERNAL_USER_ID:
        raise InvalidLaunch(
            f"expected an external_user_id of 1-{MAX_EXTERNAL_USER_ID} characters, "
            f"got {len(value)}"
        )
    _check_text("external_user_id", value, allowed=frozenset())


def _check_display_name(value: str) -> None:
    if not 1 <= len(value) <= MAX_DISPLAY_NAME:
        raise InvalidLaunch(
            f"expected a display_name of 1-{MAX_DISPLAY_NAME} characters, "
            f"got {len(value)}"
        )
    _check_text("display_name", value, allowed=NAME_JOINERS)


def _check_text(field: str, value: str, allowed: frozenset[str]) -> None:
    if value != value.strip():
        raise InvalidLaunch(f"expected a {field} without surrounding whitespace")
    if any(
        unicodedata.category(ch) in FORBIDDEN_CATEGORIES and ch not in allowed
        for ch in value
    ):
        raise InvalidLaunch(
            f"expected a {field} without control or invisible characters"
        )
    if not unicodedata.is_normalized("NFC", value):
        raise InvalidLaunch(f"expected a {field} in Unicode NFC form")


def _check_instant(field: str, value: datetime) -> None:
    if value.utcoffset() is None:
        raise InvalidLaunch(f"expected a {field} with a time zone")
    if not EARLIEST_REDEMPTION <= value < LATEST_REDEMPTION:
        raise InvalidLaunch(
            f"expected a {field} from {EARLIEST_REDEMPTION:%Y} "
            f"to before {LATEST_REDEMPTION:%Y}"
        )


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
