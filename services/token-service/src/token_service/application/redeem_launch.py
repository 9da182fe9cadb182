"""Use case: a browser opens a launch link (DESIGN §6), at most one session per link."""

import asyncio
import time
from dataclasses import dataclass
from typing import Final

import structlog

from token_service.application.launch_ports import (
    ClaimRefused,
    Clock,
    IdGenerator,
    LaunchLedger,
    LaunchTokens,
    SessionStore,
)
from token_service.application.link_ports import LaunchRegistry
from token_service.application.ports import (
    DependencyUnavailable,
    RedemptionBus,
    SessionIssuer,
)
from token_service.application.unavailable import guarded
from token_service.domain.errors import (
    LaunchTokenRefused,
    LaunchTokenRevoked,
    LaunchTokenUsed,
    ProvisioningRejected,
    ServiceUnavailable,
)
from token_service.domain.identity import CognitoTokens
from token_service.domain.launch import LaunchDetails
from token_service.domain.provisioning import (
    ProvisionedUser,
    ProvisioningRejection,
    RedeemedLaunch,
)
from token_service.domain.session import SESSION_LIFETIME, BrowserSession

log = structlog.get_logger(__name__)
# Provisioning waits at most its own timeout (5 s by default); with this cap on
# Cognito a redemption stays well inside the ledger's 30 s lease (DESIGN §5).
COGNITO_BUDGET_S: Final = 15.0
# A second open of a link being redeemed waits this long for the first to end:
# long enough for a normal redemption (C-04's losers then see "used"), short
# enough to answer "retry" when the first was orphaned by an outage (C-05).
BUSY_WAIT_S: Final = 3.0
BUSY_POLL_S: Final = 0.05


@dataclass(frozen=True, slots=True)
class Redeemed:
    """The browser goes to /sale; `new_session` is None when it already holds one."""

    new_session: BrowserSession | None


class RedeemLaunch:
    """Verify, claim, provision, sign in, then complete; release on our own failures.

    Raises `LaunchTokenInvalid`, `LaunchTokenExpired`, `LaunchTokenUsed`,
    `LaunchTokenRevoked`, `ProvisioningRejected` (or `LaunchTokenRefused` when
    a link it refused is opened again) or `ServiceUnavailable` (the same link
    can be retried).
    """

    def __init__(
        self,
        tokens: LaunchTokens,
        ledger: LaunchLedger,
        bus: RedemptionBus,
        issuer: SessionIssuer,
        sessions: SessionStore,
        clock: Clock,
        ids: IdGenerator,
        provisioning_timeout_s: float,
        registry: LaunchRegistry | None = None,
        busy_wait_s: float = BUSY_WAIT_S,
    ) -> None:
        self._tokens = tokens
        self._ledger = ledger
        self._bus = bus
        self._issuer = issuer
        self._sessions = sessions
        self._clock = clock
        self._ids = ids
        self._timeout_s = provisioning_timeout_s
        self._registry = registry
        self._busy_wait_s = busy_wait_s

    async def execute(self, token: str, current_session_id: str | None) -> Redeemed:
        verified = self._tokens.verify(token, self._clock.now())
        jti = verified.jti
        structlog.contextvars.bind_contextvars(correlation_id=jti)

        current = await self._current_session(current_session_id)
        if current is not None and current.jti == jti:
            log.info("launch_token_reopened", outcome="existing_session")
            return Redeemed(new_session=None)

        owner = self._ids.new_owner()
        claimed = await self._claim(jti, owner)
        if isinstance(claimed, ClaimRefused):
            raise await self._refusal(jti)

        try:
            session = await self._sign_in(jti, owner, claimed)
        except DependencyUnavailable as exc:
            await self._release(jti, owner)
            log.error(
                "launch_redemption_failed",
                dependency=exc.dependency,
                error=exc.detail,
                outcome="released",
            )
            raise ServiceUnavailable() from exc

        log.info("launch_token_redeemed", pos_user_id=session.pos_user_id)
        await self._mark_redeemed(jti)
        await self._revoke(current, session)
        return Redeemed(new_session=session)

    async def _claim(self, jti: str, owner: str) -> LaunchDetails | ClaimRefused:
        """Claim, waiting a little while another request holds the link.

        Another request's live lease is a redemption under way, not a used
        link: it may still fail and release. Wait for its outcome; if it does
        not end in time (orphaned by an outage until its lease runs out), say
        "retry", never "used".
        """
        deadline = time.monotonic() + self._busy_wait_s
        delay = BUSY_POLL_S
        while True:
            now = self._clock.now()
            claimed = await guarded(
                self._ledger.claim(jti, owner, now), "launch_redemption_failed"
            )
            if not (isinstance(claimed, ClaimRefused) and claimed.reason == "busy"):
                return claimed
            if time.monotonic() >= deadline:
                log.warning("launch_redemption_busy", outcome="retry")
                raise ServiceUnavailable()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)

    async def _refusal(
        self, jti: str
    ) -> LaunchTokenUsed | LaunchTokenRevoked | LaunchTokenRefused:
        """Used, unless the partner revoked it or provisioning refused it: then
        the page says so, since a new link would not help the refused one."""
        if self._registry is None:
            return LaunchTokenUsed()
        record = await guarded(self._registry.find(jti), "launch_redemption_failed")
        if record is not None and record.state == "revoked":
            return LaunchTokenRevoked()
        if record is not None and record.refused:
            return LaunchTokenRefused()
        return LaunchTokenUsed()

    async def _mark_redeemed(self, jti: str) -> None:
        if self._registry is None:
            return
        try:
            await self._registry.mark_redeemed(jti, self._clock.now())
        except DependencyUnavailable as exc:
            # The session stands; only the status loses its redeemed_at.
            log.warning(
                "launch_redeemed_at_lost",
                dependency=exc.dependency,
                error=exc.detail,
            )

    async def _sign_in(
        self, jti: str, owner: str, details: LaunchDetails
    ) -> BrowserSession:
        now = self._clock.now()
        launch = RedeemedLaunch(
            jti=jti,
            partner_id=details.partner_id,
            external_user_id=details.external_user_id,
            display_name=details.display_name,
            location_id=details.location_id,
            role_slug=details.role_slug,
            redeemed_at=now,
        )
        result = await self._bus.provision(launch, self._timeout_s)
        if isinstance(result, ProvisioningRejection):
            # The link cannot help any more: burn it rather than let it be retried.
            await self._ledger.complete(jti, owner, "")
            raise ProvisioningRejected(result.code, result.message or None)

        tokens = await self._issue(result)
        now = self._clock.now()
        session = BrowserSession(
            session_id=self._ids.new_session_id(),
            csrf_token=self._ids.new_csrf_token(),
            pos_user_id=result.pos_user_id,
            partner_id=result.partner_id,
            external_user_id=result.external_user_id,
            location_id=result.location_id,
            role_slug=result.role_slug,
            permissions=result.permissions,
            display_name=result.display_name,
            jti=jti,
            tokens=tokens,
            tokens_expire_at=now,
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        ).with_tokens(tokens, now)
        await self._sessions.save(session, now)

        try:
            completed = await self._ledger.complete(jti, owner, session.session_id)
        except DependencyUnavailable:
            await self._discard(session)
            raise
        if not completed:
            # Our lease ran out and another request took the link over.
            await self._discard(session)
            raise LaunchTokenUsed()
        log.info(
            "session_issued",
            pos_user_id=session.pos_user_id,
            location_id=session.location_id,
            role_slug=session.role_slug,
            user_created=result.user_created,
            membership_created=result.membership_created,
        )
        return session

    async def _issue(self, user: ProvisionedUser) -> CognitoTokens:
        """Cognito sign-in, bounded so a redemption ends well within its lease."""
        try:
            async with asyncio.timeout(COGNITO_BUDGET_S):
                return await self._issuer.issue(user)
        except TimeoutError as exc:
            raise DependencyUnavailable("cognito", "sign-in took too long") from exc

    async def _current_session(self, session_id: str | None) -> BrowserSession | None:
        if not session_id:
            return None
        session = await guarded(
            self._sessions.get(session_id), "launch_redemption_failed"
        )
        if session is None or not session.is_live(self._clock.now()):
            return None
        return session

    async def _revoke(
        self, previous: BrowserSession | None, current: BrowserSession
    ) -> None:
        """Sign out the session this browser held before (shared terminals)."""
        if previous is None:
            return
        try:
            await self._sessions.delete(previous.session_id)
            # A global sign-out of the same user would kill the new tokens too.
            if previous.pos_user_id != current.pos_user_id:
                await self._issuer.sign_out(previous.pos_user_id)
        except DependencyUnavailable as exc:
            log.warning(
                "session_revoke_failed",
                dependency=exc.dependency,
                error=exc.detail,
            )
            return
        log.info("session_revoked", pos_user_id=previous.pos_user_id, reason="replaced")

    async def _discard(self, session: BrowserSession) -> None:
        try:
            await self._sessions.delete(session.session_id)
        except DependencyUnavailable as exc:
            log.error(
                "session_discard_failed",
                dependency=exc.dependency,
                error=exc.detail,
            )

    async def _release(self, jti: str, owner: str) -> None:
        try:
            await self._ledger.release(jti, owner)
        except DependencyUnavailable as exc:
            # The lease runs out on its own; the link becomes claimable again then.
            log.error(
                "launch_release_failed",
                dependency=exc.dependency,
                error=exc.detail,
            )
