"""The first connect of a robust connection is bounded and leaves nothing behind."""

import asyncio

import pytest

from testsupport.silent_broker import SilentBroker
from tilt_shared.amqp import connect_robustly

pytestmark = pytest.mark.integration


async def test_a_broker_that_never_answers_times_out_and_is_let_go(
    silent: SilentBroker,
) -> None:
    with pytest.raises(TimeoutError):
        await connect_robustly(silent.url, timeout_s=0.3)

    await asyncio.wait_for(silent.ended.wait(), timeout=5)


async def test_a_connect_cancelled_midway_is_let_go(silent: SilentBroker) -> None:
    connecting = asyncio.create_task(connect_robustly(silent.url))
    await asyncio.wait_for(silent.accepted.wait(), timeout=5)

    connecting.cancel()
    await asyncio.gather(connecting, return_exceptions=True)

    await asyncio.wait_for(silent.ended.wait(), timeout=5)


async def test_a_live_broker_gives_a_connection_that_reconnects_every_second(
    amqp_url: str,
) -> None:
    connection = await connect_robustly(amqp_url)
    interval = connection.reconnect_interval  # type: ignore[attr-defined]
    await connection.close()

    assert interval == 1.0
