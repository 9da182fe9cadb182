"""Unique names so that parallel or leftover test runs never collide."""

import uuid

import pytest


def unique(label: str) -> str:
    return f"t{uuid.uuid4().hex[:12]}-{label}"


@pytest.fixture
def unique_prefix() -> str:
    """A fresh prefix for Redis keys and AMQP names, one per test."""
    return f"test-{uuid.uuid4().hex[:12]}:"
