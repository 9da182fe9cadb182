"""A broker down at start-up: the token service starts not ready, connects later."""

import asyncio
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from litestar.testing import AsyncTestClient
from token_fakes import TEST_BASE_URL, FakeWorld, make_settings

from testsupport.proxy import TcpProxy, tcp_proxy
from tilt_shared.bus import BusNames
from token_service.adapters.outbound.aio_pika_provisioning_client import (
    AioPikaProvisioningClient,
)
from token_service.application.ports import DependencyUnavailable
from token_service.domain.provisioning import RedeemedLaunch
from token_service.entrypoint import create_app

pytestmark = pytest.mark.integration


@pytest.fixture
def dead_broker(amqp_url: str) -> Iterator[TcpProxy]:
    """A proxy to the real broker, cut: connections are refused until restored."""
    with tcp_proxy(amqp_url) as proxy:
        proxy.cut()
        yield proxy


def launch() -> RedeemedLaunch:
    return RedeemedLaunch(
        jti=uuid.uuid4().hex,
        partner_id="p",
        external_user_id="E",
        display_name=None,
        location_id=str(uuid.uuid4()),
        role_slug="location_cashier",
        redeemed_at=datetime.now(UTC),
    )


async def eventually_connected(client: AioPikaProvisioningClient) -> bool:
    deadline = time.monotonic() + 15
    # The client exposes a property, not an event: poll it.
    while not client.is_connected and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    return client.is_connected


async def test_the_client_starts_without_a_broker_and_connects_when_it_comes(
    dead_broker: TcpProxy, amqp_url: str, unique_prefix: str
) -> None:
    """start() does not raise; calls fail fast until the broker listens again."""
    client = AioPikaProvisioningClient(
        dead_broker.url(amqp_url), BusNames.with_prefix(unique_prefix)
    )
    await client.start()
    try:
        assert not client.is_connected
        with pytest.raises(DependencyUnavailable) as early:
            await client.provision(launch(), timeout_s=5)

        dead_broker.restore()
        connected = await eventually_connected(client)
        # No queue is bound under this prefix: the broker itself returns it.
        with pytest.raises(DependencyUnavailable) as late:
            await client.provision(launch(), timeout_s=5)
    finally:
        await client.close()

    assert early.value.dependency == "rabbitmq"
    assert connected
    assert late.value.dependency == "provisioning"


async def test_the_service_starts_not_ready_while_the_broker_is_down(
    dead_broker: TcpProxy, amqp_url: str, redis_url: str, unique_prefix: str
) -> None:
    """The app starts and /readyz answers 503 naming amqp, then 200 once it is up."""
    settings = make_settings(
        redis_url=redis_url,
        redis_prefix=unique_prefix,
        amqp_url=dead_broker.url(amqp_url),
        bus_prefix=unique_prefix,
    )
    fakes = FakeWorld().adapters(in_memory_stores=False)
    app = create_app(
        settings, overrides=replace(fakes, bus=None, directory_listener=None)
    )

    async with AsyncTestClient(app=app, base_url=TEST_BASE_URL) as client:
        down = await client.get("/readyz")
        dead_broker.restore()
        deadline = time.monotonic() + 15
        while (up := await client.get("/readyz")).status_code != 200:
            assert time.monotonic() < deadline, up.text
            await asyncio.sleep(0.1)

    assert down.status_code == 503
    assert down.json()["checks"] == {"redis": True, "amqp": False}


async def test_the_client_serves_again_after_the_broker_connection_is_cut(
    amqp_url: str, unique_prefix: str
) -> None:
    """After a reconnect the reply consumer is back: a publish reaches the broker
    (which returns it, no queue being bound) instead of failing on the channel."""
    with tcp_proxy(amqp_url) as proxy:
        client = AioPikaProvisioningClient(
            proxy.url(amqp_url), BusNames.with_prefix(unique_prefix)
        )
        await client.start()
        try:
            proxy.cut()
            await asyncio.sleep(0.5)
            proxy.restore()
            await asyncio.sleep(0.5)
            assert await eventually_connected(client)
            await asyncio.sleep(0.5)  # the reconnect callbacks run after `connected`

            with pytest.raises(DependencyUnavailable) as after_cut:
                await client.provision(launch(), timeout_s=5)
        finally:
            await client.close()

    assert after_cut.value.dependency == "provisioning"
    assert after_cut.value.detail == "no queue bound"
