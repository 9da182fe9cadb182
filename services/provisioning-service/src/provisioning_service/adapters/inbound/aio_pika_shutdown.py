"""Shutdown steps that cannot hang: the broker may be gone when SIGTERM arrives."""

import asyncio
from collections.abc import Awaitable
from typing import Final

import aio_pika
import structlog

# A robust channel waits for the broker to come back before it cancels a
# consumer; at shutdown nobody should wait for that.
STEP_TIMEOUT_S: Final = 2.0

log = structlog.get_logger(__name__)


async def bounded(
    step: str, awaitable: Awaitable[object], timeout_s: float = STEP_TIMEOUT_S
) -> None:
    """Run one shutdown step; a timeout or a dead connection is logged, not raised."""
    try:
        await asyncio.wait_for(awaitable, timeout=timeout_s)
    except (TimeoutError, RuntimeError, OSError, aio_pika.exceptions.AMQPError) as exc:
        log.warning("shutdown_step_skipped", step=step, error_type=type(exc).__name__)
