"""Translates asyncpg failures into the provisioning service's port errors."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from provisioning_service.domain.errors import InvalidLaunch, StoreUnavailable


@asynccontextmanager
async def translated(operation: str) -> AsyncIterator[None]:
    """Re-raise driver errors as `InvalidLaunch` (bad data) or `StoreUnavailable`.

    Data and constraint errors cannot succeed on retry, nor can a value the
    driver refuses to encode (a `ValueError`) or one past a server limit;
    everything else the driver raises (connection loss, deadlock,
    serialization failure, timeout) might, so it is reported as transient.
    """
    try:
        yield
    except (
        asyncpg.DataError,
        asyncpg.IntegrityConstraintViolationError,
        asyncpg.ProgramLimitExceededError,
        ValueError,
    ) as exc:
        raise InvalidLaunch(f"{operation}: {type(exc).__name__}") from exc
    except (
        TimeoutError,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        OSError,
    ) as exc:
        raise StoreUnavailable(f"{operation}: {type(exc).__name__}") from exc
