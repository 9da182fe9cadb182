"""Use case: a partner asks for a launch link (DESIGN §3.2, §4)."""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

import structlog

from token_service.application.launch_ports import (
    Clock,
    IdGenerator,
    LaunchLedger,
    LaunchTokens,
    MintAdmission,
    MintRateLimiter,
    PartnerDirectory,
    Throttled,
)
from token_service.application.unavailable import guarded
from token_service.domain.errors import RateLimited
from token_service.domain.launch import LaunchDetails, validate_launch_request

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class MintedLaunch:
    """The link, its id (the token's jti) and the details it stands for."""

    jti: str
    launch_url: str
    expires_at: datetime
    details: LaunchDetails


@dataclass(frozen=True, slots=True)
class LaunchRequestFields:
    """The request body as decoded, not yet validated."""

    external_user_id: object
    display_name: object
    location_id: object
    role_slug: object


class StepwiseMintAdmission:
    """`MintAdmission` as two calls: the limiter, then the ledger when admitted."""

    def __init__(self, limiter: MintRateLimiter, ledger: LaunchLedger) -> None:
        self._limiter = limiter
        self._ledger = ledger

    async def admit(
        self,
        partner_id: str,
        jti: str,
        details: LaunchDetails,
        expires_at: datetime,
        now: datetime,
    ) -> Throttled | None:
        throttled = await self._limiter.acquire(partner_id, now)
        if throttled is None:
            await self._ledger.store(jti, details, expires_at, now)
        return throttled


class MintLaunch:
    """Validate, check the grant, spend the rate budget and store, sign: in order.

    Requests refused before the budget (invalid, not granted) spend none of
    it: they cost the store nothing. `admission` does budget and store in one
    step (one round trip on Redis); without it the limiter and the ledger are
    called one after the other. Raises `RateLimited`, `ValidationFailed`,
    `LocationNotPermitted`, `PartnerSuspended` or `ServiceUnavailable`.
    """

    def __init__(
        self,
        ledger: LaunchLedger,
        tokens: LaunchTokens,
        directory: PartnerDirectory,
        limiter: MintRateLimiter,
        clock: Clock,
        ids: IdGenerator,
        public_base_url: str,
        ttl_s: int,
        admission: MintAdmission | None = None,
    ) -> None:
        self._admission = admission or StepwiseMintAdmission(limiter, ledger)
        self._tokens = tokens
        self._directory = directory
        self._clock = clock
        self._ids = ids
        self._launch_base = public_base_url.rstrip("/") + "/launch"
        self._ttl = timedelta(seconds=ttl_s)

    async def execute(
        self, partner_id: str, fields: LaunchRequestFields
    ) -> MintedLaunch:
        details = validate_launch_request(
            partner_id,
            fields.external_user_id,
            fields.display_name,
            fields.location_id,
            fields.role_slug,
        )

        await guarded(
            self._directory.check(partner_id, details.location_id),
            "launch_mint_failed",
        )

        now = self._clock.now()
        issued_at = now.replace(microsecond=0)
        expires_at = issued_at + self._ttl
        jti = self._ids.new_jti()
        # Every later line of this request, request_handled too, names the launch.
        structlog.contextvars.bind_contextvars(correlation_id=jti)
        throttled = await guarded(
            self._admission.admit(partner_id, jti, details, expires_at, now),
            "launch_mint_failed",
        )
        if isinstance(throttled, Throttled):
            log.warning("launch_mint_throttled", partner_id=partner_id)
            raise RateLimited(max(1, math.ceil(throttled.retry_after_s)))

        token = self._tokens.sign(jti, issued_at, expires_at)
        log.info(
            "launch_token_minted",
            partner_id=partner_id,
            location_id=details.location_id,
            role_slug=details.role_slug,
        )
        url = f"{self._launch_base}?{urlencode({'token': token})}"
        return MintedLaunch(
            jti=jti, launch_url=url, expires_at=expires_at, details=details
        )
