"""The HTTP surface with every outbound port faked (C-01, C-02, C-13, C-14, C-15)."""

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import structlog
from litestar.testing import AsyncTestClient
from structlog.testing import capture_logs
from token_fakes import LOCATION_1, LOCATION_2, TEST_BASE_URL, FakeWorld, make_settings

from token_service.entrypoint import create_app

P1 = {"Authorization": "Bearer p1"}
BODY = {"external_user_id": "EMP-1", "display_name": "Ann", "location_id": LOCATION_1}


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld()


@pytest.fixture
async def client(world: FakeWorld) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(make_settings(), overrides=world.adapters())
    async with AsyncTestClient(app=app, base_url=TEST_BASE_URL) as test_client:
        yield test_client


async def mint(client: AsyncTestClient[Any], **body: object) -> str:
    response = await client.post(
        "/pos/v1/launch-tokens", json={**BODY, **body}, headers=P1
    )
    assert response.status_code == 201, response.text
    return str(response.json()["launch_url"])


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


async def test_mint_answers_201_with_url_and_expiry_600_s_later(
    client: AsyncTestClient[Any], world: FakeWorld
) -> None:
    """The link points at /launch on the public URL; expires_at is exact, UTC, Z."""
    response = await client.post("/pos/v1/launch-tokens", json=BODY, headers=P1)

    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["launch_url"].startswith(f"{TEST_BASE_URL}/launch?token=")
    assert body["expires_at"] == "2026-05-12T10:40:00Z"


async def test_a_refused_mint_is_logged_with_its_code_and_partner(
    client: AsyncTestClient[Any],
) -> None:
    """An operator asked why a partner cannot mint finds the answer in the log."""
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        response = await client.post(
            "/pos/v1/launch-tokens",
            json={**BODY, "location_id": LOCATION_2},
            headers=P1,
        )

    refused = [entry for entry in logs if entry["event"] == "launch_mint_refused"]
    assert response.status_code == 422
    assert [(e["code"], e["partner_id"]) for e in refused] == [
        ("location_not_permitted", "p1")
    ]


async def test_missing_or_bad_bearer_is_401_with_www_authenticate(
    client: AsyncTestClient[Any],
) -> None:
    """No token or a bad one: 401 invalid_token, as a problem document."""
    for headers in ({}, {"Authorization": "Bearer bad"}, {"Authorization": "Basic x"}):
        response = await client.post(
            "/pos/v1/launch-tokens", json=BODY, headers=headers
        )
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_token_without_scope_is_403_insufficient_scope(
    client: AsyncTestClient[Any],
) -> None:
    """A valid token lacking tilt/pos:launch gets 403."""
    headers = {"Authorization": "Bearer noscope:p1"}

    response = await client.post("/pos/v1/launch-tokens", json=BODY, headers=headers)

    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"[]", "application/json", 422),
        (b'{"external_user_id": "a", "extra": 1}', "application/json", 422),
        (b"external_user_id=a", "application/x-www-form-urlencoded", 415),
        (b'{"a": "' + b"x" * 17000 + b'"}', "application/json", 413),
        (b"\xff\xfe", "application/json", 400),
    ],
)
async def test_bad_bodies_get_problems_never_500(
    client: AsyncTestClient[Any], content: bytes, content_type: str, status: int
) -> None:
    """Malformed, wrong-shaped, wrong-type and oversized bodies get 4xx problems."""
    headers = {**P1, "Content-Type": content_type}

    with capture_logs() as logs:
        response = await client.post(
            "/pos/v1/launch-tokens", content=content, headers=headers
        )

    assert response.status_code == status
    assert response.json()["status"] == status
    assert all(entry["event"] != "request_failed" for entry in logs)


@pytest.mark.parametrize("role", ["admin", "LOCATION_SUPERVISOR", ""])
async def test_c13_bad_role_is_422_naming_the_allowed_values(
    client: AsyncTestClient[Any], role: str
) -> None:
    """The 422 problem lists the role_slug field with the allowed values."""
    response = await client.post(
        "/pos/v1/launch-tokens", json={**BODY, "role_slug": role}, headers=P1
    )

    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "validation_failed"
    [error] = problem["errors"]
    assert error["field"] == "role_slug"
    assert "location_supervisor" in error["message"]


async def test_c14_unknown_and_foreign_locations_get_the_same_answer(
    client: AsyncTestClient[Any],
) -> None:
    """A random UUID and another partner's location are both location_not_permitted."""
    foreign = await client.post(
        "/pos/v1/launch-tokens", json={**BODY, "location_id": LOCATION_2}, headers=P1
    )
    unknown = await client.post(
        "/pos/v1/launch-tokens",
        json={**BODY, "location_id": "99999999-9999-4999-8999-999999999999"},
        headers=P1,
    )

    assert foreign.status_code == unknown.status_code == 422
    assert foreign.json()["code"] == unknown.json()["code"] == "location_not_permitted"
    assert foreign.json()["detail"] == unknown.json()["detail"]


async def test_suspended_partner_cannot_mint(client: AsyncTestClient[Any]) -> None:
    """A suspended partner gets 403 partner_suspended."""
    response = await client.post(
        "/pos/v1/launch-tokens", json=BODY, headers={"Authorization": "Bearer p3"}
    )

    assert response.status_code == 403
    assert response.json()["code"] == "partner_suspended"


async def test_directory_down_is_503_with_retry_after(
    client: AsyncTestClient[Any], world: FakeWorld
) -> None:
    """No way to check the grant: 503 service_unavailable with Retry-After."""
    world.directory.failing = True

    response = await client.post("/pos/v1/launch-tokens", json=BODY, headers=P1)

    assert response.status_code == 503
    assert "retry-after" in response.headers


async def test_open_redirects_to_sale_with_a_session_cookie(
    client: AsyncTestClient[Any],
) -> None:
    """A fresh link: 303 to /sale, an HttpOnly Lax cookie for 8 hours."""
    url = await mint(client)

    response = await client.get(url, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/sale"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert "Max-Age=28800" in cookie
    assert "Path=/" in cookie


async def test_used_link_answers_410_page_with_code(
    client: AsyncTestClient[Any],
) -> None:
    """A second browser opening a used link gets the used page."""
    url = await mint(client)
    await client.get(url, follow_redirects=False)
    client.cookies.clear()

    response = await client.get(url, follow_redirects=False)

    assert response.status_code == 410
    assert "launch_token_used" in response.text
    assert "already used" in response.text
    assert "set-cookie" not in response.headers


async def test_used_page_never_leads_into_another_launchs_session(
    client: AsyncTestClient[Any],
) -> None:
    """A shared terminal: Carol is signed in, Bob opens his link that a mail
    scanner used up; the page must not send Bob into Carol's session."""
    carol = await client.get(await mint(client), follow_redirects=False)
    bobs_link = await mint(client, external_user_id="BOB-1")
    scanner_cookies = dict(client.cookies)
    client.cookies.clear()
    await client.get(bobs_link, follow_redirects=False)
    client.cookies.clear()
    client.cookies.update(scanner_cookies)

    bob = await client.get(bobs_link, follow_redirects=False)

    assert carol.status_code == 303
    assert bob.status_code == 410
    assert 'href="/sale"' not in bob.text


async def test_used_page_offers_the_sale_page_to_a_double_click(
    client: AsyncTestClient[Any],
) -> None:
    """A double click's second answer is 410, but links to /sale, where the
    browser that got the first answer's cookie is signed in (ADR 2)."""
    url = await mint(client)
    first = await client.get(url, follow_redirects=False)
    cookie = first.cookies
    client.cookies.clear()

    second = await client.get(url, follow_redirects=False)
    client.cookies.update(cookie)
    sale = await client.get("/sale", follow_redirects=False)

    assert second.status_code == 410
    assert 'href="/sale"' in second.text
    assert sale.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Purpose": "prefetch"},
        {"Purpose": "prefetch"},
        {"X-Purpose": "preview"},
        {"User-Agent": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"},
        {"User-Agent": "facebookexternalhit/1.1"},
        {"User-Agent": "Mozilla/5.0 (compatible; Discordbot/2.0)"},
    ],
)
async def test_c01_previews_get_a_continue_page_and_redeem_nothing(
    client: AsyncTestClient[Any], world: FakeWorld, headers: dict[str, str]
) -> None:
    """Prefetchers and unfurlers get a form; the user's open later succeeds."""
    url = await mint(client)

    preview = await client.get(url, headers=headers, follow_redirects=False)

    assert preview.status_code == 200
    assert "Continue to Tilt POS" in preview.text
    assert '<form method="post">' in preview.text
    assert token_of(url) not in preview.text
    assert world.bus.sent == []
    opened = await client.get(url, follow_redirects=False)
    assert opened.status_code == 303


async def test_c01_continue_button_post_redeems(client: AsyncTestClient[Any]) -> None:
    """The continue form posts back to the launch URL itself, which redeems."""
    url = await mint(client)

    response = await client.post(url, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/sale"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "cross-site", "Origin": "null"},
        {"Sec-Fetch-Site": "same-site", "Origin": "https://other.example.com"},
    ],
)
async def test_continue_post_from_another_site_is_refused(
    client: AsyncTestClient[Any], world: FakeWorld, headers: dict[str, str]
) -> None:
    """A form post from another site, sibling subdomains included, cannot sign a
    browser in (login CSRF)."""
    url = await mint(client)

    response = await client.post(url, headers=headers, follow_redirects=False)

    assert response.status_code == 400
    assert world.bus.sent == []


async def test_our_own_continue_form_is_accepted_under_no_referrer(
    client: AsyncTestClient[Any],
) -> None:
    """Chromium posts our form with `Origin: null` and `Sec-Fetch-Site:
    same-origin` under our referrer policy: that is us."""
    url = await mint(client)

    response = await client.post(
        url,
        headers={"Sec-Fetch-Site": "same-origin", "Origin": "null"},
        follow_redirects=False,
    )

    assert response.status_code == 303


async def test_c02_head_and_options_never_redeem(
    client: AsyncTestClient[Any], world: FakeWorld
) -> None:
    """HEAD and OPTIONS are answered without touching the ledger; GET then works."""
    url = await mint(client)
    calls = list(world.ledger.calls)

    head = await client.head(url)
    options = await client.options(url)

    assert head.status_code < 300
    assert options.status_code < 300
    assert world.ledger.calls == calls
    assert (await client.get(url, follow_redirects=False)).status_code == 303


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "eyJhbGciOiJub25lIn0.e30."])
async def test_invalid_tokens_get_a_400_page(
    client: AsyncTestClient[Any], token: str
) -> None:
    """Garbage is launch_token_invalid, never a 500."""
    response = await client.get("/launch", params={"token": token})

    assert response.status_code == 400
    assert "launch_token_invalid" in response.text


async def test_c15_pages_carry_security_headers_and_never_the_token(
    client: AsyncTestClient[Any],
) -> None:
    """Result pages: no-store, no-referrer, CSP; the token in no body or redirect."""
    url = await mint(client)
    token = token_of(url)

    with capture_logs() as logs:
        first = await client.get(url, follow_redirects=False)
        client.cookies.clear()
        second = await client.get(url, follow_redirects=False)

    for response in (first, second):
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert token not in response.text
        assert token not in response.headers.get("location", "")
    assert token not in repr(logs)
    assert '<html lang="en">' in second.text


async def test_c17_emoji_name_round_trips_to_the_sale_page(
    client: AsyncTestClient[Any],
) -> None:
    """A 100-character name with emoji shows exactly on /sale."""
    name = "😀" * 50 + "é" * 50
    url = await mint(client, display_name=name)
    await client.get(url, follow_redirects=False)

    page = await client.get("/sale")

    assert page.status_code == 200
    assert name in page.text
    assert "pos.order.read" in page.text


async def test_a_suspension_ends_an_open_session_at_its_next_page(
    client: AsyncTestClient[Any], world: FakeWorld
) -> None:
    """403 saying access ended, the cookie cleared, and no way back in with it."""
    await client.get(await mint(client), follow_redirects=False)
    cookie = dict(client.cookies)
    world.directory.grants["p1"] = ("suspended", frozenset({LOCATION_1}))

    ended = await client.get("/sale", follow_redirects=False)
    client.cookies.update(cookie)
    again = await client.get("/sale", follow_redirects=False)

    assert ended.status_code == 403
    assert "access_withdrawn" in ended.text
    assert "Max-Age=0" in ended.headers["set-cookie"]
    assert again.status_code == 303
    assert again.headers["location"] == "/signed-out"


async def test_sale_with_the_session_store_down_speaks_of_the_session(
    client: AsyncTestClient[Any], world: FakeWorld
) -> None:
    """503 that keeps the cookie and asks for a reload, never the link text:
    there is no link on this page, and the outage is logged with its cause."""
    await client.get(await mint(client), follow_redirects=False)
    assert world.sessions is not None
    world.sessions.failing = True

    with capture_logs() as logs:
        page = await client.get("/sale", follow_redirects=False)

    assert page.status_code == 503
    assert page.headers["retry-after"]
    assert "same link" not in page.text
    assert "Reload this page" in page.text
    assert "set-cookie" not in page.headers
    failed = [entry for entry in logs if entry["event"] == "sale_view_failed"]
    assert [entry["dependency"] for entry in failed] == ["redis"]


@pytest.mark.parametrize(
    "path", ["/signed-out", "/static/pos.css", "/metrics", "/launch?token=x", "/nope"]
)
async def test_every_text_answer_names_one_charset(
    client: AsyncTestClient[Any], path: str
) -> None:
    """Litestar adds a charset to text/* types; a second one confuses clients."""
    response = await client.get(path, follow_redirects=False)

    content_type = response.headers["content-type"]
    assert content_type.count("charset=") <= 1, content_type


async def test_sale_without_session_redirects_to_signed_out(
    client: AsyncTestClient[Any],
) -> None:
    """No cookie: 303 to the signed-out page."""
    response = await client.get("/sale", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/signed-out"


async def test_logout_needs_the_csrf_token_of_the_session(
    client: AsyncTestClient[Any], world: FakeWorld
) -> None:
    """A wrong CSRF token is refused; the right one signs out and clears the cookie."""
    await client.get(await mint(client), follow_redirects=False)
    page = (await client.get("/sale")).text
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]

    refused = await client.post("/logout", data={"csrf_token": "nope"})
    accepted = await client.post(
        "/logout", data={"csrf_token": csrf}, follow_redirects=False
    )

    assert refused.status_code == 403
    assert accepted.status_code == 303
    assert accepted.headers["location"] == "/signed-out"
    assert world.issuer.signed_out == ["user-p1-EMP-1"]
    assert (await client.get("/sale", follow_redirects=False)).status_code == 303


async def test_logout_from_another_origin_is_refused(
    client: AsyncTestClient[Any], world: FakeWorld
) -> None:
    """A cross-site Origin on the sign-out form is refused."""
    await client.get(await mint(client), follow_redirects=False)

    response = await client.post(
        "/logout", data={"csrf_token": "x"}, headers={"Origin": "https://evil.example"}
    )

    assert response.status_code == 403
    assert world.issuer.signed_out == []


async def test_health_and_readiness(client: AsyncTestClient[Any]) -> None:
    """/healthz is always 200; /readyz is 200 when every probe passes."""
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/readyz")).status_code == 200


async def test_stylesheet_is_served(client: AsyncTestClient[Any]) -> None:
    """The pages' one stylesheet is at /static/pos.css."""
    response = await client.get("/static/pos.css")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")


async def test_every_request_logs_one_line_without_the_query(
    client: AsyncTestClient[Any],
) -> None:
    """request_handled carries method, path and status, never the token."""
    url = await mint(client)

    with capture_logs() as logs:
        await client.get(url, follow_redirects=False)

    [line] = [entry for entry in logs if entry["event"] == "request_handled"]
    assert line["path"] == "/launch"
    assert line["status"] == 303
    assert token_of(url) not in repr(logs)


async def test_form_with_too_many_fields_is_not_a_500(
    client: AsyncTestClient[Any],
) -> None:
    """A flood of form fields is refused like a missing token."""
    data = {f"f{n}": "x" for n in range(50)}

    response = await client.post("/launch", data=data)

    assert response.status_code == 400


async def test_unreachable_partner_key_set_is_503_never_500(
    client: AsyncTestClient[Any],
) -> None:
    """A JWKS outage while authenticating a partner says retry later, not 500."""
    response = await client.post(
        "/pos/v1/launch-tokens",
        json=BODY,
        headers={"Authorization": "Bearer jwks-down"},
    )

    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"
    assert response.headers["retry-after"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/nope", 404), ("GET", "/logout", 405), ("POST", "/sale", 405)],
)
async def test_framework_errors_carry_the_same_headers_as_our_pages(
    client: AsyncTestClient[Any], method: str, path: str, status: int
) -> None:
    """404 and 405 pages get the security headers, one charset, and `Allow`."""
    response = await client.request(method, path, follow_redirects=False)

    assert response.status_code == status
    assert response.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-type"].count("charset") <= 1
    if status == 405:
        assert response.headers["allow"]
