"""What the token service learns from provisioning about a redeemed launch."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RedeemedLaunch:
    """A claimed launch, as handed to provisioning."""

    jti: str
    partner_id: str
    external_user_id: str
    display_name: str | None
    location_id: str
    role_slug: str
    redeemed_at: datetime


@dataclass(frozen=True, slots=True)
class ProvisionedUser:
    """The POS user and membership that a launch signs in as."""

    pos_user_id: str
    partner_id: str
    external_user_id: str
    display_name: str
    location_id: str
    role_slug: str
    permissions: tuple[str, ...]
    user_created: bool
    membership_created: bool


@dataclass(frozen=True, slots=True)
class ProvisioningRejection:
    """Provisioning refused the launch (for example `location_not_permitted`)."""

    code: str
    message: str = ""
