"""The Cognito emulator for tests: one in-process server and one user pool per run."""

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from cognito_emulator import EmulatorHandle, start_emulator
from cognito_emulator.bootstrap import PoolInfo, create_partner_client, create_pool
from testsupport.names import unique

REGION = "us-east-1"  # moto's GlobalSignOut works in this region only


@dataclass(frozen=True)
class CognitoStack:
    """A running emulator and its pool, with helpers to play a partner."""

    emulator: EmulatorHandle
    pool: PoolInfo

    @property
    def pool_id(self) -> str:
        return self.pool.pool_id

    @property
    def issuer(self) -> str:
        return self.pool.issuer

    @property
    def jwks_url(self) -> str:
        return self.pool.jwks_url

    @property
    def token_url(self) -> str:
        return self.pool.token_url

    @property
    def service_client_id(self) -> str:
        return self.pool.service_client_id

    @property
    def service_client_secret(self) -> str:
        return self.pool.service_client_secret

    @property
    def region(self) -> str:
        return self.pool.region

    @property
    def endpoint_url(self) -> str:
        return self.pool.endpoint_url

    def partner_client(self, name: str = "partner") -> tuple[str, str]:
        """A new partner app client (client credentials, launch scope)."""
        return create_partner_client(
            self.endpoint_url, self.region, self.pool_id, unique(name)
        )

    def partner_token(
        self, client_id: str, client_secret: str, scope: str | None = None
    ) -> str:
        """A client-credentials access token from the emulator's token endpoint."""
        form = {"grant_type": "client_credentials"}
        if scope is not None:
            form["scope"] = scope
        response = httpx.post(
            self.token_url, data=form, auth=(client_id, client_secret), timeout=5
        )
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token

    def calls(self) -> dict[str, int]:
        """Cognito API calls by operation since the last reset."""
        response = httpx.get(f"{self.endpoint_url}/_emulator/calls", timeout=5)
        response.raise_for_status()
        counts: dict[str, int] = response.json()
        return counts

    def reset_calls(self) -> None:
        httpx.post(
            f"{self.endpoint_url}/_emulator/calls/reset", timeout=5
        ).raise_for_status()


@pytest.fixture(scope="session")
def cognito() -> Iterator[CognitoStack]:
    """The emulator on a free port with one pool, shared by the whole run."""
    emulator = start_emulator(port=0, region=REGION)
    try:
        pool = create_pool(emulator.url, REGION, unique("pool"))
        yield CognitoStack(emulator=emulator, pool=pool)
    finally:
        emulator.stop()
