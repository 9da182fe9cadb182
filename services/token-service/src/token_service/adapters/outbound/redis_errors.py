"""Translates redis-py failures into the port error; shared by the Redis adapters."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from redis.exceptions import RedisError

from token_service.application.ports import DependencyUnavailable

DEPENDENCY: Final = "redis"


@contextmanager
def redis_failures() -> Iterator[None]:
    """Re-raise any Redis, socket or timeout failure as `DependencyUnavailable`."""
    try:
        yield
    except (RedisError, OSError, TimeoutError) as exc:
        raise DependencyUnavailable(DEPENDENCY, type(exc).__name__) from exc


def text(value: bytes | str | None) -> str | None:
    """A reply value as text, whatever the client's `decode_responses` setting."""
    if isinstance(value, bytes):
        return value.decode()
    return value
