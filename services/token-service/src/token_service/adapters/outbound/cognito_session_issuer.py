"""SessionIssuer on Amazon Cognito: admin-created users, password sign-in, boto3."""

import asyncio
import base64
import hashlib
import hmac
import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final

import boto3
import structlog
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from token_service.application.ports import DependencyUnavailable
from token_service.domain.identity import CognitoTokens
from token_service.domain.provisioning import ProvisionedUser

log = structlog.get_logger(__name__)

DEPENDENCY: Final = "cognito"
# Answers after which a fresh password and one more sign-in may succeed: the
# password key was rotated, or a creation stopped before the password was set.
RESET_AND_RETRY: Final = frozenset(
    {
        "NotAuthorizedException",
        "PasswordResetRequiredException",
        "NEW_PASSWORD_REQUIRED",
    }
)
# Guarantees one character of each class a Cognito password policy can demand
# (upper, lower, digit, symbol), whatever the digest's encoding happens to hold.
POLICY_TAIL: Final = "Aa1!"


@dataclass(frozen=True)
class CognitoConfig:
    """Where the pool is and how hard to try; secrets are hidden from `repr`.

    Credentials: the access key fields when given, else boto3's usual chain;
    with an `endpoint_url` and no key in the environment, dummy keys (an
    emulator checks no signature).
    """

    endpoint_url: str | None
    region: str
    user_pool_id: str
    client_id: str
    client_secret: str = field(repr=False)
    password_key: bytes = field(repr=False)
    max_workers: int = 8
    connect_timeout_s: float = 2.0
    read_timeout_s: float = 5.0
    max_attempts: int = 3
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)


def derive_password(password_key: bytes, pos_user_id: str) -> str:
    """HMAC-SHA256(password key, pos_user_id), encoded to meet the pool policy."""
    digest = hmac.new(password_key, pos_user_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=") + POLICY_TAIL


def secret_hash(client_secret: str, client_id: str, username: str) -> str:
    """Cognito's SECRET_HASH: base64 HMAC-SHA256(client secret, username + id)."""
    message = (username + client_id).encode()
    digest = hmac.new(client_secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class _Refused(Exception):
    """Cognito answered with an error code; the use of it is decided upstream."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _credentials_in(environ: Mapping[str, str]) -> bool:
    return bool(environ.get("AWS_ACCESS_KEY_ID") or environ.get("AWS_PROFILE"))


def _boto_client(config: CognitoConfig) -> Any:
    credentials: dict[str, str] = {}
    if config.access_key_id and config.secret_access_key:
        credentials = {
            "aws_access_key_id": config.access_key_id,
            "aws_secret_access_key": config.secret_access_key,
        }
    elif config.endpoint_url is not None and not _credentials_in(os.environ):
        # An emulator checks no signature, but botocore refuses to sign without.
        credentials = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    botocore_config = Config(
        connect_timeout=config.connect_timeout_s,
        read_timeout=config.read_timeout_s,
        retries={"mode": "standard", "max_attempts": config.max_attempts},
        max_pool_connections=config.max_workers,
    )
    return boto3.client(
        "cognito-idp",
        region_name=config.region,
        endpoint_url=config.endpoint_url,
        config=botocore_config,
        **credentials,
    )


class CognitoSessionIssuer:
    """Signs POS users in to one user pool with ADMIN_USER_PASSWORD_AUTH.

    Username = pos_user_id; the permanent password is derived, never stored.
    A repeat launch is one AdminInitiateAuth; a first launch adds
    AdminCreateUser and AdminSetUserPassword. boto3 calls run in a bounded
    thread pool, with botocore's standard retries (`max_attempts`) and
    timeouts. Any Cognito or transport error becomes
    `DependencyUnavailable("cognito", <error code>)`.
    """

    def __init__(
        self,
        config: CognitoConfig,
        on_call: Callable[[str, str, float], None] | None = None,
    ) -> None:
        # on_call(operation, outcome, seconds) after each call: metrics, spans.
        self._on_call = on_call
        self._config = config
        self._client = _boto_client(config)
        self._executor = ThreadPoolExecutor(
            max_workers=config.max_workers, thread_name_prefix="cognito"
        )

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._client.close()

    async def issue(self, user: ProvisionedUser) -> CognitoTokens:
        try:
            return await self._issue(user)
        except _Refused as refused:
            raise DependencyUnavailable(DEPENDENCY, refused.code) from refused

    async def refresh(self, pos_user_id: str, refresh_token: str) -> CognitoTokens:
        parameters = {
            "REFRESH_TOKEN": refresh_token,
            "SECRET_HASH": self._secret_hash(pos_user_id),
        }
        try:
            result = await self._authenticate("REFRESH_TOKEN_AUTH", parameters)
        except _Refused as refused:
            raise DependencyUnavailable(DEPENDENCY, refused.code) from refused

        # Cognito keeps the refresh token it was given: none comes back.
        return _tokens(result, fallback_refresh_token=refresh_token)

    async def sign_out(self, pos_user_id: str) -> None:
        try:
            await self._call(
                "admin_user_global_sign_out",
                UserPoolId=self._config.user_pool_id,
                Username=pos_user_id,
            )
        except _Refused as refused:
            if refused.code != "UserNotFoundException":
                raise DependencyUnavailable(DEPENDENCY, refused.code) from refused

    async def _issue(self, user: ProvisionedUser) -> CognitoTokens:
        if user.user_created:
            await self._create_user(user)

        try:
            result = await self._sign_in(user.pos_user_id)
        except _Refused as refused:
            if refused.code == "UserNotFoundException":
                await self._create_user(user)
            elif refused.code in RESET_AND_RETRY:
                await self._set_password(user.pos_user_id)
            else:
                raise
            result = await self._sign_in(user.pos_user_id)

        return _tokens(result)

    async def _create_user(self, user: ProvisionedUser) -> None:
        attributes = [
            {"Name": "custom:partner_id", "Value": user.partner_id},
            {"Name": "custom:external_user_id", "Value": user.external_user_id},
        ]
        if user.display_name:
            attributes.append({"Name": "name", "Value": user.display_name})
        try:
            await self._call(
                "admin_create_user",
                UserPoolId=self._config.user_pool_id,
                Username=user.pos_user_id,
                UserAttributes=attributes,
                MessageAction="SUPPRESS",
            )
        except _Refused as refused:
            # A concurrent first launch, or a retry after a half-done one.
            if refused.code != "UsernameExistsException":
                raise
        await self._set_password(user.pos_user_id)

    async def _set_password(self, pos_user_id: str) -> None:
        await self._call(
            "admin_set_user_password",
            UserPoolId=self._config.user_pool_id,
            Username=pos_user_id,
            Password=derive_password(self._config.password_key, pos_user_id),
            Permanent=True,
        )

    async def _sign_in(self, pos_user_id: str) -> dict[str, Any]:
        parameters = {
            "USERNAME": pos_user_id,
            "PASSWORD": derive_password(self._config.password_key, pos_user_id),
            "SECRET_HASH": self._secret_hash(pos_user_id),
        }
        return await self._authenticate("ADMIN_USER_PASSWORD_AUTH", parameters)

    async def _authenticate(
        self, flow: str, parameters: dict[str, str]
    ) -> dict[str, Any]:
        answer = await self._call(
            "admin_initiate_auth",
            UserPoolId=self._config.user_pool_id,
            ClientId=self._config.client_id,
            AuthFlow=flow,
            AuthParameters=parameters,
        )
        result: dict[str, Any] | None = answer.get("AuthenticationResult")
        if result is None:
            raise _Refused(str(answer.get("ChallengeName", "NoAuthenticationResult")))
        return result

    def _secret_hash(self, username: str) -> str:
        config = self._config
        return secret_hash(config.client_secret, config.client_id, username)

    async def _call(self, operation: str, **parameters: Any) -> dict[str, Any]:
        """Runs one boto3 call off the event loop; ClientError becomes `_Refused`."""
        loop = asyncio.get_running_loop()
        method = getattr(self._client, operation)
        started = time.perf_counter()
        outcome = "ok"
        try:
            answer: dict[str, Any] = await loop.run_in_executor(
                self._executor, partial(method, **parameters)
            )
            return answer
        except ClientError as error:
            outcome = str(error.response.get("Error", {}).get("Code", "ClientError"))
            raise _Refused(outcome) from error
        except BotoCoreError as error:
            outcome = type(error).__name__
            raise DependencyUnavailable(DEPENDENCY, outcome) from error
        finally:
            elapsed = time.perf_counter() - started
            log.debug(
                "cognito_call_completed",
                operation=operation,
                outcome=outcome,
                elapsed_ms=round(elapsed * 1000, 1),
            )
            if self._on_call is not None:
                self._on_call(operation, outcome, elapsed)


def _tokens(
    result: dict[str, Any], fallback_refresh_token: str | None = None
) -> CognitoTokens:
    return CognitoTokens(
        access_token=result["AccessToken"],
        id_token=result["IdToken"],
        refresh_token=result.get("RefreshToken") or fallback_refresh_token or "",
        expires_in_s=int(result["ExpiresIn"]),
    )
