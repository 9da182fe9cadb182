"""Composition root of the token service: settings, adapters, use cases, the server.

`create_app` is the one way to build the app; tests pass fakes through
`overrides` and get real adapters for everything they leave out. Real
adapters are built in the Litestar lifespan so they bind to the server's loop.
"""

import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import structlog
from litestar import Litestar

from token_service.adapter_set import Adapters, build_missing, need
from token_service.adapters.inbound.litestar_app import build_litestar
from token_service.adapters.inbound.use_cases import UseCases
from token_service.application.browser_session import SignOut, ViewSale
from token_service.application.mint_launch import MintLaunch
from token_service.application.redeem_launch import RedeemLaunch
from token_service.settings import PREFIX, Settings, check_settings

__all__ = ["Adapters", "create_app", "main"]

log = structlog.get_logger(__name__)


def create_app(settings: Settings, *, overrides: Adapters | None = None) -> Litestar:
    """The token service app; adapters not in `overrides` are built at start-up."""
    given = overrides or Adapters()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            adapters = await build_missing(settings, given, stack)
            app.state.use_cases = _use_cases(settings, adapters)
            log.info("service_started", listen=f"{settings.host}:{settings.port}")
            yield

    return build_litestar([lifespan])


def _use_cases(settings: Settings, a: Adapters) -> UseCases:
    ledger, sessions, tokens = need(a.ledger), need(a.sessions), need(a.tokens)
    bus, issuer = need(a.bus), need(a.issuer)
    clock, ids = need(a.clock), need(a.ids)
    directory = need(a.directory)
    probes = a.probes or {}

    async def readiness() -> dict[str, bool]:
        return {name: await probe() for name, probe in probes.items()}

    return UseCases(
        authenticator=need(a.authenticator),
        mint=MintLaunch(
            ledger,
            tokens,
            directory,
            need(a.limiter),
            clock,
            ids,
            settings.public_base_url,
            settings.launch_ttl_s,
        ),
        redeem=RedeemLaunch(
            tokens,
            ledger,
            bus,
            issuer,
            sessions,
            clock,
            ids,
            settings.provisioning_timeout_s,
        ),
        view_sale=ViewSale(sessions, issuer, clock),
        sign_out=SignOut(sessions, issuer),
        readiness=readiness,
        public_origin=settings.public_origin,
        cookie_secure=settings.cookie_secure,
    )


def main() -> None:
    """The `token-service` console script: check settings, log, serve with uvicorn."""
    import uvicorn

    from tilt_shared.logging import configure_logging
    from tilt_shared.settings import SettingsError, load_settings

    try:
        settings = load_settings(Settings, PREFIX)
        check_settings(settings)
    except SettingsError as exc:
        print(f"token-service: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging("token-service", settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        workers=1,
        log_config=None,
        access_log=False,
        proxy_headers=True,
    )
