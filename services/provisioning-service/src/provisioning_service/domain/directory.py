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


@dataclass(frozen=True, slots=True)
class Directory:
    """Every partner at one `version`; versions only grow (DESIGN §7.2)."""

    version: int
    partners: tuple[PartnerListing, ...]
