"""The browser session: server-side state behind an opaque cookie (DESIGN §10)."""

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Final

from token_service.domain.identity import CognitoTokens

SESSION_LIFETIME: Final = timedelta(hours=8)


@dataclass(frozen=True, slots=True)
class BrowserSession:
    """A POS session; it ends `SESSION_LIFETIME` after the launch, whatever the use."""

    # The cookie's value and the form's secret: never in a repr.
    session_id: str = field(repr=False)
    csrf_token: str = field(repr=False)
    pos_user_id: str
    partner_id: str
    external_user_id: str
    location_id: str
    role_slug: str
    permissions: tuple[str, ...]
    display_name: str
    jti: str
    tokens: CognitoTokens
    tokens_expire_at: datetime
    created_at: datetime
    expires_at: datetime

    def is_live(self, now: datetime) -> bool:
        return now < self.expires_at

    def with_tokens(self, tokens: CognitoTokens, now: datetime) -> "BrowserSession":
        expiry = now + timedelta(seconds=tokens.expires_in_s)
        return replace(self, tokens=tokens, tokens_expire_at=expiry)
