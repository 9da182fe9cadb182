"""Ports of the partner's link controls: the launch registry and idempotency keys.

Each port raises only `DependencyUnavailable` (when its store fails);
driver errors are translated in the adapter.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from token_service.domain.launch import LaunchDetails

LedgerState = Literal["minted", "claimed", "redeemed", "revoked"]
RevokeOutcome = Literal[
    "revoked",
    "unknown",
    "expired",
    "redeemed",
    "refused",
    "claimed",
    "already_revoked",
]


@dataclass(frozen=True, slots=True)
class LaunchRecord:
    """A launch as the ledger holds it, with the times the registry added."""

    jti: str
    details: LaunchDetails
    state: LedgerState
    expires_at: datetime
    created_at: datetime | None
    redeemed_at: datetime | None
    # Completed without a session: provisioning refused the launch.
    refused: bool = False


@dataclass(frozen=True, slots=True)
class RememberedLaunch:
    """The answer a mint gave, kept so that a retry with its key gets it again."""

    jti: str
    launch_url: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class KeyInUse:
    """An Idempotency-Key already taken: its body's fingerprint, and the answer
    once the first request has one (None while it is still minting)."""

    fingerprint: str
    answer: RememberedLaunch | None


class LaunchRegistry(Protocol):
    """Reads and revokes the ledger's launch records, and indexes them per partner.

    Works on the ledger's own records (DESIGN §5), so a record is known until
    60 s after its token expires, no longer. `revoke` is one atomic step
    against `LaunchLedger.claim`: of a revocation and a claim racing on one
    link, exactly one wins.
    """

    async def track(
        self,
        jti: str,
        details: LaunchDetails,
        created_at: datetime,
        expires_at: datetime,
    ) -> None:
        """Record `created_at` and index the link by user and location until expiry."""

    async def find(self, jti: str) -> LaunchRecord | None:
        """The record, or None when unknown or purged."""

    async def mark_redeemed(self, jti: str, redeemed_at: datetime) -> None:
        """Record when a redeemed link was redeemed; no effect on other states."""

    async def revoke(self, partner_id: str, jti: str, now: datetime) -> RevokeOutcome:
        """`minted` (or `claimed` with a lapsed lease) and not expired → `revoked`.

        `unknown` when the record is gone or belongs to another partner;
        `claimed` when a redemption holds it right now.
        """

    async def revoke_matching(
        self,
        partner_id: str,
        external_user_id: str | None,
        location_id: str | None,
        now: datetime,
    ) -> int:
        """Revoke every revocable link of the partner matching all given filters."""


class IdempotencyKeys(Protocol):
    """A partner's Idempotency-Keys: one holder per key, then its remembered answer.

    `take` is atomic: of concurrent takers of one key exactly one gets None.
    """

    async def take(
        self, partner_id: str, key: str, fingerprint: str, hold_s: float
    ) -> KeyInUse | None:
        """Hold the key for `hold_s` seconds (None), or say who already has it."""

    async def remember(
        self,
        partner_id: str,
        key: str,
        fingerprint: str,
        answer: RememberedLaunch,
        now: datetime,
    ) -> None:
        """Keep the answer under the held key until the link expires."""

    async def release(self, partner_id: str, key: str, fingerprint: str) -> None:
        """Free a key held without an answer (the mint failed), so a retry can mint."""
