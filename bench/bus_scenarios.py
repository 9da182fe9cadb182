"""Provisioning throughput over the bus, and Cognito calls counted by the emulator."""

import asyncio
import os
import time
import uuid
from datetime import UTC, datetime
from typing import Final

import httpx

from bench.http_scenarios import HttpBench, launch, new_users
from bench.loadgen import percentile
from bench.rows import Row
from bench.stack_run import LOAD_CORE
from tilt_shared.bus import BusNames
from token_service.adapters.outbound.aio_pika_provisioning_client import (
    AioPikaProvisioningClient,
)
from token_service.domain.provisioning import ProvisionedUser, RedeemedLaunch

IN_FLIGHT: Final = 200
TIMEOUT_S: Final = 60.0


async def _provision_all(
    client: AioPikaProvisioningClient, launches: list[RedeemedLaunch]
) -> tuple[float, list[float], int]:
    """(wall seconds, ascending reply latencies in ms, errors)."""
    gate = asyncio.Semaphore(IN_FLIGHT)
    latencies: list[float] = []
    errors = 0

    async def one(launch: RedeemedLaunch) -> None:
        nonlocal errors
        async with gate:
            started = time.perf_counter()
            reply = await client.provision(launch, TIMEOUT_S)
            latencies.append((time.perf_counter() - started) * 1000)
        if not isinstance(reply, ProvisionedUser):
            errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(one(launch) for launch in launches))
    return time.perf_counter() - started, sorted(latencies), errors


def _launches(bench: HttpBench, users: list[str]) -> list[RedeemedLaunch]:
    now = datetime.now(UTC)
    partner = bench.stack.stack.demo
    return [
        RedeemedLaunch(
            jti=uuid.uuid4().hex,
            partner_id=partner.client_id,
            external_user_id=user,
            display_name="Bench User",
            location_id=partner.location_id,
            role_slug="location_cashier",
            redeemed_at=now,
        )
        for user in users
    ]


async def _provision_rows(bench: HttpBench) -> list[Row]:
    config = bench.stack.stack.config
    client = AioPikaProvisioningClient(
        config.amqp_url, BusNames.with_prefix(config.bus_prefix)
    )
    await client.start()
    users = new_users(bench.scale.messages, "provision")
    rows = []
    try:
        for label in ("first launches", "repeat launches"):
            cpu_before = time.process_time()
            wall, latencies, errors = await _provision_all(
                client, _launches(bench, users)
            )
            cpu = time.process_time() - cpu_before
            peak = bench.peak_mb("provisioning")
            note = f"{len(users)} messages; publisher CPU {cpu / wall:.0%} of a core"
            rows.append(
                Row(
                    f"provision, {label}",
                    len(users) / wall,
                    percentile(latencies, 50),
                    percentile(latencies, 90),
                    percentile(latencies, 99),
                    errors,
                    peak,
                    None,
                    note,
                )
            )
    finally:
        await client.close()
    return rows


def provision(bench: HttpBench) -> list[Row]:
    """N LaunchRedeemed through the one consumer, first then repeat, timed by reply.

    The publisher (the token service's own AMQP client) runs on the load core.
    """
    every_core = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {int(LOAD_CORE)})
    try:
        return asyncio.run(_provision_rows(bench))
    finally:
        os.sched_setaffinity(0, every_core)


def cognito_calls(bench: HttpBench) -> dict[str, dict[str, float]]:
    """Cognito operations per launch, from the emulator's counter, first and repeat."""
    emulator = bench.stack.stack.config.emulator_url
    users = new_users(bench.scale.cognito_launches, "cognito")
    counted: dict[str, dict[str, float]] = {}
    for label in ("first launch", "repeat launch"):
        httpx.post(f"{emulator}/_emulator/calls/reset", timeout=10).raise_for_status()
        statuses = launch(bench, users)
        calls = httpx.get(f"{emulator}/_emulator/calls", timeout=10).json()
        per_launch = {op: count / len(users) for op, count in calls.items()}
        per_launch["launches answered 303"] = float(statuses.count(303))
        counted[label] = per_launch
    return counted
