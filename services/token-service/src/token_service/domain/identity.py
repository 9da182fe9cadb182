"""Tokens of a Cognito session, kept server-side only."""

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class CognitoTokens:
    # Out of repr, so a session printed in a log or a traceback shows none.
    access_token: str = field(repr=False)
    id_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in_s: int
