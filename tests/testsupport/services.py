"""Finds the real Redis, RabbitMQ and PostgreSQL that tests talk to.

Order, per service: the URL in the environment (`TILT_TEST_<NAME>_URL`, then
the plain `<NAME>_URL`), else the standard local port if a real connection
succeeds, else a testcontainer when a Docker engine answers, else a failure
that names what is missing and how to provide it.
"""

import asyncio
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any, Final

import pytest

from testsupport.bus_cleanup import RESOLVED_AMQP
from testsupport.redis_cleanup import RESOLVED_REDIS

LOCAL_URLS: Final = {
    "REDIS": "redis://127.0.0.1:6379/0",
    "AMQP": "amqp://guest:guest@127.0.0.1:5672/",
    "DATABASE": "postgresql://postgres@127.0.0.1:5432/postgres",
}


async def _redis_answers(url: str) -> None:
    import redis.asyncio as redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        await client.ping()
    finally:
        await client.aclose()


async def _amqp_answers(url: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(url, timeout=3)
    await connection.close()


async def _postgres_answers(url: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url, timeout=3)
    await connection.close()


CHECKS: Final[dict[str, Callable[[str], Any]]] = {
    "REDIS": _redis_answers,
    "AMQP": _amqp_answers,
    "DATABASE": _postgres_answers,
}


def _answers(name: str, url: str) -> str | None:
    try:
        asyncio.run(asyncio.wait_for(CHECKS[name](url), timeout=5))
    except Exception as exc:  # any failure means "not usable"; the reason is reported
        return f"{type(exc).__name__}: {exc}"
    return None


def _docker_engine() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(
        ["docker", "info"], capture_output=True, timeout=10, check=False
    )
    return probe.returncode == 0


def _container_url(name: str, stack: ExitStack) -> str:
    if name == "REDIS":
        from testcontainers.redis import RedisContainer

        redis_box = stack.enter_context(RedisContainer("redis:7"))
        host = redis_box.get_container_host_ip()
        return f"redis://{host}:{redis_box.get_exposed_port(6379)}/0"
    if name == "AMQP":
        from testcontainers.rabbitmq import RabbitMqContainer

        rabbit = stack.enter_context(RabbitMqContainer("rabbitmq:3.13"))
        host = rabbit.get_container_host_ip()
        return f"amqp://guest:guest@{host}:{rabbit.get_exposed_port(5672)}/"
    from testcontainers.postgres import PostgresContainer

    pg = stack.enter_context(PostgresContainer("postgres:15", driver=None))
    return str(pg.get_connection_url())


def service_url(name: str, stack: ExitStack) -> str:
    """The URL of a usable service, or a pytest failure that says why not."""
    for variable in (f"TILT_TEST_{name}_URL", f"{name}_URL"):
        if url := os.environ.get(variable):
            if (problem := _answers(name, url)) is not None:
                pytest.fail(f"{variable}={url!r} does not answer: {problem}")
            return url
    local = LOCAL_URLS[name]
    if _answers(name, local) is None:
        return local
    if _docker_engine():
        return _container_url(name, stack)
    pytest.fail(
        f"no {name.lower()} for the tests: set TILT_TEST_{name}_URL, start it on "
        f"its standard local port ({local}), or provide a Docker engine; "
        "`../shared/services.sh start` starts the local ones"
    )


@pytest.fixture(scope="session")
def _containers() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


@pytest.fixture(scope="session")
def redis_url(_containers: ExitStack) -> str:
    url = service_url("REDIS", _containers)
    RESOLVED_REDIS.append(url)
    return url


@pytest.fixture(scope="session")
def amqp_url(_containers: ExitStack) -> str:
    url = service_url("AMQP", _containers)
    RESOLVED_AMQP.append(url)
    return url


@pytest.fixture(scope="session")
def postgres_admin_url(_containers: ExitStack) -> str:
    """A PostgreSQL URL with the right to create databases; never migrated."""
    return service_url("DATABASE", _containers)
