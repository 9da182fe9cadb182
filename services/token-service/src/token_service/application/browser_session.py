"""Use cases of a live browser session: showing the sale page and signing out."""

import hmac
from datetime import timedelta
from typing import Final

import structlog

from token_service.application.launch_ports import Clock, SessionStore
from token_service.application.ports import DependencyUnavailable, SessionIssuer
from token_service.domain.errors import CsrfRejected, ServiceUnavailable
from token_service.domain.session import BrowserSession

log = structlog.get_logger(__name__)
# Refresh a little before expiry so a page never carries a token about to lapse.
REFRESH_MARGIN: Final = timedelta(seconds=60)


class ViewSale:
    """Returns the live session behind a cookie, refreshing its Cognito tokens.

    Tokens are refreshed when they expire within `REFRESH_MARGIN` and the
    session outlives them. A failed refresh keeps the session as it is.
    Raises `ServiceUnavailable` when the session store fails.
    """

    def __init__(
        self, sessions: SessionStore, issuer: SessionIssuer, clock: Clock
    ) -> None:
        self._sessions = sessions
        self._issuer = issuer
        self._clock = clock

    async def execute(self, session_id: str | None) -> BrowserSession | None:
        if not session_id:
            return None
        try:
            session = await self._sessions.get(session_id)
        except DependencyUnavailable as exc:
            raise ServiceUnavailable() from exc
        now = self._clock.now()
        if session is None or not session.is_live(now):
            return None

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


class SignOut:
    """CSRF-checked sign-out: Cognito global sign-out, then the session is deleted.

    Raises `CsrfRejected` when the form token does not match the session's,
    `ServiceUnavailable` when Redis or Cognito fails. No session: nothing to do.
    """

    def __init__(self, sessions: SessionStore, issuer: SessionIssuer) -> None:
        self._sessions = sessions
        self._issuer = issuer

    async def execute(self, session_id: str | None, csrf_token: str) -> None:
        if not session_id:
            return
        try:
            session = await self._sessions.get(session_id)
            if session is None:
                return
            if not _same(session.csrf_token, csrf_token):
                raise CsrfRejected()
            await self._issuer.sign_out(session.pos_user_id)
            await self._sessions.delete(session.session_id)
        except DependencyUnavailable as exc:
            raise ServiceUnavailable() from exc
        log.info("signed_out", pos_user_id=session.pos_user_id)


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())
