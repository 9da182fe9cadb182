"""The consumer stopped and started mid-stream: nothing lost, nothing done twice.

A stream of first launches keeps arriving while the real console script is
stopped, by SIGTERM (drain, then exit) or by SIGKILL (a crash: the broker
requeues what it held unacked, some of it already committed), and a new
process takes over. Every launch must end with exactly one user, one
membership and one redemption row, every asker must get its result, and
nothing may be dead-lettered.
"""

import asyncio
import signal
from collections.abc import Awaitable, Callable

import asyncpg
import pytest
from aio_pika.abc import AbstractQueue
from ps_bus import BusProbe
from ps_process import running_process
from ps_rows import partner_rows

from tilt_shared.messages import ProvisioningResult, decode_reply, encode

pytestmark = pytest.mark.integration

STREAM = 60
PUBLISH_GAP_S = 0.02


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["term", "kill"])
async def test_the_consumer_restarted_mid_stream_provisions_each_launch_once(
    probe: BusProbe,
    database_url: str,
    amqp_url: str,
    unique_prefix: str,
    stop: signal.Signals,
) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    partner_id = probe.seeded["partner_id"]
    launches = [probe.redeemed(external_user_id=f"EMP-{n}") for n in range(STREAM)]

    async def publish_stream() -> list[tuple[AbstractQueue, str]]:
        sent = []
        for launch in launches:
            sent.append(await probe.request(probe.names, encode(launch), launch.jti))
            await asyncio.sleep(PUBLISH_GAP_S)
        return sent

    async with running_process(database_url, amqp_url, unique_prefix) as first:
        publishing = asyncio.create_task(publish_stream())
        await _until(lambda: _redemptions(pool, partner_id), at_least=STREAM // 4)
        first.send_signal(stop)
        code = await asyncio.wait_for(first.wait(), timeout=20)
    stopped_at = await _redemptions(pool, partner_id)
    async with running_process(database_url, amqp_url, unique_prefix) as second:
        sent = await publishing
        replies = [
            decode_reply((await probe.next_message(queue, timeout_s=20)).body)
            for queue, _ in sent
        ]
        second.send_signal(signal.SIGTERM)
        await asyncio.wait_for(second.wait(), timeout=20)
    rows = await partner_rows(pool, partner_id)
    await pool.close()

    assert code == (0 if stop is signal.SIGTERM else -signal.SIGKILL)
    assert STREAM // 4 <= stopped_at < STREAM, "the stop did not fall mid-stream"
    assert [type(reply) for reply in replies] == [ProvisioningResult] * STREAM
    assert [reply.jti for reply in replies] == [launch.jti for launch in launches]
    assert rows == (STREAM, STREAM, STREAM)
    assert await probe.dead_letters() == []
    assert await probe.waiting() == 0


async def _redemptions(pool: asyncpg.Pool, partner_id: str) -> int:
    count: int = await pool.fetchval(
        "SELECT count(*) FROM launch_redemption_tbl WHERE partner_id = $1",
        partner_id,
    )
    return count


async def _until(
    count: Callable[[], Awaitable[int]], at_least: int, timeout_s: float = 20
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        if await count() >= at_least:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"fewer than {at_least} launches were provisioned")
