"""Ports the token service's use cases depend on; adapters implement them.

Every port raises only the errors named in its docstring; adapters translate
driver errors (redis, aio-pika, botocore, PyJWT) with `raise ... from`.
"""

from typing import Protocol

from token_service.domain.identity import CognitoTokens
from token_service.domain.provisioning import (
    ProvisionedUser,
    ProvisioningRejection,
    RedeemedLaunch,
)


class DependencyUnavailable(Exception):
    """A dependency (Redis, the broker, provisioning, Cognito) failed or timed out.

    `dependency` names it for logs and metrics. Use cases treat this as a
    transient failure: a claimed launch is released so the link can be retried.
    """

    def __init__(self, dependency: str, detail: str = "") -> None:
        message = f"{dependency} unavailable: {detail}" if detail else dependency
        super().__init__(message)
        self.dependency = dependency
        self.detail = detail


class RedemptionBus(Protocol):
    """Asks provisioning to create or find the POS user of a redeemed launch.

    `provision` publishes `launch.redeemed` (persistent, publisher-confirmed)
    and waits at most `timeout_s` for the reply correlated by `jti`. A reply
    that arrives after the timeout is dropped. Raises `DependencyUnavailable`
    when the broker is unreachable, the publish is not confirmed, or no reply
    comes in time. Safe to call again for the same `jti`: provisioning is
    idempotent by `jti`.
    """

    async def provision(
        self, launch: RedeemedLaunch, timeout_s: float
    ) -> ProvisionedUser | ProvisioningRejection: ...


class SessionIssuer(Protocol):
    """Signs a POS user in to Cognito and out again (DESIGN §9).

    `issue` creates the Cognito user on first use (username = pos_user_id,
    permanent password derived from the password key) and authenticates with
    ADMIN_USER_PASSWORD_AUTH; a repeat launch costs one Cognito call.
    `refresh` trades a refresh token for new tokens. `sign_out` revokes every
    token of the user (AdminUserGlobalSignOut); signing out a user that no
    longer exists is not an error. All raise `DependencyUnavailable` when
    Cognito fails or times out.
    """

    async def issue(self, user: ProvisionedUser) -> CognitoTokens: ...

    async def refresh(self, pos_user_id: str, refresh_token: str) -> CognitoTokens: ...

    async def sign_out(self, pos_user_id: str) -> None: ...
