"""Translates redis-py failures into the port error; shared by the Redis adapters."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from token_service.application.ports import DependencyUnavailable

DEPENDENCY: Final = "redis"
# Connection failures are described by redis-py itself ("No connection
# available.", "Timeout reading from host:port"); other replies may echo a
# command's arguments, so only their type is kept.
DESCRIBED: Final = (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError)
MAX_MESSAGE: Final = 200


@contextmanager
def redis_failures() -> Iterator[None]:
    """Re-raise any Redis, socket or timeout failure as `DependencyUnavailable`.

    Its detail names the error's type, and for a connection failure what
    redis-py said, so a log tells a full pool from a refused connection.
    """
    try:
        yield
    except (RedisError, OSError, TimeoutError) as exc:
        raise DependencyUnavailable(DEPENDENCY, _described(exc)) from exc


def _described(exc: BaseException) -> str:
    name = type(exc).__name__
    message = str(exc) if isinstance(exc, DESCRIBED) else ""
    return f"{name}: {message[:MAX_MESSAGE]}" if message else name


def text(value: bytes | str | None) -> str | None:
    """A reply value as text, whatever the client's `decode_responses` setting."""
    if isinstance(value, bytes):
        return value.decode()
    return value
