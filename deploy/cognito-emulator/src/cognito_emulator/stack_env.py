"""The compose stack's settings, written once by the bootstrap as a sourceable env file.

The token service reads its `TOKEN_SERVICE_*` variables from it, the seed step
its `DEMO_*` ones. Keys are generated on the first run and kept on later runs,
so restarting the one-shot does not invalidate links already minted.
"""

import base64
import os
import secrets
import shlex
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:  # bootstrap imports this module to write the file
    from cognito_emulator.bootstrap import PoolInfo

KEY_BYTES: Final = 32  # the token service's minimum for HMAC keys
KEPT_ON_RERUN: Final = (
    "TOKEN_SERVICE_SIGNING_KEYS",
    "TOKEN_SERVICE_ACTIVE_KID",
    "TOKEN_SERVICE_COGNITO_PASSWORD_KEY",
    "DEMO_LOCATION_ID",
)


def new_key() -> str:
    return (
        base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).rstrip(b"=").decode()
    )


def read_env_file(path: Path) -> dict[str, str]:
    """The variables of a file this module wrote; empty when there is none."""
    if not path.exists():
        return {}
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        name, sep, quoted = line.partition("=")
        if sep and not name.startswith("#"):
            values[name] = "".join(shlex.split(quoted))
    return values


def stack_env(
    pool: "PoolInfo", partner: tuple[str, str], token_url: str, previous: dict[str, str]
) -> dict[str, str]:
    """Every variable the services and the seed step need, keys reused if known."""
    fresh = {
        "TOKEN_SERVICE_SIGNING_KEYS": f"compose-1:{new_key()}",
        "TOKEN_SERVICE_ACTIVE_KID": "compose-1",
        "TOKEN_SERVICE_COGNITO_PASSWORD_KEY": new_key(),
        "DEMO_LOCATION_ID": str(uuid.uuid4()),
    }
    kept = {name: previous.get(name) or fresh[name] for name in KEPT_ON_RERUN}
    return {
        **kept,
        "TOKEN_SERVICE_PARTNER_ISSUER": pool.issuer,
        "TOKEN_SERVICE_PARTNER_JWKS_URL": pool.jwks_url,
        "TOKEN_SERVICE_COGNITO_ENDPOINT_URL": pool.endpoint_url,
        "TOKEN_SERVICE_COGNITO_REGION": pool.region,
        "TOKEN_SERVICE_COGNITO_USER_POOL_ID": pool.pool_id,
        "TOKEN_SERVICE_COGNITO_CLIENT_ID": pool.service_client_id,
        "TOKEN_SERVICE_COGNITO_CLIENT_SECRET": pool.service_client_secret,
        "DEMO_PARTNER_CLIENT_ID": partner[0],
        "DEMO_PARTNER_CLIENT_SECRET": partner[1],
        "DEMO_TOKEN_URL": token_url,
    }


def write_env_file(path: Path, env: dict[str, str]) -> None:
    """One `NAME=value` line each, shell-quoted, readable by its owner only."""
    lines = [f"{name}={shlex.quote(value)}" for name, value in sorted(env.items())]
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write("\n".join(lines) + "\n")
