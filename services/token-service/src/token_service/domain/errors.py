"""The token service's flat error tree: one class per outcome, each with a stable code.

HTTP status codes live in one table at the inbound boundary, not here.
"""

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class FieldError:
    """One invalid request field and what was expected of it."""

    field: str
    message: str


class TokenServiceError(Exception):
    """Base of every expected failure; `code` is stable and shown to callers."""

    code: ClassVar[str] = "token_service_error"
    default_message: ClassVar[str] = "the request could not be completed"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class LaunchTokenInvalid(TokenServiceError):
    code = "launch_token_invalid"
    default_message = (
        "expected a launch link issued by Tilt POS; this one is malformed or forged"
    )


class LaunchTokenExpired(TokenServiceError):
    code = "launch_token_expired"
    default_message = "expected a link opened within its validity; this one expired"


class LaunchTokenUsed(TokenServiceError):
    code = "launch_token_used"
    default_message = (
        "this launch link was already used; ask your back-office system for a new link"
    )


class LocationNotPermitted(TokenServiceError):
    code = "location_not_permitted"
    default_message = "expected a location granted to this partner"


class PartnerSuspended(TokenServiceError):
    code = "partner_suspended"
    default_message = "expected an active partner; this partner is suspended"


class ValidationFailed(TokenServiceError):
    code = "validation_failed"
    default_message = "expected a valid launch request; some fields are invalid"

    def __init__(self, errors: tuple[FieldError, ...]) -> None:
        super().__init__()
        self.errors = errors


class InvalidToken(TokenServiceError):
    code = "invalid_token"
    default_message = "expected a valid bearer access token"


class InsufficientScope(TokenServiceError):
    code = "insufficient_scope"
    default_message = "expected an access token with the launch scope"


class ServiceUnavailable(TokenServiceError):
    code = "service_unavailable"
    default_message = "a dependency is unavailable; retry in a moment"


class ProvisioningRejected(TokenServiceError):
    """Provisioning refused the launch; `code` is the one provisioning sent."""

    code = "provisioning_rejected"
    default_message = "the POS refused this launch"

    def __init__(self, rejection_code: str, message: str | None = None) -> None:
        super().__init__(message)
        self.rejection_code = rejection_code


class RateLimited(TokenServiceError):
    """Too many mints from one partner; `retry_after_s` is whole seconds, >= 1."""

    code = "rate_limited"
    default_message = "expected fewer launch requests per second; retry later"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__()
        self.retry_after_s = retry_after_s


class CsrfRejected(TokenServiceError):
    code = "csrf_rejected"
    default_message = "expected the sign-out form of this session; the request was not"


class AccessWithdrawn(TokenServiceError):
    """A live session whose partner was suspended or whose store was revoked."""

    code = "access_withdrawn"
    default_message = (
        "your access to this store was withdrawn; ask your back-office"
        " administrator to check your access"
    )


class LaunchTokenRevoked(TokenServiceError):
    code = "launch_token_revoked"
    default_message = (
        "this launch link was revoked by your back-office system; ask it for a new link"
    )


class LaunchTokenRefused(TokenServiceError):
    """A link provisioning refused when it was first opened, opened again."""

    code = "launch_token_refused"
    default_message = (
        "this launch link was refused for its store; ask your back-office"
        " administrator to check your access"
    )


class LaunchNotFound(TokenServiceError):
    code = "launch_token_not_found"
    default_message = "expected the id of a launch link this partner minted"


class LaunchNotPending(TokenServiceError):
    code = "launch_token_not_pending"
    default_message = (
        "expected a pending launch link; this one can no longer be revoked"
    )


class IdempotencyKeyReused(TokenServiceError):
    code = "idempotency_key_reused"
    default_message = (
        "expected the same request body as the first use of this Idempotency-Key"
    )
