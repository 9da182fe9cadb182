"""A second stack on a new database, with the Redis and bus names of the first.

That is every `make run` after the first on one machine: the development
database is made anew, while Redis keeps the token service's copy of the
old directory. The new database counts directory versions from the start
again, so a copy compared by version alone ignored it, and the demo partner
could mint nothing.
"""

import asyncio
from dataclasses import replace

import pytest

from testsupport.launches import PartnerClient, browser
from testsupport.stack import drop_database, free_port, stack_config, with_database
from tilt_devstack.stack import StackConfig, start_stack

pytestmark = pytest.mark.e2e


def opens(config: StackConfig) -> tuple[int, int]:
    """Starts the stack, mints a link as its demo partner and opens it."""
    with start_stack(config) as stack:
        partner = PartnerClient(stack, stack.demo)
        minted = partner.mint()
        if minted.status_code != 201:
            return minted.status_code, 0
        with browser(stack) as user:
            return 201, user.get(minted.json()["launch_url"]).status_code


def test_a_stack_on_a_new_database_replaces_the_old_directory_copy(
    redis_url: str, amqp_url: str, postgres_admin_url: str
) -> None:
    first, first_database = stack_config(
        redis_url, amqp_url, postgres_admin_url, "rerun"
    )
    second_database = f"{first_database}_again"
    second = replace(
        first,
        database_url=with_database(postgres_admin_url, second_database),
        token_port=free_port(),
        emulator_port=free_port(),
    )
    try:
        before = opens(first)
        after = opens(second)
    finally:
        for database in (first_database, second_database):
            asyncio.run(drop_database(postgres_admin_url, database))

    assert before == (201, 303)
    assert after == (201, 303)
