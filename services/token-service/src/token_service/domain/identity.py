"""Tokens of a Cognito session, kept server-side only."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CognitoTokens:
    access_token: str
    id_token: str
    refresh_token: str
    expires_in_s: int
