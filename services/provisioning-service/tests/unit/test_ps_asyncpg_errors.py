"""Which driver failures the store reports as permanent and which as transient."""

import asyncpg
import pytest

from provisioning_service.adapters.outbound.asyncpg_errors import translated
from provisioning_service.domain.errors import InvalidLaunch, StoreUnavailable


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.DataError("invalid input syntax"),
        asyncpg.UniqueViolationError("duplicate key"),
        asyncpg.ProgramLimitExceededError("index row size exceeds maximum"),
        ValueError("value out of int32 range"),
    ],
)
async def test_a_failure_no_retry_can_fix_is_an_invalid_launch(
    error: Exception,
) -> None:
    """Retrying these could only fail again, so they are dead-lettered at once."""
    with pytest.raises(InvalidLaunch):
        async with translated("provision"):
            raise error


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.DeadlockDetectedError("deadlock"),
        asyncpg.SerializationError("could not serialize"),
        asyncpg.CannotConnectNowError("starting up"),
        asyncpg.ConnectionDoesNotExistError("closed"),
        TimeoutError(),
        ConnectionResetError(),
    ],
)
async def test_a_failure_a_retry_may_fix_is_transient(error: Exception) -> None:
    """Lost connections, deadlocks and timeouts go back to the queue."""
    with pytest.raises(StoreUnavailable):
        async with translated("provision"):
            raise error
