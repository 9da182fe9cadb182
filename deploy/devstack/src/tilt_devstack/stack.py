"""The whole product on one machine: emulator, migrations, seed data, both services.

`make run` and the end-to-end tests start the stack through `start_stack`, so
what a developer runs is what the tests prove.
"""

import base64
import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from cognito_emulator import bootstrap
from tilt_devstack.processes import ProcessGroup

REGION: Final = "us-east-1"  # moto's global sign-out works only in this region
SCOPE: Final = "tilt/pos:launch"
HOST: Final = "127.0.0.1"


def console_script(name: str) -> str:
    """A console script of this environment, as the container images run it."""
    return str(Path(sys.executable).parent / name)


def new_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()


@dataclass(frozen=True)
class StackConfig:
    redis_url: str
    amqp_url: str
    database_url: str
    host: str = HOST
    token_port: int = 8000
    emulator_port: int = 9229
    # Provisioning's /healthz, /readyz, /metrics; 0: a free port, in its log.
    provisioning_http_port: int = 0
    redis_prefix: str = ""
    bus_prefix: str = ""
    signing_keys: str = field(default_factory=lambda: f"dev-1:{new_key()}")
    active_kid: str = "dev-1"
    password_key: str = field(default_factory=new_key)
    log_dir: Path | None = None
    echo: bool = False
    token_env: dict[str, str] = field(default_factory=dict)
    # Extra PROVISIONING_* settings of the service process (fault tests).
    provisioning_env: dict[str, str] = field(default_factory=dict)

    @property
    def token_url(self) -> str:
        return f"http://{self.host}:{self.token_port}"

    @property
    def emulator_url(self) -> str:
        return f"http://{self.host}:{self.emulator_port}"


@dataclass(frozen=True)
class Partner:
    client_id: str
    client_secret: str
    location_id: str


@dataclass
class RunningStack:
    config: StackConfig
    pool: bootstrap.PoolInfo
    processes: ProcessGroup
    demo: Partner

    def credentials(self, partner: Partner | None = None) -> dict[str, str]:
        chosen = partner or self.demo
        return {
            "token_url": self.pool.token_url,
            "client_id": chosen.client_id,
            "client_secret": chosen.client_secret,
            "scope": SCOPE,
            "api_base_url": self.config.token_url,
            "location_id": chosen.location_id,
        }

    def add_partner(self, name: str, location_ids: list[str] | None = None) -> Partner:
        """A Cognito app client, its partner row, and grants to (new) locations."""
        client_id, client_secret = bootstrap.create_partner_client(
            self.pool.endpoint_url, REGION, self.pool.pool_id, name
        )
        locations = location_ids or [str(uuid.uuid4())]
        self.provisioning_cli(
            "partner", "create", "--partner-id", client_id, "--name", name
        )
        for location_id in locations:
            self.provisioning_cli(
                "location",
                "create",
                "--location-id",
                location_id,
                "--name",
                f"{name} store",
            )
            self.provisioning_cli(
                "grant", "--partner-id", client_id, "--location-id", location_id
            )
        return Partner(client_id, client_secret, locations[0])

    def start_token_service(self, name: str, port: int, env: dict[str, str]) -> str:
        """Another token-service process on the same stores (replicas, other TZ)."""
        url = f"http://{self.config.host}:{port}"
        settings = token_env(self.config, self.pool)
        settings.update(
            {"TOKEN_SERVICE_PORT": str(port), "TOKEN_SERVICE_PUBLIC_BASE_URL": url}
        )
        settings.update(env)
        self.processes.start(name, [console_script("token-service")], settings)
        self.processes.wait_http(name, f"{url}/readyz", 40)
        return url

    def provisioning_cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "provisioning_service.cli", *args],
            env=_with_os_env(provisioning_env(self.config)),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            reason = done.stderr.strip()
            raise RuntimeError(f"provisioning cli {args[:2]} failed: {reason}")
        return done.stdout


def provisioning_env(config: StackConfig) -> dict[str, str]:
    return {
        "PROVISIONING_DATABASE_URL": config.database_url,
        "PROVISIONING_AMQP_URL": config.amqp_url,
        "PROVISIONING_BUS_PREFIX": config.bus_prefix,
    }


def provisioning_service_env(config: StackConfig) -> dict[str, str]:
    """The service process's settings: the CLI's, plus the config's extras."""
    http = {
        "PROVISIONING_HTTP_HOST": config.host,
        "PROVISIONING_HTTP_PORT": str(config.provisioning_http_port),
    }
    return {**provisioning_env(config), **http, **config.provisioning_env}


def token_env(config: StackConfig, pool: bootstrap.PoolInfo) -> dict[str, str]:
    return {
        "TOKEN_SERVICE_HOST": config.host,
        "TOKEN_SERVICE_PORT": str(config.token_port),
        "TOKEN_SERVICE_PUBLIC_BASE_URL": config.token_url,
        "TOKEN_SERVICE_REDIS_URL": config.redis_url,
        "TOKEN_SERVICE_REDIS_PREFIX": config.redis_prefix,
        "TOKEN_SERVICE_AMQP_URL": config.amqp_url,
        "TOKEN_SERVICE_BUS_PREFIX": config.bus_prefix,
        "TOKEN_SERVICE_SIGNING_KEYS": config.signing_keys,
        "TOKEN_SERVICE_ACTIVE_KID": config.active_kid,
        "TOKEN_SERVICE_PARTNER_ISSUER": pool.issuer,
        "TOKEN_SERVICE_PARTNER_JWKS_URL": pool.jwks_url,
        "TOKEN_SERVICE_COGNITO_ENDPOINT_URL": pool.endpoint_url,
        "TOKEN_SERVICE_COGNITO_REGION": REGION,
        "TOKEN_SERVICE_COGNITO_USER_POOL_ID": pool.pool_id,
        "TOKEN_SERVICE_COGNITO_CLIENT_ID": pool.service_client_id,
        "TOKEN_SERVICE_COGNITO_CLIENT_SECRET": pool.service_client_secret,
        "TOKEN_SERVICE_COGNITO_PASSWORD_KEY": config.password_key,
        "TOKEN_SERVICE_COOKIE_SECURE": "false",
        **config.token_env,
    }


def _with_os_env(env: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **env}


def migrate(config: StackConfig) -> None:
    subprocess.run(
        [sys.executable, "-m", "provisioning_service.migrate"],
        env=_with_os_env(provisioning_env(config)),
        check=True,
    )


@contextmanager
def start_stack(config: StackConfig) -> Iterator[RunningStack]:
    """Migrate, start the emulator, seed a demo partner, start both services."""
    processes = ProcessGroup(log_dir=config.log_dir, echo=config.echo)
    try:
        migrate(config)
        processes.start(
            "cognito",
            [
                sys.executable,
                "-m",
                "cognito_emulator",
                "--host",
                config.host,
                "--port",
                str(config.emulator_port),
                "--region",
                REGION,
            ],
            {},
        )
        processes.wait_http("cognito", f"{config.emulator_url}/_emulator/health")
        pool = bootstrap.create_pool(config.emulator_url, REGION, "tilt-pos")
        stack = RunningStack(config, pool, processes, demo=Partner("", "", ""))
        stack.demo = stack.add_partner("demo-partner")

        processes.start(
            "provisioning",
            [console_script("provisioning-service")],
            provisioning_service_env(config),
        )
        processes.start(
            "token-service",
            [console_script("token-service")],
            token_env(config, pool),
        )
        processes.wait_http("token-service", f"{config.token_url}/readyz", 40)
        # Another process on a child's port may have answered its readiness
        # check; a child that could not bind has usually exited by now.
        processes.check_alive()
        yield stack
    finally:
        processes.stop_all()
