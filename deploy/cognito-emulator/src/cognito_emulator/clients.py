"""Finds the app clients registered in moto's in-process Cognito backend."""

from dataclasses import dataclass
from typing import Any

from moto.cognitoidp.models import cognitoidp_backends


@dataclass(frozen=True, slots=True)
class RegisteredClient:
    """What the token endpoint needs to know about one app client."""

    pool_id: str
    client_id: str
    secret: str | None
    oauth_flows: frozenset[str]
    oauth_scopes: tuple[str, ...]
    oauth_enabled: bool


def _as_registered(pool_id: str, client: Any) -> RegisteredClient:
    config: dict[str, Any] = client.extended_config
    return RegisteredClient(
        pool_id=pool_id,
        client_id=client.id,
        secret=client.secret if client.generate_secret else None,
        oauth_flows=frozenset(config.get("AllowedOAuthFlows") or ()),
        oauth_scopes=tuple(config.get("AllowedOAuthScopes") or ()),
        oauth_enabled=bool(config.get("AllowedOAuthFlowsUserPoolClient")),
    )


def find_client(region: str, client_id: str) -> RegisteredClient | None:
    """The client with this id in any account's pools of `region`, or None.

    The emulator serves moto in the same process, so moto's backend is read
    directly: no API call, and nothing shows up in the call counter.
    """
    for account_id in list(cognitoidp_backends.keys()):
        backend = cognitoidp_backends[account_id][region]
        for pool_id, pool in list(backend.user_pools.items()):
            client = pool.clients.get(client_id)
            if client is not None:
                return _as_registered(pool_id, client)
    return None
