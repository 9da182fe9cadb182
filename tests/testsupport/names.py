"""Unique names so that parallel or leftover test runs never collide."""

import uuid

import pytest

from testsupport.bus_cleanup import remember_bus_prefix
from testsupport.redis_cleanup import remember_redis_prefix


def unique(label: str) -> str:
    return f"t{uuid.uuid4().hex[:12]}-{label}"


@pytest.fixture
def unique_prefix() -> str:
    """A fresh prefix for Redis keys and AMQP names, one per test."""
    prefix = f"test-{uuid.uuid4().hex[:12]}:"
    remember_bus_prefix(prefix)
    return remember_redis_prefix(prefix)
