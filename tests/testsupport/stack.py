"""The whole product as processes, for end-to-end tests: one stack per test run.

It is started by the same code as `make run` (tilt_devstack), on free ports,
with a database, Redis key prefix and AMQP names of its own, and its logs in
test-artifacts/ so a failure can be read after the run.
"""

import random
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from testsupport.bus_cleanup import remember_bus_prefix
from testsupport.redis_cleanup import remember_redis_prefix
from tilt_devstack.stack import RunningStack, StackConfig, start_stack

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def remembered(prefix: str) -> str:
    """A bus prefix whose queues are deleted when the session ends."""
    remember_bus_prefix(prefix)
    return prefix


# Below Linux's ephemeral range (32768-60999), from which the kernel hands out
# port 0 binds and outgoing connections: a port picked here and bound a moment
# later by a child process cannot be taken by one of those meanwhile.
PORT_RANGE: Final = range(20000, 32000)


def free_port() -> int:
    """A port nothing listens on now, outside the kernel's ephemeral range."""
    for _ in range(100):
        port = random.choice(PORT_RANGE)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in the test range")


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def drop_database(admin_url: str, name: str) -> None:
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def stack_config(
    redis_url: str, amqp_url: str, postgres_admin_url: str, label: str
) -> tuple[StackConfig, str]:
    run = uuid.uuid4().hex[:10]
    database = f"tilt_{label}_{run}"
    config = StackConfig(
        redis_url=redis_url,
        amqp_url=amqp_url,
        database_url=with_database(postgres_admin_url, database),
        token_port=free_port(),
        emulator_port=free_port(),
        redis_prefix=remember_redis_prefix(f"{label}-{run}:"),
        bus_prefix=remembered(f"{label}-{run}."),
        log_dir=ARTIFACTS / f"{label}-{run}",
        token_env={
            # C-08 mints 2,000 links at once from one partner.
            "TOKEN_SERVICE_MINT_RATE_PER_S": "100000",
            "TOKEN_SERVICE_MINT_BURST": "100000",
        },
    )
    return config, database


@pytest.fixture(scope="session")
def stack(
    redis_url: str, amqp_url: str, postgres_admin_url: str
) -> Iterator[RunningStack]:
    """Both services, the Cognito emulator and a demo partner, for the whole run."""
    import asyncio

    config, database = stack_config(redis_url, amqp_url, postgres_admin_url, "e2e")
    try:
        with start_stack(config) as running:
            yield running
    finally:
        asyncio.run(drop_database(postgres_admin_url, database))
