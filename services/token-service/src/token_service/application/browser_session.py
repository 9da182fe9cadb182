"""Use cases of a live browser session: showing the sale page and signing out."""

import asyncio
import hmac
from datetime import timedelta
from typing import Final

import structlog

from token_service.application.launch_ports import (
    Clock,
    PartnerDirectory,
    SessionStore,
)
from token_service.application.ports import DependencyUnavailable, SessionIssuer
from token_service.application.unavailable import guarded
from token_service.domain.errors import (
    AccessWithdrawn,
    CsrfRejected,
    LocationNotPermitted,
    PartnerSuspended,
)
from token_service.domain.session import BrowserSession

log = structlog.get_logger(__name__)
# Refresh a little before expiry so a page never carries a token about to lapse.
REFRESH_MARGIN: Final = timedelta(seconds=60)
# The user waits for the global sign-out, which botocore alone would let run
# for three attempts of up to 2 s to connect and 5 s to read each.
GLOBAL_SIGN_OUT_BUDGET_S: Final = 5.0
SIGN_OUT_FAILED: Final = "sign_out_failed"


class ViewSale:
    """Returns the live session behind a cookie, refreshing its Cognito tokens.

    The partner must still be active and hold the session's store, by the
    directory copy that mints are checked against: otherwise the session is
    deleted and `AccessWithdrawn` raised, so a suspension or a revoked grant
    ends open sessions at their next page, not 8 hours later. Tokens are
    refreshed when they expire within `REFRESH_MARGIN` and the session
    outlives them. A failed refresh keeps the session as it is. Raises
    `ServiceUnavailable` when the session store or the directory fails.
    """

    def __init__(
        self,
        sessions: SessionStore,
        issuer: SessionIssuer,
        clock: Clock,
        directory: PartnerDirectory,
    ) -> None:
        self._sessions = sessions
        self._issuer = issuer
        self._clock = clock
        self._directory = directory

    async def execute(self, session_id: str | None) -> BrowserSession | None:
        if not session_id:
            return None
        session = await guarded(self._sessions.get(session_id), "sale_view_failed")
        now = self._clock.now()
        if session is None or not session.is_live(now):
            return None
        await self._still_permitted(session)

        due = session.tokens_expire_at - REFRESH_MARGIN
        if now < due or session.tokens_expire_at >= session.expires_at:
            return session
        try:
            tokens = await self._issuer.refresh(
                session.pos_user_id, session.tokens.refresh_token
            )
            session = session.with_tokens(tokens, now)
            await self._sessions.save(session, now)
        except DependencyUnavailable as exc:
            log.warning(
                "session_refresh_failed",
                dependency=exc.dependency,
                error=exc.detail,
            )
            return session
        log.info("session_refreshed", pos_user_id=session.pos_user_id)
        return session

    async def _still_permitted(self, session: BrowserSession) -> None:
        check = self._directory.check(session.partner_id, session.location_id)
        try:
            await guarded(check, "sale_view_failed")
        except (LocationNotPermitted, PartnerSuspended) as refusal:
            await guarded(self._sessions.delete(session.session_id), "sale_view_failed")
            log.info(
                "session_ended",
                reason=refusal.code,
                pos_user_id=session.pos_user_id,
                partner_id=session.partner_id,
                location_id=session.location_id,
            )
            raise AccessWithdrawn() from refusal


class SignOut:
    """CSRF-checked sign-out: the session is deleted, then Cognito's global sign-out.

    Deleting the session is what signs the browser out, so it comes first and
    alone decides the outcome. The global sign-out then revokes the user's
    refresh token, best effort: bounded by `cognito_budget_s`, and a failure
    is logged, not raised: the tokens lived only in the deleted session, so
    a refresh token left unrevoked is held by nobody until it expires.
    Raises `CsrfRejected` when the form token does not match the session's,
    `ServiceUnavailable` when the session store fails. No session: nothing to do.
    """

    def __init__(
        self,
        sessions: SessionStore,
        issuer: SessionIssuer,
        cognito_budget_s: float = GLOBAL_SIGN_OUT_BUDGET_S,
    ) -> None:
        self._sessions = sessions
        self._issuer = issuer
        self._cognito_budget_s = cognito_budget_s

    async def execute(self, session_id: str | None, csrf_token: str) -> None:
        if not session_id:
            return
        session = await guarded(self._sessions.get(session_id), SIGN_OUT_FAILED)
        if session is None:
            return
        if not _same(session.csrf_token, csrf_token):
            raise CsrfRejected()

        await guarded(self._sessions.delete(session.session_id), SIGN_OUT_FAILED)
        log.info("signed_out", pos_user_id=session.pos_user_id)

        await self._revoke_cognito_tokens(session.pos_user_id)

    async def _revoke_cognito_tokens(self, pos_user_id: str) -> None:
        try:
            await self._global_sign_out(pos_user_id)
        except DependencyUnavailable as exc:
            log.warning(
                "global_sign_out_failed",
                dependency=exc.dependency,
                error=exc.detail,
                pos_user_id=pos_user_id,
            )

    async def _global_sign_out(self, pos_user_id: str) -> None:
        try:
            async with asyncio.timeout(self._cognito_budget_s):
                await self._issuer.sign_out(pos_user_id)
        except TimeoutError as exc:
            # The boto3 call runs on in its thread and may still succeed.
            raise DependencyUnavailable("cognito", "took too long") from exc


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())
