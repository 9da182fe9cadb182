"""Composition root of the token service: settings, adapters, use cases, the server.

`create_app` is the one way to build the app; tests pass fakes through
`overrides` and get real adapters for everything they leave out. Real
adapters are built in the Litestar lifespan so they bind to the server's loop.
Every app counts into its own Prometheus registry; tracing is on only with
TOKEN_SERVICE_OTEL_ENABLED, or when a test hands over its tracer provider.
"""

import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TypeVar

import structlog
from litestar import Litestar
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Tracer

from tilt_shared.telemetry import tracer_of, tracer_provider
from token_service.adapter_set import Adapters, build_missing, need
from token_service.adapters.inbound.litestar_app import build_litestar
from token_service.adapters.inbound.use_cases import LinkUseCases, UseCases
from token_service.adapters.outbound.opentelemetry_observed_ports import observed
from token_service.adapters.outbound.prometheus_metrics import PrometheusMetrics
from token_service.application.browser_session import SignOut, ViewSale
from token_service.application.idempotent_mint import IdempotentMint
from token_service.application.launch_links import (
    RevokeLaunch,
    RevokeLaunches,
    ShowLaunch,
)
from token_service.application.launch_ports import Clock
from token_service.application.link_ports import IdempotencyKeys, LaunchRegistry
from token_service.application.mint_launch import MintLaunch
from token_service.application.redeem_launch import RedeemLaunch
from token_service.settings import PREFIX, Settings, check_settings
from token_service.uvicorn_server import serve

__all__ = ["Adapters", "create_app", "main"]
T = TypeVar("T")

log = structlog.get_logger(__name__)


def create_app(
    settings: Settings,
    *,
    overrides: Adapters | None = None,
    tracing: TracerProvider | None = None,
) -> Litestar:
    """The token service app; adapters not in `overrides` are built at start-up."""
    given = overrides or Adapters()
    metrics = PrometheusMetrics()
    provider = tracing or _tracer_provider(settings)
    tracer = tracer_of(provider, "token_service")

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            if provider is not None and tracing is None:
                stack.callback(provider.shutdown)
            adapters = await build_missing(settings, given, stack, metrics, tracer)
            app.state.use_cases = _use_cases(settings, adapters, metrics, tracer)
            log.info("service_started", listen=f"{settings.host}:{settings.port}")
            yield

    return build_litestar([lifespan], tracer, metrics.exposition)


def _tracer_provider(settings: Settings) -> TracerProvider | None:
    if not settings.otel_enabled:
        return None
    return tracer_provider(
        "token-service", settings.otel_exporter, settings.otel_endpoint
    )


def _use_cases(
    settings: Settings, a: Adapters, metrics: PrometheusMetrics, tracer: Tracer | None
) -> UseCases:
    def port(adapter: T | None, dependency: str) -> T:
        return observed(need(adapter), dependency, metrics, tracer)

    ledger, sessions = port(a.ledger, "redis"), port(a.sessions, "redis")
    bus, issuer, tokens = need(a.bus), need(a.issuer), need(a.tokens)
    clock, ids = need(a.clock), need(a.ids)
    directory = port(a.directory, "directory")
    probes = a.probes or {}

    async def readiness() -> dict[str, bool]:
        return {name: await probe() for name, probe in probes.items()}

    registry = port(a.registry, "redis") if a.registry else None
    keys = port(a.idempotency_keys, "redis") if a.idempotency_keys else None
    mint = MintLaunch(
        ledger,
        tokens,
        directory,
        port(a.limiter, "redis"),
        clock,
        ids,
        settings.public_base_url,
        settings.launch_ttl_s,
        port(a.admission, "redis") if a.admission else None,
    )
    return UseCases(
        authenticator=need(a.authenticator),
        mint=mint,
        redeem=RedeemLaunch(
            tokens,
            ledger,
            bus,
            issuer,
            sessions,
            clock,
            ids,
            settings.provisioning_timeout_s,
            registry,
        ),
        view_sale=ViewSale(sessions, issuer, clock, directory),
        sign_out=SignOut(sessions, issuer),
        readiness=readiness,
        metrics=metrics,
        public_origin=settings.public_origin,
        cookie_secure=settings.cookie_secure,
        links=_links(mint, registry, keys, clock),
    )


def _links(
    mint: MintLaunch,
    registry: LaunchRegistry | None,
    keys: IdempotencyKeys | None,
    clock: Clock,
) -> LinkUseCases | None:
    """The link controls, when the adapters can read the ledger's records."""
    if registry is None or keys is None:
        return None
    return LinkUseCases(
        mint=IdempotentMint(mint, registry, keys, clock),
        show=ShowLaunch(registry, clock),
        revoke=RevokeLaunch(registry, clock),
        revoke_many=RevokeLaunches(registry, clock),
    )


def settings_or_exit(program: str = "token-service") -> Settings:
    """The settings from the environment, or exit 2 with a one-line reason."""
    from tilt_shared.settings import SettingsError, load_settings

    try:
        settings = load_settings(Settings, PREFIX)
        check_settings(settings)
    except SettingsError as exc:
        print(f"{program}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    return settings


def main() -> None:
    """The `token-service` console script: check settings, log, serve with uvicorn.

    Exits 2 on bad settings, 1 when the port is taken or the app cannot start.
    """
    from tilt_shared.logging import configure_logging

    settings = settings_or_exit()
    configure_logging("token-service", settings.log_level)
    serve(create_app(settings), settings.host, settings.port)
