"""Settings checks, the console script's exit code, session use cases, time zones."""

import asyncio
import base64
import os
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from structlog.testing import capture_logs
from token_fakes import (
    GRANTS,
    LOCATION_1,
    TEST_BASE_URL,
    FakeWorld,
    FixedClock,
    InMemoryPartnerDirectory,
    InMemorySessionStore,
    RecordingSessionIssuer,
    make_settings,
)

from tilt_shared.settings import Secret, SettingsError, load_settings
from token_service.adapters.outbound.secrets_ids import SystemClock
from token_service.application.browser_session import SignOut, ViewSale
from token_service.domain.errors import (
    AccessWithdrawn,
    CsrfRejected,
    ServiceUnavailable,
)
from token_service.domain.identity import CognitoTokens
from token_service.domain.session import SESSION_LIFETIME, BrowserSession
from token_service.entrypoint import create_app, main
from token_service.settings import PREFIX, Settings, check_settings

KEY = base64.urlsafe_b64encode(b"k" * 32).decode().rstrip("=")


def test_settings_read_from_prefixed_environment() -> None:
    """Values come from TOKEN_SERVICE_* with types converted."""
    settings = load_settings(
        Settings,
        PREFIX,
        {f"{PREFIX}LAUNCH_TTL_S": "300", f"{PREFIX}COOKIE_SECURE": "false"},
    )

    assert settings.launch_ttl_s == 300
    assert settings.cookie_secure is False
    assert "**" in repr(settings.signing_keys)


@pytest.mark.parametrize(
    ("changes", "names"),
    [
        (
            {
                "signing_keys": Secret(
                    "k1:" + base64.urlsafe_b64encode(b"x" * 8).decode()
                )
            },
            "SIGNING_KEYS",
        ),
        ({"signing_keys": Secret("")}, "SIGNING_KEYS"),
        ({"active_kid": "other"}, "ACTIVE_KID"),
        ({"cognito_password_key": Secret("c2hvcnQ")}, "COGNITO_PASSWORD_KEY"),
        ({"partner_issuer": ""}, "PARTNER_ISSUER"),
        ({"redis_max_connections": 0}, "REDIS_MAX_CONNECTIONS"),
        ({"redis_pool_timeout_s": 0.0}, "REDIS_POOL_TIMEOUT_S"),
        ({"redis_socket_timeout_s": -1.0}, "REDIS_SOCKET_TIMEOUT_S"),
    ],
)
def test_bad_settings_stop_start_up_with_one_line(
    changes: dict[str, object], names: str
) -> None:
    """Short keys, a missing kid or issuer, an empty pool: a one-line reason."""
    with pytest.raises(SettingsError) as caught:
        check_settings(make_settings(**changes))

    assert names in str(caught.value)
    assert "\n" not in str(caught.value)


def test_valid_settings_pass() -> None:
    """The test settings are complete."""
    check_settings(make_settings())


def test_main_exits_2_on_bad_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The console script refuses to start with exit code 2."""
    monkeypatch.setenv(f"{PREFIX}SIGNING_KEYS", "k1:short")
    monkeypatch.setenv(f"{PREFIX}ACTIVE_KID", "k1")

    with pytest.raises(SystemExit) as caught:
        main()

    assert caught.value.code == 2


def session(clock: FixedClock, tokens_s: int) -> BrowserSession:
    now = clock.now()
    return BrowserSession(
        session_id="s1", csrf_token="c1", pos_user_id="u1", partner_id="p1",
        external_user_id="E", location_id=LOCATION_1, role_slug="location_cashier",
        permissions=(), display_name="Ann", jti="j1",
        tokens=CognitoTokens("a", "i", "r", tokens_s),
        tokens_expire_at=now + timedelta(seconds=tokens_s),
        created_at=now, expires_at=now + SESSION_LIFETIME,
    )  # fmt: skip


def test_a_printed_session_shows_none_of_its_secrets() -> None:
    """A session in a log line or a traceback leaks no cookie, form secret or token."""
    secrets = {"session_id": "cookie-value-1", "csrf_token": "form-secret-1"}
    tokens = CognitoTokens("access-jwt-1", "id-jwt-1", "refresh-1", 3600)
    shown = replace(session(FixedClock(), 3600), **secrets, tokens=tokens)

    printed = repr(shown)

    for secret in (*secrets.values(), "access-jwt-1", "id-jwt-1", "refresh-1"):
        assert secret not in printed
    assert "u1" in printed


def granted() -> InMemoryPartnerDirectory:
    return InMemoryPartnerDirectory(dict(GRANTS))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (("suspended", frozenset({LOCATION_1})), "partner_suspended"),
        (("active", frozenset()), "location_not_permitted"),
    ],
    ids=["partner-suspended", "grant-revoked"],
)
async def test_view_sale_ends_a_session_whose_access_was_withdrawn(
    change: tuple[str, frozenset[str]], reason: str
) -> None:
    """An operator suspends the partner or revokes the store: the next page
    load ends the session, instead of letting it run its 8 hours."""
    clock = FixedClock()
    store, directory = InMemorySessionStore(clock), granted()
    await store.save(session(clock, 3600), clock.now())
    directory.grants["p1"] = change

    with capture_logs() as logs, pytest.raises(AccessWithdrawn):
        await ViewSale(store, RecordingSessionIssuer(), clock, directory).execute("s1")

    assert store.sessions == {}
    ended = [entry for entry in logs if entry["event"] == "session_ended"]
    assert [entry["reason"] for entry in ended] == [reason]


async def test_view_sale_refreshes_tokens_about_to_expire() -> None:
    """Tokens expiring within a minute are refreshed and saved."""
    clock = FixedClock()
    store, issuer = InMemorySessionStore(clock), RecordingSessionIssuer()
    await store.save(session(clock, 3600), clock.now())
    clock.advance(3570)

    shown = await ViewSale(store, issuer, clock, granted()).execute("s1")

    assert shown is not None
    assert issuer.refreshed == ["u1"]
    assert shown.tokens_expire_at == clock.now() + timedelta(seconds=3600)


async def test_view_sale_keeps_fresh_tokens_and_survives_refresh_failure() -> None:
    """Fresh tokens are left alone; a failed refresh keeps the session."""
    clock = FixedClock()
    store, issuer = InMemorySessionStore(clock), RecordingSessionIssuer()
    await store.save(session(clock, 3600), clock.now())

    assert await ViewSale(store, issuer, clock, granted()).execute("s1") is not None
    clock.advance(3590)
    issuer.failing = True
    assert await ViewSale(store, issuer, clock, granted()).execute("s1") is not None
    assert issuer.refreshed == []


async def test_session_ends_after_eight_hours() -> None:
    """The session is gone 8 hours after the launch, whatever the activity."""
    clock = FixedClock()
    store = InMemorySessionStore(clock)
    await store.save(session(clock, 3600), clock.now())
    clock.advance(8 * 3600)

    assert (
        await ViewSale(store, RecordingSessionIssuer(), clock, granted()).execute("s1")
        is None
    )


async def test_sign_out_checks_csrf_then_signs_out() -> None:
    """A wrong CSRF token changes nothing; the right one signs out and deletes."""
    clock = FixedClock()
    store, issuer = InMemorySessionStore(clock), RecordingSessionIssuer()
    await store.save(session(clock, 3600), clock.now())

    with pytest.raises(CsrfRejected):
        await SignOut(store, issuer).execute("s1", "wrong")
    with capture_logs() as logs:
        await SignOut(store, issuer).execute("s1", "c1")

    assert issuer.signed_out == ["u1"]
    assert await store.get("s1") is None
    assert [entry["event"] for entry in logs] == ["signed_out"]


async def test_sign_out_deletes_the_session_even_when_cognito_fails() -> None:
    """Cognito down: the session is gone all the same, and the failure is logged."""
    clock = FixedClock()
    store, issuer = InMemorySessionStore(clock), RecordingSessionIssuer(failing=True)
    await store.save(session(clock, 3600), clock.now())

    with capture_logs() as logs:
        await SignOut(store, issuer).execute("s1", "c1")

    assert await store.get("s1") is None
    assert [entry["event"] for entry in logs] == [
        "signed_out",
        "global_sign_out_failed",
    ]
    assert logs[1]["log_level"] == "warning"
    assert (logs[1]["dependency"], logs[1]["error"]) == ("cognito", "fake outage")


class HangingSessionIssuer(RecordingSessionIssuer):
    """A Cognito that accepts the global sign-out call and never answers it."""

    async def sign_out(self, pos_user_id: str) -> None:
        await asyncio.Event().wait()


async def test_sign_out_waits_for_a_hanging_cognito_only_so_long() -> None:
    """A global sign-out that never answers is given up after the budget."""
    clock = FixedClock()
    store = InMemorySessionStore(clock)
    await store.save(session(clock, 3600), clock.now())
    sign_out = SignOut(store, HangingSessionIssuer(), cognito_budget_s=0.05)

    with capture_logs() as logs:
        await asyncio.wait_for(sign_out.execute("s1", "c1"), timeout=5)

    assert await store.get("s1") is None
    assert (logs[-1]["event"], logs[-1]["dependency"]) == (
        "global_sign_out_failed",
        "cognito",
    )


async def test_sign_out_with_the_store_down_is_unavailable_and_skips_cognito() -> None:
    """Redis down: nothing is deleted, Cognito is not asked, one error is logged."""
    clock = FixedClock()
    store, issuer = InMemorySessionStore(clock), RecordingSessionIssuer()
    await store.save(session(clock, 3600), clock.now())
    store.failing = True

    with capture_logs() as logs, pytest.raises(ServiceUnavailable):
        await SignOut(store, issuer).execute("s1", "c1")

    assert issuer.signed_out == []
    assert [(e["event"], e["log_level"], e["dependency"]) for e in logs] == [
        ("sign_out_failed", "error", "redis")
    ]


@pytest.fixture(params=["Pacific/Kiritimati", "Pacific/Pago_Pago"])
def far_time_zone(request: pytest.FixtureRequest) -> Iterator[str]:
    previous = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    yield str(request.param)
    if previous is None:
        os.environ.pop("TZ")
    else:
        os.environ["TZ"] = previous
    time.tzset()


async def test_c06_expiry_is_600_s_in_utc_whatever_the_time_zone(
    far_time_zone: str,
) -> None:
    """UTC+14 or UTC-11: expires_at is the UTC mint time plus exactly 600 s."""
    adapters = replace(FakeWorld().adapters(), clock=SystemClock())
    app = create_app(make_settings(), overrides=adapters)
    before = int(time.time())
    body = {"external_user_id": "E", "location_id": LOCATION_1}

    async with AsyncTestClient(app=app, base_url=TEST_BASE_URL) as client:
        response = await client.post(
            "/pos/v1/launch-tokens", json=body, headers={"Authorization": "Bearer p1"}
        )

    expires_at = datetime.strptime(response.json()["expires_at"], "%Y-%m-%dT%H:%M:%SZ")
    expiry = int(expires_at.replace(tzinfo=UTC).timestamp())
    assert before + 600 <= expiry <= int(time.time()) + 600


async def test_unexpected_errors_are_a_problem_without_a_stack_trace() -> None:
    """A bug becomes a logged 500 problem whose body says nothing internal."""
    world = FakeWorld()

    async def broken(authorization: Any) -> str:
        raise RuntimeError("internal detail")

    world.authenticator.authenticate = broken  # type: ignore[method-assign]
    app = create_app(make_settings(), overrides=world.adapters())

    async with AsyncTestClient(app=app, base_url=TEST_BASE_URL) as client:
        with capture_logs() as logs:
            response = await client.post("/pos/v1/launch-tokens", json={})

    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert "internal detail" not in response.text
    assert "Traceback" not in response.text
    assert any(entry["event"] == "request_failed" for entry in logs)
