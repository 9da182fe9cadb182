"""Faults for real (C-04, C-05, C-10, C-11, C-12, C-16): one stack behind TCP proxies.

Every dependency of the stack is reached through its own proxy, so a test
can cut Redis, RabbitMQ, PostgreSQL or Cognito and restore them, without
touching the machine's shared services. Each test ends by checking that the
rows match the launches that succeeded and what the dead-letter queue holds.
"""

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

import httpx
import pytest

from testsupport.launches import (
    PartnerClient,
    browser,
    count_rows,
    dead_letters,
    redemptions,
    until_ready,
    user_and_membership_rows,
)
from testsupport.proxy import TcpProxy, tcp_proxy
from testsupport.row_blocker import RowBlocker
from testsupport.stack import drop_database, free_port, stack_config
from tilt_devstack.stack import RunningStack, start_stack

pytestmark = pytest.mark.e2e


@dataclass
class FaultyStack:
    stack: RunningStack
    redis: TcpProxy
    amqp: TcpProxy
    provisioning_amqp: TcpProxy
    postgres: TcpProxy
    cognito: TcpProxy
    amqp_url: str

    def partner(self) -> PartnerClient:
        return PartnerClient(self.stack, self.stack.demo)

    def dead_letters(self) -> list[bytes]:
        return dead_letters(self.stack, self.amqp_url)

    def wait_ready(self) -> None:
        until_ready(self.stack)


@pytest.fixture(scope="module")
def faulty(
    redis_url: str, amqp_url: str, postgres_admin_url: str
) -> Iterator[FaultyStack]:
    """The whole product with every dependency behind a proxy that tests can cut."""
    config, database = stack_config(redis_url, amqp_url, postgres_admin_url, "faults")
    with (
        tcp_proxy(redis_url) as redis,
        tcp_proxy(amqp_url) as amqp,
        tcp_proxy(amqp_url) as provisioning_amqp,
        tcp_proxy(postgres_admin_url) as postgres,
        tcp_proxy(config.emulator_url) as cognito,
    ):
        cognito_url = cognito.url(config.emulator_url)
        proxied = replace(
            config,
            redis_url=redis.url(redis_url),
            amqp_url=amqp.url(amqp_url),
            database_url=postgres.url(config.database_url),
            token_env={
                **config.token_env,
                "TOKEN_SERVICE_COGNITO_ENDPOINT_URL": cognito_url,
            },
            provisioning_env={"PROVISIONING_AMQP_URL": provisioning_amqp.url(amqp_url)},
        )
        try:
            with start_stack(proxied) as stack:
                yield FaultyStack(
                    stack, redis, amqp, provisioning_amqp, postgres, cognito, amqp_url
                )
        finally:
            asyncio.run(drop_database(postgres_admin_url, database))


def _session_cookie(response: httpx.Response) -> bool:
    return any(
        "max-age=0" not in value.lower()
        for value in response.headers.get_list("set-cookie")
    )


def _open_at_once(urls: list[str]) -> list[httpx.Response]:
    """Open every URL from its own thread, all released by one barrier."""
    barrier = threading.Barrier(len(urls))
    responses: list[httpx.Response | None] = [None] * len(urls)

    def open_one(index: int) -> None:
        with httpx.Client(timeout=30) as client:
            barrier.wait()
            responses[index] = client.get(urls[index])

    threads = [threading.Thread(target=open_one, args=(i,)) for i in range(len(urls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [response for response in responses if response is not None]


def test_c04_fifty_opens_across_two_processes_redeem_once(
    faulty: FaultyStack,
) -> None:
    """C-04: one success, 49 gone, one membership row, across two token services."""
    second = faulty.stack.start_token_service("token-service-2", free_port(), {})
    partner = faulty.partner()
    user = "emp-c04"
    url = partner.launch_url(external_user_id=user)
    query = url.partition("/launch")[2]
    urls = [
        f"{base}/launch{query}"
        for base in (faulty.stack.config.token_url, second)
        for _ in range(25)
    ]

    statuses = sorted(response.status_code for response in _open_at_once(urls))

    assert statuses == [303] + [410] * 49
    assert user_and_membership_rows(faulty.stack, partner.partner.client_id, user) == (
        1,
        1,
    )
    assert redemptions(faulty.stack, user) == 1
    assert faulty.dead_letters() == []


def test_c10_ten_first_links_of_one_user_make_one_user(faulty: FaultyStack) -> None:
    """C-10: concurrent first launches with different names and roles: one row each."""
    partner = faulty.partner()
    user = "emp-c10"
    roles = ["location_cashier", "location_supervisor"]
    urls = [
        partner.launch_url(
            external_user_id=user, display_name=f"Name {i}", role_slug=roles[i % 2]
        )
        for i in range(10)
    ]

    statuses = [response.status_code for response in _open_at_once(urls)]

    assert all(status in (303, 410) for status in statuses), statuses
    assert user_and_membership_rows(faulty.stack, partner.partner.client_id, user) == (
        1,
        1,
    )
    assert redemptions(faulty.stack, user) == statuses.count(303)
    assert faulty.dead_letters() == []


def test_c12_the_first_role_at_a_location_is_kept(faulty: FaultyStack) -> None:
    """C-12: supervisor first, then cashier and no role: the membership stays."""
    partner = faulty.partner()
    user = "emp-c12"
    bodies = [
        {"role_slug": "location_supervisor"},
        {"role_slug": "location_cashier"},
        {},
    ]

    statuses = []
    for fields in bodies:
        url = partner.launch_url(external_user_id=user, **fields)
        with browser(faulty.stack) as client:
            statuses.append(client.get(url).status_code)
    role = count_rows(
        faulty.stack,
        "SELECT count(*) FROM pos_user_membership_tbl m JOIN pos_user_tbl u"
        " USING (pos_user_id) WHERE u.external_user_id = $1"
        " AND m.role_slug = 'location_supervisor'",
        user,
    )

    assert statuses == [303, 303, 303]
    assert role == 1
    assert redemptions(faulty.stack, user) == 3
    assert faulty.dead_letters() == []


def test_c05_redis_down_is_a_retry_page_then_the_link_works(
    faulty: FaultyStack,
) -> None:
    """C-05: with Redis cut the link answers 503 and no session; restored, it works."""
    partner = faulty.partner()
    user = "emp-c05"
    url = partner.launch_url(external_user_id=user)

    with faulty.redis.down(), browser(faulty.stack) as client:
        down = client.get(url)
    with browser(faulty.stack) as client:
        again = client.get(url)

    assert down.status_code == 503
    assert "retried" in down.text
    assert not _session_cookie(down)
    assert again.status_code == 303
    assert user_and_membership_rows(faulty.stack, partner.partner.client_id, user) == (
        1,
        1,
    )
    assert faulty.dead_letters() == []


def test_c05_redis_cut_while_the_link_is_being_opened(faulty: FaultyStack) -> None:
    """C-05 as the case states it: Redis stops after the claim, while
    provisioning runs. 503 retry page, no session; with Redis back, reopening
    the same link never says "used" and succeeds once the orphaned claim's
    lease (30 s) has run out."""
    partner = faulty.partner()
    user = "emp-c05-mid"
    url = partner.launch_url(external_user_id=user)
    blocker = RowBlocker(faulty.stack.config.database_url, partner, user)

    answers: list[httpx.Response] = []
    with browser(faulty.stack) as client:
        opening = threading.Thread(target=lambda: answers.append(client.get(url)))
        opening.start()
        blocker.until_provisioning_waits()
        faulty.redis.cut()
        blocker.release()
        opening.join()
    faulty.redis.restore()

    statuses = []
    deadline = time.monotonic() + 50
    while time.monotonic() < deadline:
        with browser(faulty.stack) as client:
            statuses.append(client.get(url).status_code)
        if statuses[-1] != 503:
            break
        time.sleep(1)

    down = answers[0]
    assert down.status_code == 503
    assert "retried" in down.text
    assert not _session_cookie(down)
    assert set(statuses[:-1]) <= {503}
    assert statuses[-1] == 303
    assert user_and_membership_rows(faulty.stack, partner.partner.client_id, user) == (
        1,
        1,
    )
    assert faulty.dead_letters() == []


def test_c16_postgres_down_dead_letters_once_then_the_link_works(
    faulty: FaultyStack,
) -> None:
    """C-16: PostgreSQL down: 503, the message is dead-lettered after its retries;
    restored, the same link provisions once."""
    partner = faulty.partner()
    user = "emp-c16-pg"
    url = partner.launch_url(external_user_id=user)

    with faulty.postgres.down():
        with browser(faulty.stack) as client:
            down = client.get(url)
        dead = _until_dead_letters(faulty)
    with browser(faulty.stack) as client:
        again = client.get(url)

    assert down.status_code == 503
    assert len(dead) == 1
    assert again.status_code == 303
    assert user_and_membership_rows(faulty.stack, partner.partner.client_id, user) == (
        1,
        1,
    )
    assert redemptions(faulty.stack, user) == 1
    assert faulty.dead_letters() == []


def test_c11_provisioning_commits_then_loses_the_broker_before_the_ack(
    faulty: FaultyStack,
) -> None:
    """C-11: provisioning commits, its channel is cut before the ack: the
    redelivery is answered from the stored result within the open's wait."""
    partner = faulty.partner()
    user = "emp-c11"
    url = partner.launch_url(external_user_id=user)
    blocker = RowBlocker(faulty.stack.config.database_url, partner, user)

    answers: list[httpx.Response] = []
    with browser(faulty.stack) as client:
        opening = threading.Thread(target=lambda: answers.append(client.get(url)))
        opening.start()
        blocker.until_provisioning_waits()
        faulty.provisioning_amqp.cut()
        blocker.release()  # provisioning commits now, with no channel to ack on
        time.sleep(0.5)
        faulty.provisioning_amqp.restore()
        opening.join()

    # Provisioning reconnects within a second and the broker redelivers the
    # unacked message at once: the open's bounded 5 s wait gets its answer,
    # replayed from the stored result.
    assert answers[0].status_code == 303
    assert user_and_membership_rows(faulty.stack, partner.partner.client_id, user) == (
        1,
        1,
    )
    assert redemptions(faulty.stack, user) == 1
    assert faulty.dead_letters() == []


def _until_dead_letters(faulty: FaultyStack, timeout_s: float = 20) -> list[bytes]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if dead := faulty.dead_letters():
            return dead
        time.sleep(0.3)
    return []


@pytest.mark.parametrize("dependency", ["cognito", "amqp"])
def test_c16_a_dependency_failing_after_the_claim_is_retryable(
    faulty: FaultyStack, dependency: str
) -> None:
    """C-16: Cognito or RabbitMQ down after the claim: 503, then the same link works.

    Runs last: a token service that does not recover from a broker cut would
    fail every later test of the module otherwise.
    """
    partner = faulty.partner()
    user = f"emp-c16-{dependency}"
    url = partner.launch_url(external_user_id=user)
    proxy: TcpProxy = getattr(faulty, dependency)

    with proxy.down(), browser(faulty.stack) as client:
        down = client.get(url)
    faulty.wait_ready()
    with browser(faulty.stack) as client:
        again = client.get(url)

    assert down.status_code == 503
    assert not _session_cookie(down)
    assert again.status_code == 303
    assert user_and_membership_rows(faulty.stack, partner.partner.client_id, user) == (
        1,
        1,
    )
    assert redemptions(faulty.stack, user) == 1
    assert faulty.dead_letters() == []
