"""Dependency calls timed for `LaunchMetrics` and traced as OpenTelemetry spans.

`observed` wraps any port: each awaited method call is timed under the
port's dependency name and, with tracing on, becomes a CLIENT span, child
of the request's span. The Cognito and JWKS hooks do the same for calls
made inside those adapters. With tracing off no span code runs at all.
"""

import inspect
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, Final, TypeVar, cast

from jwt import PyJWKClient
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

from token_service.application.metrics import LaunchMetrics
from token_service.domain.errors import TokenServiceError

T = TypeVar("T")
OK: Final = "ok"
REFUSED: Final = "refused"
UNAVAILABLE: Final = "unavailable"


def _outcome(error: Exception) -> str:
    """An expected answer (suspended partner, …) is `refused`; the rest failed."""
    return REFUSED if isinstance(error, TokenServiceError) else UNAVAILABLE


@contextmanager
def observed_call(
    metrics: LaunchMetrics,
    tracer: Tracer | None,
    dependency: str,
    operation: str,
    *,
    kind: SpanKind = SpanKind.CLIENT,
    span_name: str = "",
    outcome_of: Callable[[Exception], str] = _outcome,
) -> Iterator[None]:
    """Times the block as one call of `dependency`; a span around it with a tracer."""
    started = time.perf_counter()
    outcome = OK
    span_context: AbstractContextManager[Span | None] = nullcontext()
    if tracer is not None:
        span_context = tracer.start_as_current_span(
            span_name or f"{dependency} {operation}",
            kind=kind,
            attributes={"peer.service": dependency},
            record_exception=False,
            set_status_on_exception=False,
        )
    with span_context as span:
        try:
            yield
        except Exception as error:
            outcome = outcome_of(error)
            if span is not None and outcome != REFUSED:
                span.set_status(Status(StatusCode.ERROR, outcome))
            raise
        finally:
            elapsed = time.perf_counter() - started
            metrics.dependency_called(dependency, operation, outcome, elapsed)


class _Observed:
    def __init__(
        self,
        target: Any,
        dependency: str,
        metrics: LaunchMetrics,
        tracer: Tracer | None,
    ) -> None:
        self._target = target
        self._dependency = dependency
        self._metrics = metrics
        self._tracer = tracer

    def __getattr__(self, name: str) -> Any:
        member = getattr(self._target, name)
        if not inspect.iscoroutinefunction(member):
            return member
        wrapped = self._wrap(name, member)
        # Cached on the instance: later look-ups skip __getattr__ entirely.
        setattr(self, name, wrapped)
        return wrapped

    def _wrap(
        self, operation: str, call: Callable[..., Awaitable[Any]]
    ) -> Callable[..., Awaitable[Any]]:
        dependency, metrics, tracer = self._dependency, self._metrics, self._tracer

        async def observed_method(*args: Any, **kwargs: Any) -> Any:
            with observed_call(metrics, tracer, dependency, operation):
                return await call(*args, **kwargs)

        return observed_method


def observed(
    target: T, dependency: str, metrics: LaunchMetrics, tracer: Tracer | None
) -> T:
    """`target` with every coroutine method timed (and traced when `tracer`)."""
    return cast(T, _Observed(target, dependency, metrics, tracer))


def cognito_observer(
    metrics: LaunchMetrics, tracer: Tracer | None
) -> Callable[[str, str, float], None]:
    """A hook for each finished Cognito call: counted, timed, and a span after it."""

    def observe(operation: str, outcome: str, seconds: float) -> None:
        metrics.cognito_called(operation, outcome, seconds)
        if tracer is None:
            return
        ended = time.time_ns()
        span = tracer.start_span(
            f"cognito {operation}",
            kind=SpanKind.CLIENT,
            attributes={"peer.service": "cognito", "cognito.outcome": outcome},
            start_time=ended - int(seconds * 1e9),
        )
        if outcome != OK:
            span.set_status(Status(StatusCode.ERROR, outcome))
        span.end(end_time=ended)

    return observe


class ObservedJWKClient(PyJWKClient):
    """PyJWT's JWKS client with each fetch of the key set timed as `jwks fetch`."""

    def __init__(
        self, url: str, metrics: LaunchMetrics, *args: Any, **kwargs: Any
    ) -> None:
        super().__init__(url, *args, **kwargs)
        self._metrics = metrics

    def fetch_data(self) -> Any:
        started = time.perf_counter()
        outcome = OK
        try:
            return super().fetch_data()
        except Exception:
            outcome = UNAVAILABLE
            raise
        finally:
            elapsed = time.perf_counter() - started
            self._metrics.dependency_called("jwks", "fetch", outcome, elapsed)
