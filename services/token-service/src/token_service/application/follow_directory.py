"""Use case: keep the directory copy in step with provisioning (DESIGN §7.2).

Provisioning announces each committed change with the directory's version;
the copy applies version N+1 on top of N, ignores anything not newer, and
asks for a snapshot when it is empty or a version was skipped (a lost or
overtaken event), since only a snapshot can fill a gap. Versions count
within an epoch, one per provisioning database: a snapshot of another epoch
replaces the copy whatever its version, and a change of another epoch is a
gap, so a copy that outlived its database cannot shadow the new one.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import structlog

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class PartnerState:
    """One partner's full state as provisioning last committed it."""

    partner_id: str
    status: str
    location_ids: frozenset[str]
    replace_display_name: bool


class Applied(StrEnum):
    APPLIED = "applied"
    STALE = "stale"  # not newer than the copy: a duplicate or overtaken event
    GAP = "gap"  # newer than the next version: earlier changes are missing
    EMPTY = "empty"  # no copy to apply it to


class DirectoryCopy(Protocol):
    """The token service's versioned copy of the directory, shared by replicas.

    `apply` and `load` are atomic and idempotent: `apply` writes the partner
    only when `version` is exactly the copy's next one in the copy's epoch;
    `load` replaces the whole copy only when the snapshot is newer than it,
    of another epoch, or it is empty, and returns whether it did. Both raise
    `DependencyUnavailable`.
    """

    async def apply(
        self, version: int, partner: PartnerState, *, epoch: str = ""
    ) -> Applied: ...

    async def load(
        self, version: int, partners: list[PartnerState], *, epoch: str = ""
    ) -> bool: ...


class FollowDirectory:
    """Applies changes and snapshots; says when a snapshot is needed."""

    def __init__(self, copy: DirectoryCopy) -> None:
        self._copy = copy

    async def changed(
        self, version: int, partner: PartnerState, *, epoch: str = ""
    ) -> bool:
        """Applies one change; True when the copy needs a snapshot to go on."""
        outcome = await self._copy.apply(version, partner, epoch=epoch)
        log.info(
            "directory_change_applied",
            version=version,
            epoch=epoch,
            partner_id=partner.partner_id,
            outcome=str(outcome),
        )
        return outcome in (Applied.GAP, Applied.EMPTY)

    async def snapshot(
        self, version: int, partners: list[PartnerState], *, epoch: str = ""
    ) -> None:
        loaded = await self._copy.load(version, partners, epoch=epoch)
        log.info(
            "directory_snapshot_loaded" if loaded else "directory_snapshot_ignored",
            version=version,
            epoch=epoch,
            count=len(partners),
        )
