"""The directory: which partners exist, their status, their granted locations."""

from dataclasses import dataclass
from enum import StrEnum


class PartnerStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


@dataclass(frozen=True, slots=True)
class PartnerListing:
    partner_id: str
    status: PartnerStatus
    location_ids: frozenset[str]
    replace_display_name: bool = False


@dataclass(frozen=True, slots=True)
class DirectoryChange:
    """One committed change: the partner's full new state at `version`."""

    version: int
    partner: PartnerListing
    epoch: str = ""


@dataclass(frozen=True, slots=True)
class Directory:
    """Every partner at one `version`; versions only grow (DESIGN §7.2), within
    the `epoch` of the database they count in."""

    version: int
    partners: tuple[PartnerListing, ...]
    epoch: str = ""


@dataclass(frozen=True, slots=True)
class Membership:
    location_id: str
    role_slug: str


@dataclass(frozen=True, slots=True)
class UserListing:
    """One POS user of a partner with every membership it holds."""

    pos_user_id: str
    external_user_id: str
    display_name: str
    memberships: tuple[Membership, ...]
