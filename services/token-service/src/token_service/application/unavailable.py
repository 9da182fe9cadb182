"""A dependency failed under a use case: log which one and how, answer 503."""

from collections.abc import Awaitable
from typing import TypeVar

import structlog

from token_service.application.ports import DependencyUnavailable
from token_service.domain.errors import ServiceUnavailable

T = TypeVar("T")

log = structlog.get_logger(__name__)


async def guarded(step: Awaitable[T], event: str) -> T:
    """Awaits `step`; a `DependencyUnavailable` is logged as `event` and
    re-raised as `ServiceUnavailable`, which the caller's user sees."""
    try:
        return await step
    except DependencyUnavailable as exc:
        log.error(event, dependency=exc.dependency, error=exc.detail)
        raise ServiceUnavailable() from exc
