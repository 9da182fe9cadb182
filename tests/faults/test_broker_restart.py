"""A real RabbitMQ restart under the running product: no process is restarted.

The stack runs against a broker node of its own (the shared one serves every
other test), which is restarted for real: connections forced closed, the
listener gone, queues recovered from disk. Both services must reconnect by
themselves, and what was in flight must be neither lost nor done twice.
"""

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from testsupport.launches import (
    PartnerClient,
    browser,
    dead_letters,
    redemptions,
    until_ready,
    user_and_membership_rows,
)
from testsupport.private_broker import PrivateBroker, private_broker
from testsupport.row_blocker import RowBlocker
from testsupport.stack import drop_database, stack_config
from tilt_devstack.stack import RunningStack, start_stack

pytestmark = pytest.mark.e2e


@dataclass
class RestartableStack:
    stack: RunningStack
    broker: PrivateBroker

    def partner(self) -> PartnerClient:
        return PartnerClient(self.stack, self.stack.demo)

    def dead_letters(self) -> list[bytes]:
        return dead_letters(self.stack, self.broker.url)


@pytest.fixture(scope="module")
def restartable(redis_url: str, postgres_admin_url: str) -> Iterator[RestartableStack]:
    with private_broker() as broker:
        config, database = stack_config(
            redis_url, broker.url, postgres_admin_url, "restart"
        )
        try:
            with start_stack(config) as stack:
                yield RestartableStack(stack, broker)
        finally:
            asyncio.run(drop_database(postgres_admin_url, database))


def test_links_open_again_after_the_broker_restarts(
    restartable: RestartableStack,
) -> None:
    partner = restartable.partner()
    before = partner.launch_url(external_user_id="emp-before")
    with browser(restartable.stack) as client:
        assert client.get(before).status_code == 303

    restartable.broker.restart()
    until_ready(restartable.stack)
    after = partner.launch_url(external_user_id="emp-after")
    with browser(restartable.stack) as client:
        opened = client.get(after)

    assert opened.status_code == 303
    for user in ("emp-before", "emp-after"):
        rows = user_and_membership_rows(
            restartable.stack, partner.partner.client_id, user
        )
        assert rows == (1, 1)
        assert redemptions(restartable.stack, user) == 1
    assert restartable.dead_letters() == []


def test_a_launch_in_flight_across_the_restart_is_provisioned_once(
    restartable: RestartableStack,
) -> None:
    """Provisioning holds the launch when the broker goes: the unacked message
    survives in the quorum queue, is redelivered, and is answered from the
    stored result; the open either gets it or says retry, and the retry works."""
    partner = restartable.partner()
    user = "emp-in-flight"
    url = partner.launch_url(external_user_id=user)
    blocker = RowBlocker(restartable.stack.config.database_url, partner, user)

    answers: list[httpx.Response] = []
    with browser(restartable.stack) as client:
        opening = threading.Thread(target=lambda: answers.append(client.get(url)))
        opening.start()
        blocker.until_provisioning_waits()
        restartable.broker.restart()
        blocker.release()
        opening.join()

    # The token service's direct reply-to died with its connection, so the
    # first open may have no answer to wait for: then the page says retry.
    assert answers[0].status_code in (303, 503)
    if answers[0].status_code == 503:
        until_ready(restartable.stack)
        with browser(restartable.stack) as client:
            assert client.get(url).status_code == 303
    assert user_and_membership_rows(
        restartable.stack, partner.partner.client_id, user
    ) == (1, 1)
    assert redemptions(restartable.stack, user) == 1
    assert restartable.dead_letters() == []
