"""create_app with the real Redis, RabbitMQ and Cognito adapters (auth faked)."""

from dataclasses import replace
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from token_fakes import LOCATION_1, TEST_BASE_URL, FakeWorld, make_settings

from token_service.entrypoint import create_app

pytestmark = pytest.mark.integration


async def test_real_adapters_start_and_report_ready(
    redis_url: str, amqp_url: str, unique_prefix: str
) -> None:
    """Redis and the AMQP client are built at start-up and checked by /readyz.

    No provisioning answers on this unique bus prefix, so minting cannot load
    the directory and answers 503 with Retry-After, never 500.
    """
    settings = make_settings(
        redis_url=redis_url,
        redis_prefix=unique_prefix,
        amqp_url=amqp_url,
        bus_prefix=unique_prefix,
        provisioning_timeout_s=0.5,
    )
    fakes = FakeWorld().adapters(in_memory_stores=False)
    real = replace(fakes, bus=None, directory_listener=None, issuer=None)
    app = create_app(settings, overrides=real)

    async with AsyncTestClient(app=app, base_url=TEST_BASE_URL) as client:
        ready: Any = (await client.get("/readyz")).json()
        minted = await client.post(
            "/pos/v1/launch-tokens",
            json={"external_user_id": "E", "location_id": LOCATION_1},
            headers={"Authorization": "Bearer p1"},
        )

    assert ready["checks"] == {"redis": True, "amqp": True}
    assert minted.status_code == 503
    assert "retry-after" in minted.headers
