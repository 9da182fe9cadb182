"""Finds Redis, RabbitMQ and PostgreSQL for a local stack, or says which is missing.

Each is taken from its environment variable, else its standard local port.
A service that does not answer is started from docker-compose.yml when a
Docker engine exists; otherwise the stack stops at once, naming the service
and the variable that points to it.
"""

import asyncio
import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Dependency:
    name: str
    variable: str
    default_url: str
    compose_service: str


DEPENDENCIES: Final = (
    Dependency("Redis", "REDIS_URL", "redis://127.0.0.1:6379/0", "redis"),
    Dependency(
        "RabbitMQ", "AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/", "rabbitmq"
    ),
    Dependency(
        "PostgreSQL",
        "DATABASE_URL",
        "postgresql://postgres@127.0.0.1:5432/tilt",
        "postgres",
    ),
)


class MissingDependency(RuntimeError):
    """A service the stack needs does not answer and cannot be started here."""


async def _ping(dependency: Dependency, url: str) -> None:
    if dependency.name == "Redis":
        import redis.asyncio as redis

        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        try:
            await client.ping()
        finally:
            await client.aclose()
    elif dependency.name == "RabbitMQ":
        import aio_pika

        connection = await aio_pika.connect(url, timeout=3)
        await connection.close()
    else:
        import asyncpg

        try:
            connection = await asyncpg.connect(url, timeout=3)
        except asyncpg.InvalidCatalogNameError:
            return  # the server answers; migrations create the database
        await connection.close()


def answers(dependency: Dependency, url: str) -> bool:
    try:
        asyncio.run(asyncio.wait_for(_ping(dependency, url), timeout=6))
    except Exception:  # any failure means "not reachable"; the caller reports it
        return False
    return True


def docker_engine() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "info"], capture_output=True, check=False)
    return probe.returncode == 0


def resolve(dependency: Dependency, compose_file: str) -> str:
    """The URL of a reachable `dependency`, starting it with compose if possible."""
    url = os.environ.get(dependency.variable, dependency.default_url)
    if answers(dependency, url):
        return url
    if dependency.variable not in os.environ and docker_engine():
        subprocess.run(
            [
                "docker",
                "compose",
                "-f",
                compose_file,
                "up",
                "-d",
                "--wait",
                dependency.compose_service,
            ],
            check=True,
        )
        if answers(dependency, url):
            return url
    raise MissingDependency(
        f"{dependency.name} does not answer at {_without_password(url)}: start it, "
        f"or set {dependency.variable} to where it runs"
    )


def _without_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}" if ":" in credentials else url
