"""RedeemLaunch with in-memory fakes: every branch of DESIGN §6."""

import asyncio
from dataclasses import dataclass
from datetime import timedelta

import pytest
from structlog.testing import capture_logs
from token_fakes import (
    FixedClock,
    InMemoryLaunchLedger,
    InMemorySessionStore,
    RecordingRedemptionBus,
    RecordingSessionIssuer,
    SequentialIds,
)

from token_service.adapters.outbound.pyjwt_launch_tokens import PyJwtLaunchTokens
from token_service.application import redeem_launch
from token_service.application.ports import DependencyUnavailable
from token_service.application.redeem_launch import RedeemLaunch
from token_service.domain.errors import (
    LaunchTokenExpired,
    LaunchTokenInvalid,
    LaunchTokenUsed,
    ProvisioningRejected,
    ServiceUnavailable,
)
from token_service.domain.launch import LaunchDetails
from token_service.domain.provisioning import ProvisioningRejection

DETAILS = LaunchDetails(
    "p1", "EMP-1", "Ann", "123e4567-e89b-12d3-a456-426614174000", "location_cashier"
)


@dataclass
class World:
    clock: FixedClock
    ledger: InMemoryLaunchLedger
    sessions: InMemorySessionStore
    bus: RecordingRedemptionBus
    issuer: RecordingSessionIssuer
    tokens: PyJwtLaunchTokens
    redeem: RedeemLaunch

    async def mint(self, jti: str = "jti-a", details: LaunchDetails = DETAILS) -> str:
        now = self.clock.now()
        expires = now + timedelta(seconds=600)
        await self.ledger.store(jti, details, expires, now)
        return self.tokens.sign(jti, now, expires)


@pytest.fixture
def world() -> World:
    clock = FixedClock()
    ledger = InMemoryLaunchLedger()
    sessions = InMemorySessionStore(clock)
    bus = RecordingRedemptionBus()
    issuer = RecordingSessionIssuer()
    tokens = PyJwtLaunchTokens({"k1": b"k" * 32}, "k1", "tilt-pos", "tilt-pos-launch")
    redeem = RedeemLaunch(
        tokens, ledger, bus, issuer, sessions, clock, SequentialIds(), 5.0
    )
    return World(clock, ledger, sessions, bus, issuer, tokens, redeem)


async def test_success_creates_a_session_and_burns_the_link(world: World) -> None:
    """A fresh link provisions, signs in, stores the session and completes."""
    token = await world.mint()

    with capture_logs() as logs:
        outcome = await world.redeem.execute(token, None)

    session = outcome.new_session
    assert session is not None
    assert world.sessions.sessions[session.session_id] == session
    assert session.jti == "jti-a"
    assert session.expires_at - session.created_at == timedelta(hours=8)
    assert world.ledger.records["jti-a"].state == "redeemed"
    assert world.ledger.records["jti-a"].session_id == session.session_id
    events = [entry["event"] for entry in logs]
    assert "session_issued" in events
    assert "launch_token_redeemed" in events
    assert token not in repr(logs)


async def test_second_open_is_used(world: World) -> None:
    """The same link opened again from another browser is gone."""
    token = await world.mint()
    await world.redeem.execute(token, None)

    with pytest.raises(LaunchTokenUsed):
        await world.redeem.execute(token, None)


async def test_c03_reload_with_the_session_of_this_link_goes_to_sale(
    world: World,
) -> None:
    """The browser holding the session this jti made is sent on, nothing redeemed."""
    token = await world.mint()
    first = await world.redeem.execute(token, None)
    assert first.new_session is not None

    again = await world.redeem.execute(token, first.new_session.session_id)

    assert again.new_session is None
    assert len(world.bus.sent) == 1


async def test_reload_after_session_ended_is_used(world: World) -> None:
    """A dead session of this jti does not reopen the link."""
    token = await world.mint()
    first = await world.redeem.execute(token, None)
    assert first.new_session is not None
    world.clock.advance(8 * 3600)

    with pytest.raises((LaunchTokenUsed, LaunchTokenExpired)):
        await world.redeem.execute(token, first.new_session.session_id)


@pytest.mark.parametrize("dependency", ["bus", "issuer", "sessions"])
async def test_dependency_failure_releases_the_link_for_a_retry(
    world: World, dependency: str
) -> None:
    """Broker, Cognito or session store down after the claim: 503, link released."""
    token = await world.mint()
    getattr(world, dependency).failing = True

    with pytest.raises(ServiceUnavailable):
        await world.redeem.execute(token, None)

    assert world.ledger.records["jti-a"].state == "minted"
    getattr(world, dependency).failing = False
    assert (await world.redeem.execute(token, None)).new_session is not None


async def test_ledger_down_is_unavailable_and_claims_nothing(world: World) -> None:
    """Redis down at the claim: 503 and no provisioning."""
    token = await world.mint()
    world.ledger.failing = True

    with pytest.raises(ServiceUnavailable):
        await world.redeem.execute(token, None)

    assert world.bus.sent == []


async def test_a_failed_dependency_is_logged_with_its_error(world: World) -> None:
    """The failure line says what went wrong, not only which dependency."""
    token = await world.mint()
    world.ledger.failing = True

    with capture_logs() as logs, pytest.raises(ServiceUnavailable):
        await world.redeem.execute(token, None)

    failed = [entry for entry in logs if entry["event"] == "launch_redemption_failed"]
    assert [(entry["dependency"], entry["error"]) for entry in failed] == [
        ("redis", "fake outage")
    ]


async def test_rejection_by_provisioning_burns_the_link(world: World) -> None:
    """Provisioning refuses: the code is kept, no session, link no longer usable."""
    token = await world.mint()
    world.bus.rejection = ProvisioningRejection("location_not_permitted")

    with pytest.raises(ProvisioningRejected) as caught:
        await world.redeem.execute(token, None)

    assert caught.value.rejection_code == "location_not_permitted"
    assert world.sessions.sessions == {}
    assert world.ledger.records["jti-a"].state == "redeemed"


async def test_complete_failing_deletes_the_new_session(world: World) -> None:
    """Another request took the link over: our session is deleted, answer gone."""
    token = await world.mint()

    async def lost(jti: str, owner: str, session_id: str) -> bool:
        return False

    world.ledger.complete = lost  # type: ignore[method-assign]

    with pytest.raises(LaunchTokenUsed):
        await world.redeem.execute(token, None)

    assert world.sessions.sessions == {}


async def test_previous_session_of_this_browser_is_revoked(world: World) -> None:
    """A shared terminal: the old user's session is deleted and signed out."""
    first = await world.redeem.execute(await world.mint("jti-a"), None)
    other = details_for("EMP-2")
    assert first.new_session is not None

    with capture_logs() as logs:
        second = await world.redeem.execute(
            await world.mint("jti-b", other), first.new_session.session_id
        )

    assert second.new_session is not None
    assert first.new_session.session_id not in world.sessions.sessions
    assert world.issuer.signed_out == [first.new_session.pos_user_id]
    assert any(entry["event"] == "session_revoked" for entry in logs)


async def test_previous_session_of_the_same_user_is_not_signed_out_in_cognito(
    world: World,
) -> None:
    """A global sign-out of the same user would revoke the new tokens too."""
    first = await world.redeem.execute(await world.mint("jti-a"), None)
    assert first.new_session is not None

    await world.redeem.execute(await world.mint("jti-b"), first.new_session.session_id)

    assert world.issuer.signed_out == []
    assert first.new_session.session_id not in world.sessions.sessions


async def test_forged_token_never_touches_the_ledger(world: World) -> None:
    """An invalid token is rejected before any ledger call."""
    with pytest.raises(LaunchTokenInvalid):
        await world.redeem.execute("not.a.token", None)

    assert world.ledger.calls == []


async def test_expired_token_never_touches_the_ledger(world: World) -> None:
    """An expired token is reported as such before any ledger call."""
    token = await world.mint()
    calls_before = list(world.ledger.calls)
    world.clock.advance(600)

    with pytest.raises(LaunchTokenExpired):
        await world.redeem.execute(token, None)

    assert world.ledger.calls == calls_before


def details_for(external_user_id: str) -> LaunchDetails:
    return LaunchDetails(
        "p1", external_user_id, None, DETAILS.location_id, DETAILS.role_slug
    )


async def test_slow_cognito_releases_the_link(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Cognito sign-in past its budget counts as a failure: 503 and released."""
    monkeypatch.setattr(redeem_launch, "COGNITO_BUDGET_S", 0.01)
    token = await world.mint()

    async def slow(user: object) -> object:
        await asyncio.sleep(1)
        raise AssertionError("should have been cancelled")

    world.issuer.issue = slow  # type: ignore[method-assign,assignment]

    with pytest.raises(ServiceUnavailable):
        await world.redeem.execute(token, None)

    assert world.ledger.records["jti-a"].state == "minted"


async def test_ledger_failing_at_complete_deletes_the_session_and_is_503(
    world: World,
) -> None:
    """Redis fails at the last step: no session survives, the retry page is shown."""
    token = await world.mint()

    async def broken(jti: str, owner: str, session_id: str) -> bool:
        raise DependencyUnavailable("redis", "fake outage")

    world.ledger.complete = broken  # type: ignore[method-assign]

    with pytest.raises(ServiceUnavailable):
        await world.redeem.execute(token, None)

    assert world.sessions.sessions == {}
    assert world.ledger.records["jti-a"].state == "minted"


def _with_busy_wait(world: World, seconds: float) -> RedeemLaunch:
    return RedeemLaunch(
        world.tokens,
        world.ledger,
        world.bus,
        world.issuer,
        world.sessions,
        world.clock,
        SequentialIds(),
        5.0,
        busy_wait_s=seconds,
    )


async def test_an_open_during_another_redemption_waits_and_is_then_used(
    world: World,
) -> None:
    """A second open while the first holds the claim waits for its outcome:
    completed, the second is used (410), as C-04's losers are."""
    token = await world.mint()
    await world.ledger.claim("jti-a", "first", world.clock.now())

    async def first_completes() -> None:
        await asyncio.sleep(0.1)
        await world.ledger.complete("jti-a", "first", "session-1")

    second = _with_busy_wait(world, 2.0).execute(token, None)
    results = await asyncio.gather(second, first_completes(), return_exceptions=True)

    assert isinstance(results[0], LaunchTokenUsed)


async def test_an_open_during_another_redemption_that_fails_takes_over(
    world: World,
) -> None:
    """If the first redemption releases (its dependency failed), the waiting
    open claims the link and signs in: the user sees no false "used"."""
    token = await world.mint()
    await world.ledger.claim("jti-a", "first", world.clock.now())

    async def first_releases() -> None:
        await asyncio.sleep(0.1)
        await world.ledger.release("jti-a", "first")

    second = _with_busy_wait(world, 2.0).execute(token, None)
    results = await asyncio.gather(second, first_releases())

    assert results[0].new_session is not None


async def test_an_open_of_an_orphaned_claim_says_retry_not_used(world: World) -> None:
    """C-05: a claim orphaned by an outage (its release never reached Redis)
    answers 503 retry until its lease runs out, never 410 used."""
    token = await world.mint()
    await world.ledger.claim("jti-a", "orphaned", world.clock.now())

    with pytest.raises(ServiceUnavailable):
        await _with_busy_wait(world, 0.2).execute(token, None)

    world.clock.advance(31)
    assert (await world.redeem.execute(token, None)).new_session is not None
