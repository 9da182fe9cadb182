"""Use case: provision the POS user and membership of a redeemed launch."""

import structlog

from provisioning_service.application.ports import ProvisioningStore
from provisioning_service.domain.launch import (
    Abandoned,
    Launch,
    Outcome,
    Rejection,
    precheck,
)

log = structlog.get_logger(__name__)


class ProvisionLaunch:
    """Checks the launch, then lets the store create or find user and membership.

    Raises `InvalidLaunch` for input no retry can fix and `StoreUnavailable`
    when the database fails; both leave nothing written.
    """

    def __init__(self, store: ProvisioningStore) -> None:
        self._store = store

    async def __call__(self, launch: Launch) -> Outcome:
        outcome = precheck(launch) or await self._store.provision(launch)

        if isinstance(outcome, Abandoned):
            log.warning(
                "launch_abandoned",
                partner_id=launch.partner_id,
                location_id=launch.location_id,
            )
            return outcome

        if isinstance(outcome, Rejection):
            log.warning(
                "launch_rejected",
                code=str(outcome.code),
                partner_id=launch.partner_id,
                location_id=launch.location_id,
            )
            return outcome

        log.info(
            "user_provisioned",
            pos_user_id=outcome.pos_user_id,
            partner_id=launch.partner_id,
            location_id=outcome.location_id,
            role_slug=outcome.role_slug,
            user_created=outcome.user_created,
            membership_created=outcome.membership_created,
        )
        return outcome
