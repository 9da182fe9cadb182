"""Translation between the token service's domain and the shared wire messages."""

from datetime import datetime

from tilt_shared.messages import LaunchRedeemed, ProvisioningResult
from token_service.domain.provisioning import ProvisionedUser, RedeemedLaunch


def wire_request(launch: RedeemedLaunch, provision_by: datetime) -> LaunchRedeemed:
    """The `launch.redeemed` message provisioning consumes for this launch."""
    return LaunchRedeemed(
        jti=launch.jti,
        partner_id=launch.partner_id,
        external_user_id=launch.external_user_id,
        display_name=launch.display_name,
        location_id=launch.location_id,
        role_slug=launch.role_slug,
        redeemed_at=launch.redeemed_at,
        provision_by=provision_by,
    )


def provisioned_user(
    launch: RedeemedLaunch, reply: ProvisioningResult
) -> ProvisionedUser:
    """The POS user provisioning answered with; ids of the partner come from us."""
    return ProvisionedUser(
        pos_user_id=reply.pos_user_id,
        partner_id=launch.partner_id,
        external_user_id=launch.external_user_id,
        display_name=reply.display_name,
        location_id=reply.location_id,
        role_slug=reply.role_slug,
        permissions=tuple(reply.permissions),
        user_created=reply.user_created,
        membership_created=reply.membership_created,
    )
