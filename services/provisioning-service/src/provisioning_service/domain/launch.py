"""A redeemed launch to provision, and what provisioning makes of it (DESIGN §8)."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final, NewType

from provisioning_service.domain.errors import InvalidLaunch

PosUserId = NewType("PosUserId", str)
PartnerId = NewType("PartnerId", str)

# DESIGN §3.3: the only roles a launch may ask for.
KNOWN_ROLES: Final = frozenset({"location_cashier", "location_supervisor"})
MAX_EXTERNAL_USER_ID: Final = 255  # DESIGN §3.2


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


def precheck(launch: Launch) -> Rejection | None:
    """Refuse what needs no database; raise `InvalidLaunch` for broken input.

    A malformed location id gets the same answer as an unknown one, so that
    locations cannot be probed (DESIGN §3.2).
    """
    if not launch.jti or not launch.partner_id:
        raise InvalidLaunch("expected a non-empty jti and partner_id")
    if not 1 <= len(launch.external_user_id) <= MAX_EXTERNAL_USER_ID:
        raise InvalidLaunch(
            f"expected an external_user_id of 1-{MAX_EXTERNAL_USER_ID} characters, "
            f"got {len(launch.external_user_id)}"
        )

    if not _is_uuid(launch.location_id):
        return Rejection(launch.jti, RejectionCode.LOCATION_NOT_PERMITTED)
    if launch.role_slug not in KNOWN_ROLES:
        return Rejection(
            launch.jti,
            RejectionCode.ROLE_NOT_PERMITTED,
            f"expected one of {sorted(KNOWN_ROLES)}",
        )
    return None


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
