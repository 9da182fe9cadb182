"""In-memory fakes of the link-control ports, over the in-memory launch ledger."""

from dataclasses import dataclass
from datetime import datetime

from token_fakes import PURGE_AFTER, InMemoryLaunchLedger

from token_service.application.link_ports import (
    KeyInUse,
    LaunchRecord,
    RememberedLaunch,
    RevokeOutcome,
)
from token_service.domain.launch import LaunchDetails


@dataclass
class _Times:
    created_at: datetime | None = None
    redeemed_at: datetime | None = None


class InMemoryLaunchRegistry:
    """`LaunchRegistry` reading the records of an `InMemoryLaunchLedger`."""

    def __init__(self, ledger: InMemoryLaunchLedger) -> None:
        self._ledger = ledger
        self._times: dict[str, _Times] = {}
        self._links: dict[str, LaunchDetails] = {}

    async def track(
        self,
        jti: str,
        details: LaunchDetails,
        created_at: datetime,
        expires_at: datetime,
    ) -> None:
        if jti in self._ledger.records:
            self._times.setdefault(jti, _Times()).created_at = created_at
        self._links[jti] = details

    async def find(self, jti: str) -> LaunchRecord | None:
        record = self._ledger.records.get(jti)
        if record is None:
            return None
        times = self._times.get(jti, _Times())
        return LaunchRecord(
            jti=jti,
            details=record.details,
            state=record.state,
            expires_at=record.purge_at - PURGE_AFTER,
            created_at=times.created_at,
            redeemed_at=times.redeemed_at,
            refused=record.state == "redeemed" and record.session_id == "",
        )

    async def mark_redeemed(self, jti: str, redeemed_at: datetime) -> None:
        record = self._ledger.records.get(jti)
        if record is not None and record.state == "redeemed":
            self._times.setdefault(jti, _Times()).redeemed_at = redeemed_at

    async def revoke(self, partner_id: str, jti: str, now: datetime) -> RevokeOutcome:
        record = self._ledger.records.get(jti)
        if record is None or now >= record.purge_at:
            return "unknown"
        if record.details.partner_id != partner_id:
            return "unknown"
        if record.state == "revoked":
            return "already_revoked"
        if record.state == "redeemed":
            return "refused" if record.session_id == "" else "redeemed"
        if now >= record.purge_at - PURGE_AFTER:
            return "expired"
        lease = record.lease_until
        if record.state == "claimed" and lease is not None and now < lease:
            return "claimed"
        record.state, record.owner, record.lease_until = "revoked", None, None
        return "revoked"

    async def revoke_matching(
        self,
        partner_id: str,
        external_user_id: str | None,
        location_id: str | None,
        now: datetime,
    ) -> int:
        matching = [
            jti
            for jti, details in self._links.items()
            if details.partner_id == partner_id
            and external_user_id in (None, details.external_user_id)
            and location_id in (None, details.location_id)
        ]
        outcomes = [await self.revoke(partner_id, jti, now) for jti in matching]
        return outcomes.count("revoked")


class InMemoryIdempotencyKeys:
    """`IdempotencyKeys` in a dict; holds and answers never lapse (no clock)."""

    def __init__(self) -> None:
        self.held: dict[tuple[str, str], KeyInUse] = {}

    async def take(
        self, partner_id: str, key: str, fingerprint: str, hold_s: float
    ) -> KeyInUse | None:
        found = self.held.get((partner_id, key))
        if found is None:
            self.held[(partner_id, key)] = KeyInUse(fingerprint, None)
        return found

    async def remember(
        self,
        partner_id: str,
        key: str,
        fingerprint: str,
        answer: RememberedLaunch,
        now: datetime,
    ) -> None:
        self.held[(partner_id, key)] = KeyInUse(fingerprint, answer)

    async def release(self, partner_id: str, key: str, fingerprint: str) -> None:
        if self.held.get((partner_id, key)) == KeyInUse(fingerprint, None):
            del self.held[(partner_id, key)]
