"""Identifiers and time from the operating system: `secrets` and the UTC clock."""

import secrets
from datetime import UTC, datetime


class SecretsIdGenerator:
    """`IdGenerator` on the `secrets` module (a CSPRNG)."""

    def new_jti(self) -> str:
        return secrets.token_urlsafe(16)

    def new_owner(self) -> str:
        return secrets.token_urlsafe(16)

    def new_session_id(self) -> str:
        return secrets.token_urlsafe(32)

    def new_csrf_token(self) -> str:
        return secrets.token_urlsafe(32)


class SystemClock:
    """`Clock` on the system time, always UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)
