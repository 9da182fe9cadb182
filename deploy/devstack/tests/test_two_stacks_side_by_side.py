"""Two `make run` stacks at once, on two databases of one machine's services.

They share PostgreSQL, Redis and RabbitMQ. With the same bus names, the
second stack's provisioning consumed the first one's launches, checked them
against its own database and refused them: the links were used up.
"""

import asyncio
import uuid
from dataclasses import replace

import pytest

from testsupport.bus_cleanup import remember_bus_prefix
from testsupport.launches import PartnerClient, browser
from testsupport.redis_cleanup import remember_redis_prefix
from testsupport.stack import ARTIFACTS, drop_database, free_port, with_database
from tilt_devstack.run_config import run_config
from tilt_devstack.stack import RunningStack, StackConfig, new_key, start_stack

pytestmark = pytest.mark.e2e
LAUNCHES = 20


def make_run_config(redis_url: str, amqp_url: str, database_url: str) -> StackConfig:
    """What `make run` would configure on this database, on free ports, logs kept."""
    config = run_config(
        redis_url=redis_url,
        amqp_url=amqp_url,
        database_url=database_url,
        token_port=free_port(),
        cognito_port=free_port(),
        secrets={"signing_keys": f"dev-1:{new_key()}", "password_key": new_key()},
    )
    remember_redis_prefix(config.redis_prefix)
    remember_bus_prefix(config.bus_prefix)
    log_dir = ARTIFACTS / config.bus_prefix.rstrip(".")
    return replace(config, echo=False, log_dir=log_dir)


def open_links(stack: RunningStack) -> list[int]:
    """Mints links as the stack's demo partner and opens each in a new browser."""
    partner = PartnerClient(stack, stack.demo)
    statuses = []
    for _ in range(LAUNCHES):
        minted = partner.mint()
        assert minted.status_code == 201, minted.text
        with browser(stack) as user:
            statuses.append(user.get(minted.json()["launch_url"]).status_code)
    return statuses


def test_a_second_stack_leaves_the_first_stacks_launches_alone(
    redis_url: str, amqp_url: str, postgres_admin_url: str
) -> None:
    """Every link of the first stack opens while a second stack runs beside it."""
    run = uuid.uuid4().hex[:10]
    databases = [f"tilt_side_{run}_{which}" for which in ("first", "second")]
    first, second = (
        make_run_config(
            redis_url, amqp_url, with_database(postgres_admin_url, database)
        )
        for database in databases
    )

    try:
        with start_stack(first) as running, start_stack(second):
            statuses = open_links(running)
    finally:
        for database in databases:
            asyncio.run(drop_database(postgres_admin_url, database))

    assert statuses == [303] * LAUNCHES
