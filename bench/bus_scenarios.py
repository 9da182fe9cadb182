"""Provisioning throughput over the bus, and Cognito calls counted by the emulator."""

import asyncio
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, TypeVar

import httpx

from bench.http_scenarios import HttpBench, launch, new_users
from bench.loadgen import percentile
from bench.profile import SAMPLE_RATE, top_frames
from bench.rows import Row
from bench.stack_run import LOAD_CORE
from tilt_shared.bus import BusNames
from token_service.adapters.outbound.aio_pika_provisioning_client import (
    AioPikaProvisioningClient,
)
from token_service.domain.provisioning import ProvisionedUser, RedeemedLaunch

T = TypeVar("T")

IN_FLIGHT: Final = 200
CLOCK_TICKS: Final = os.sysconf("SC_CLK_TCK")
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


async def _provision_rows(
    bench: HttpBench, spy: Callable[[], "subprocess.Popen[bytes]"] | None = None
) -> list[Row]:
    """First launches of new users, then their repeat launches; `spy`, when
    given, starts a sampler just before the repeat launches (stopped after)."""
    config = bench.stack.stack.config
    client = AioPikaProvisioningClient(
        config.amqp_url, BusNames.with_prefix(config.bus_prefix)
    )
    await client.start()
    users = new_users(bench.scale.messages, "provision")
    rows = []
    try:
        for label in ("first launches", "repeat launches"):
            sampler = spy() if spy and label == "repeat launches" else None
            servers_before = _server_cpu_s(bench)
            cpu_before = time.process_time()
            wall, latencies, errors = await _provision_all(
                client, _launches(bench, users)
            )
            cpu = time.process_time() - cpu_before
            servers = _server_cpu_s(bench)
            per_message = ", ".join(
                f"{name} {(spent - servers_before[name]) / len(users) * 1e3:.2f}"
                for name, spent in servers.items()
            )
            if sampler is not None:
                sampler.send_signal(signal.SIGINT)
                sampler.wait(60)
            peak = bench.peak_mb("provisioning")
            note = (
                f"{len(users)} messages; publisher CPU {cpu / wall:.0%} of a core; "
                f"CPU ms per message: {per_message}"
            )
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


def _server_cpu_s(bench: HttpBench) -> dict[str, float]:
    """CPU seconds so far of the consumer, of this run's PostgreSQL backends and
    of RabbitMQ (shared with whatever else uses the broker)."""
    database = bench.stack.stack.config.database_url.rsplit("/", 1)[-1]
    spent = {"consumer": 0.0, "postgresql": 0.0, "rabbitmq": 0.0}
    consumer = bench.stack.pid("provisioning")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
            fields = (proc / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue  # exited meanwhile
        if int(proc.name) == consumer:
            name = "consumer"
        elif command.startswith(b"postgres:") and database.encode() in command:
            name = "postgresql"
        elif b"beam.smp" in command:
            name = "rabbitmq"
        else:
            continue
        spent[name] += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return spent


def _on_load_core(run: Callable[[], T]) -> T:
    """The publisher runs on the load core, away from the token service's."""
    every_core = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {int(LOAD_CORE)})
    try:
        return run()
    finally:
        os.sched_setaffinity(0, every_core)


def provision(bench: HttpBench) -> list[Row]:
    """N LaunchRedeemed through the one consumer, first then repeat, timed by reply.

    The publisher (the token service's own AMQP client) runs on the load core.
    """
    return _on_load_core(lambda: asyncio.run(_provision_rows(bench)))


def profile_provision(bench: HttpBench, results: Path) -> None:
    """py-spy on the provisioning service during a run of repeat launches:
    `profile-provision.txt` (top frames) and `.collapsed` (raw stacks)."""
    raw = results / "profile-provision.collapsed"
    spy = shutil.which("py-spy") or str(Path(__file__).parents[1] / ".venv/bin/py-spy")
    argv = [spy, "record", "-p", str(bench.stack.pid("provisioning"))]
    argv += ["-r", str(SAMPLE_RATE), "--nonblocking", "-f", "raw", "-o", str(raw)]

    def sampler() -> "subprocess.Popen[bytes]":
        started = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
        time.sleep(1)  # py-spy attaches before the load starts
        return started

    _on_load_core(lambda: asyncio.run(_provision_rows(bench, sampler)))
    lines, _ = top_frames(raw.read_text().splitlines())
    (results / "profile-provision.txt").write_text("\n".join(lines) + "\n")


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
