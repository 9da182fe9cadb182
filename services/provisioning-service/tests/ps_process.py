"""Runs the `provisioning-service` console script as a child process for tests."""

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path


@contextlib.asynccontextmanager
async def running_process(
    database_url: str, amqp_url: str, bus_prefix: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    """The real service on these names, once it has said `service_started`.

    A child the test did not stop itself is killed on the way out, so a
    failing test never leaves a consumer behind on the shared broker.
    """
    env = {
        **os.environ,
        "PROVISIONING_DATABASE_URL": database_url,
        "PROVISIONING_AMQP_URL": amqp_url,
        "PROVISIONING_BUS_PREFIX": bus_prefix,
        "PROVISIONING_HTTP_PORT": "0",
    }
    script = str(Path(sys.executable).parent / "provisioning-service")
    process = await asyncio.create_subprocess_exec(
        script, env=env, stdout=asyncio.subprocess.PIPE
    )
    draining: asyncio.Task[None] | None = None
    try:
        assert process.stdout is not None
        # Queued launches may be logged before the start-up line itself.
        while b"service_started" not in (line := await process.stdout.readline()):
            assert line, "the service exited before it started"
        # Nobody reads the rest: drain it, so a chatty child never blocks.
        draining = asyncio.create_task(_drained(process.stdout))
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
        if draining is not None:
            await draining


async def _drained(stream: asyncio.StreamReader) -> None:
    while await stream.read(65536):
        pass
