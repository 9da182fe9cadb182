"""What the HTTP adapter needs from the composition root: use cases and probes."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from litestar import Request

from token_service.application.browser_session import SignOut, ViewSale
from token_service.application.idempotent_mint import IdempotentMint
from token_service.application.launch_links import (
    RevokeLaunch,
    RevokeLaunches,
    ShowLaunch,
)
from token_service.application.launch_ports import PartnerAuthenticator
from token_service.application.metrics import LaunchMetrics
from token_service.application.mint_launch import MintLaunch
from token_service.application.redeem_launch import RedeemLaunch

ReadinessProbe = Callable[[], Awaitable[dict[str, bool]]]


@dataclass(frozen=True, slots=True)
class LinkUseCases:
    """The partner's link controls; present when the ledger can be read (Redis)."""

    mint: IdempotentMint
    show: ShowLaunch
    revoke: RevokeLaunch
    revoke_many: RevokeLaunches


@dataclass(frozen=True, slots=True)
class UseCases:
    authenticator: PartnerAuthenticator
    mint: MintLaunch
    redeem: RedeemLaunch
    view_sale: ViewSale
    sign_out: SignOut
    readiness: ReadinessProbe
    metrics: LaunchMetrics
    public_origin: str
    cookie_secure: bool
    links: LinkUseCases | None = None


def use_cases(request: Request[Any, Any, Any]) -> UseCases:
    """The use cases the app was built with (set at start-up in `app.state`)."""
    found = request.app.state.get("use_cases")
    if not isinstance(found, UseCases):
        raise RuntimeError("the app has not finished starting")
    return found
