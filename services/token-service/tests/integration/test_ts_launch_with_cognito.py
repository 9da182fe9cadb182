"""Full launches on the Cognito emulator and Redis: secrets never logged, sign-out,
and sign-out when Cognito or Redis is cut off.

Only provisioning is faked (it answers every launch); partner auth verifies
real emulator tokens and the session issuer is the real CognitoSessionIssuer.
"""

import base64
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgspec
import pytest
import redis.asyncio as redis
from litestar.testing import AsyncTestClient
from structlog.testing import capture_logs
from token_fakes import (
    LOCATION_1,
    TEST_BASE_URL,
    InMemoryPartnerDirectory,
    RecordingRedemptionBus,
    make_settings,
)

from testsupport.cognito import CognitoStack
from testsupport.proxy import TcpProxy, tcp_proxy
from tilt_shared.settings import Secret
from token_service.adapters.inbound.litestar_browser_pages import SESSION_COOKIE
from token_service.adapters.outbound.cognito_session_issuer import (
    CognitoConfig,
    CognitoSessionIssuer,
)
from token_service.application.ports import DependencyUnavailable
from token_service.domain.session import BrowserSession
from token_service.entrypoint import Adapters, create_app

pytestmark = pytest.mark.integration
PASSWORD_KEY = b"p" * 32


@dataclass
class Launcher:
    """A browser on the app, with the partner's bearer token and Redis to peek at."""

    client: AsyncTestClient[Any]
    redis: redis.Redis
    prefix: str
    bearer: str

    async def launch(self, external_user_id: str) -> str:
        """Mint and open a link; returns the launch URL."""
        minted = await self.client.post(
            "/pos/v1/launch-tokens",
            json={"external_user_id": external_user_id, "location_id": LOCATION_1},
            headers={"Authorization": f"Bearer {self.bearer}"},
        )
        assert minted.status_code == 201, minted.text
        url = str(minted.json()["launch_url"])
        opened = await self.client.get(url, follow_redirects=False)
        assert opened.status_code == 303, opened.text
        return url

    async def session(self, session_id: str) -> BrowserSession | None:
        raw = await self.redis.get(f"{self.prefix}session:{session_id}")
        return None if raw is None else msgspec.json.decode(raw, type=BrowserSession)

    def cookie(self) -> str:
        return str(self.client.cookies[SESSION_COOKIE])

    async def csrf(self) -> str:
        sale = await self.client.get("/sale")
        return sale.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]

    async def logout(self, csrf: str) -> Any:
        """The sale page's sign-out form, posted with `csrf`."""
        return await self.client.post(
            "/logout", data={"csrf_token": csrf}, follow_redirects=False
        )


@pytest.fixture
def issuer(cognito: CognitoStack) -> Iterator[CognitoSessionIssuer]:
    """A second issuer on the same pool, to try tokens from outside the app."""
    session_issuer = CognitoSessionIssuer(
        CognitoConfig(
            endpoint_url=cognito.endpoint_url,
            region=cognito.region,
            user_pool_id=cognito.pool_id,
            client_id=cognito.service_client_id,
            client_secret=cognito.service_client_secret,
            password_key=PASSWORD_KEY,
        )
    )
    yield session_issuer
    session_issuer.close()


@asynccontextmanager
async def running_launcher(
    cognito: CognitoStack,
    redis_url: str,
    prefix: str,
    *,
    app_redis_url: str | None = None,
    app_cognito_url: str | None = None,
) -> AsyncIterator[Launcher]:
    """The app on the emulator and Redis, or on the given URLs of either;
    the launcher's own Redis always goes straight to `redis_url`."""
    client_id, client_secret = cognito.partner_client("logs")
    settings = make_settings(
        redis_url=app_redis_url or redis_url,
        redis_prefix=prefix,
        partner_issuer=cognito.issuer,
        partner_jwks_url=cognito.jwks_url,
        cognito_endpoint_url=app_cognito_url or cognito.endpoint_url,
        cognito_region=cognito.region,
        cognito_user_pool_id=cognito.pool_id,
        cognito_client_id=cognito.service_client_id,
        cognito_client_secret=Secret(cognito.service_client_secret),
        cognito_password_key=Secret(base64.urlsafe_b64encode(PASSWORD_KEY).decode()),
    )
    directory = {client_id: ("active", frozenset({LOCATION_1}))}
    fakes = Adapters(
        bus=RecordingRedemptionBus(), directory=InMemoryPartnerDirectory(directory)
    )
    app = create_app(settings, overrides=fakes)
    bearer = cognito.partner_token(client_id, client_secret, "tilt/pos:launch")
    store = redis.Redis.from_url(redis_url)
    async with AsyncTestClient(app=app, base_url=TEST_BASE_URL) as client:
        yield Launcher(client, store, prefix, bearer)
    await store.aclose()


@pytest.fixture
async def launcher(
    cognito: CognitoStack, redis_url: str, unique_prefix: str
) -> AsyncIterator[Launcher]:
    async with running_launcher(cognito, redis_url, unique_prefix) as running:
        yield running


@dataclass
class Outages:
    """Proxies between the app and its Cognito and Redis, for a test to cut."""

    cognito: TcpProxy
    redis: TcpProxy


@pytest.fixture
async def cuttable(
    cognito: CognitoStack, redis_url: str, unique_prefix: str
) -> AsyncIterator[tuple[Launcher, Outages]]:
    with (
        tcp_proxy(cognito.endpoint_url) as cognito_proxy,
        tcp_proxy(redis_url) as redis_proxy,
    ):
        async with running_launcher(
            cognito,
            redis_url,
            unique_prefix,
            app_redis_url=redis_proxy.url(redis_url),
            app_cognito_url=cognito_proxy.url(cognito.endpoint_url),
        ) as running:
            yield running, Outages(cognito_proxy, redis_proxy)


def user_id() -> str:
    return f"EMP-{uuid.uuid4().hex[:10]}"


async def test_no_log_line_carries_a_token_cookie_or_secret(
    launcher: Launcher, cognito: CognitoStack
) -> None:
    """Mint, open, /sale, sign out: none of the launch's secrets reach a log event."""
    with capture_logs() as events:
        url = await launcher.launch(user_id())
        session_id = launcher.cookie()
        session = await launcher.session(session_id)
        csrf = await launcher.csrf()
        signed_out = await launcher.logout(csrf)

    assert session is not None
    assert signed_out.status_code == 303
    token = parse_qs(urlsplit(url).query)["token"][0]
    secrets = {
        "launch token": token,
        "its signature": token.rsplit(".", 1)[1],
        "session cookie": session_id,
        "CSRF token": csrf,
        "partner bearer": launcher.bearer,
        "access token": session.tokens.access_token,
        "ID token": session.tokens.id_token,
        "refresh token": session.tokens.refresh_token,
        "client secret": cognito.service_client_secret,
    }
    logged = "\n".join(repr(event) for event in events)
    assert {"launch_token_minted", "session_issued", "signed_out"} <= {
        event["event"] for event in events
    }
    leaked = [name for name, value in secrets.items() if value in logged]
    assert leaked == []


async def test_a_second_user_on_the_same_browser_replaces_the_first(
    launcher: Launcher, issuer: CognitoSessionIssuer
) -> None:
    """Shared terminal: the first session leaves Redis and its refresh token dies."""
    await launcher.launch(user_id())
    first_id = launcher.cookie()
    first = await launcher.session(first_id)
    assert first is not None

    await launcher.launch(user_id())

    assert launcher.cookie() != first_id
    assert await launcher.session(first_id) is None
    assert await launcher.session(launcher.cookie()) is not None
    with pytest.raises(DependencyUnavailable):
        await issuer.refresh(first.pos_user_id, first.tokens.refresh_token)


@pytest.mark.parametrize("form", [{}, {"csrf_token": "not-the-token"}])
async def test_logout_without_the_csrf_token_is_refused(
    launcher: Launcher, form: dict[str, str]
) -> None:
    """No or a wrong CSRF token: a 403 page, and the session lives on."""
    await launcher.launch(user_id())

    refused = await launcher.client.post("/logout", data=form, follow_redirects=False)

    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert await launcher.session(launcher.cookie()) is not None


async def test_logout_revokes_the_refresh_token_and_deletes_the_session(
    launcher: Launcher, issuer: CognitoSessionIssuer
) -> None:
    """The right CSRF token: Cognito refuses the refresh token and Redis forgets."""
    await launcher.launch(user_id())
    session_id = launcher.cookie()
    session = await launcher.session(session_id)
    assert session is not None
    refreshed = await issuer.refresh(session.pos_user_id, session.tokens.refresh_token)
    assert refreshed.access_token

    signed_out = await launcher.logout(await launcher.csrf())

    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == "/signed-out"
    assert await launcher.session(session_id) is None
    with pytest.raises(DependencyUnavailable):
        await issuer.refresh(session.pos_user_id, session.tokens.refresh_token)


def cleared(response: Any) -> bool:
    """The response tells the browser to forget the session cookie."""
    for header in response.headers.get_list("set-cookie"):
        cookie = SimpleCookie(header).get(SESSION_COOKIE)
        if cookie is not None and cookie.value == "" and cookie["max-age"] == "0":
            return True
    return False


async def test_logout_with_cognito_cut_off_still_ends_the_session(
    cuttable: tuple[Launcher, Outages],
) -> None:
    """Cognito unreachable: signed out, cookie cleared, the old cookie gets no sale."""
    launcher, outages = cuttable
    await launcher.launch(user_id())
    session_id = launcher.cookie()
    csrf = await launcher.csrf()

    with outages.cognito.down(), capture_logs() as events:
        signed_out = await launcher.logout(csrf)
        sale = await launcher.client.get(
            "/sale",
            headers={"Cookie": f"{SESSION_COOKIE}={session_id}"},
            follow_redirects=False,
        )

    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == "/signed-out"
    assert cleared(signed_out)
    assert await launcher.session(session_id) is None
    assert sale.status_code == 303
    assert sale.headers["location"] == "/signed-out"
    failures = [e for e in events if e["event"] == "global_sign_out_failed"]
    assert [(e["log_level"], e["dependency"]) for e in failures] == [
        ("warning", "cognito")
    ]


async def test_logout_with_redis_cut_off_says_so_and_clears_the_cookie(
    cuttable: tuple[Launcher, Outages],
) -> None:
    """Redis unreachable: a 503 page about signing out, and the cookie cleared."""
    launcher, outages = cuttable
    await launcher.launch(user_id())
    session_id = launcher.cookie()
    csrf = await launcher.csrf()

    with outages.redis.down(), capture_logs() as events:
        answer = await launcher.logout(csrf)

    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("text/html")
    assert "Sign-out" in answer.text
    assert "same link" not in answer.text
    assert cleared(answer)
    assert [(e["log_level"], e["dependency"]) for e in events if "error" in e] == [
        ("error", "redis")
    ]
    # Nothing could delete it: it lives on until its 8 hours are over.
    assert await launcher.session(session_id) is not None
