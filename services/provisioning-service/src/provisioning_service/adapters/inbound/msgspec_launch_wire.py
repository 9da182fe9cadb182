"""The launch bus's wire messages (tilt_shared) to and from the domain's types."""

from provisioning_service.domain.launch import (
    Launch,
    PartnerId,
    Provisioned,
    Rejection,
)
from tilt_shared.messages import (
    LaunchRedeemed,
    ProvisioningRejected,
    ProvisioningResult,
)


def launch_of(wire: LaunchRedeemed) -> Launch:
    """The launch a decoded `LaunchRedeemed` asks to provision."""
    return Launch(
        jti=wire.jti,
        partner_id=PartnerId(wire.partner_id),
        external_user_id=wire.external_user_id,
        display_name=wire.display_name,
        location_id=wire.location_id,
        role_slug=wire.role_slug,
        redeemed_at=wire.redeemed_at,
        provision_by=wire.provision_by,
    )


def reply_of(
    outcome: Provisioned | Rejection,
) -> ProvisioningResult | ProvisioningRejected:
    """The reply that tells the token service what provisioning made of it."""
    if isinstance(outcome, Rejection):
        return ProvisioningRejected(
            jti=outcome.jti, code=str(outcome.code), message=outcome.message
        )
    return ProvisioningResult(
        jti=outcome.jti,
        pos_user_id=outcome.pos_user_id,
        display_name=outcome.display_name,
        location_id=outcome.location_id,
        role_slug=outcome.role_slug,
        permissions=list(outcome.permissions),
        user_created=outcome.user_created,
        membership_created=outcome.membership_created,
    )
