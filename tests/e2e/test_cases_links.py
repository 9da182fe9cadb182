"""Reproduction cases about opening links: C-01 to C-03, C-06 to C-08, C-15, C-18."""

import base64
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote_plus, urlsplit

import httpx
import jwt
import pytest

from testsupport.launches import PartnerClient, browser, user_and_membership_rows
from testsupport.stack import free_port
from tilt_devstack.stack import RunningStack

pytestmark = pytest.mark.e2e

TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")


def path_of(launch_url: str) -> str:
    """The launch URL without scheme and host, to open it on another replica."""
    return urlsplit(launch_url)._replace(scheme="", netloc="").geturl()


def token_of(launch_url: str) -> str:
    return parse_qs(urlsplit(launch_url).query)["token"][0]


def assert_nothing_provisioned(stack: RunningStack, external_user_id: str) -> None:
    assert user_and_membership_rows(stack, stack.demo.client_id, external_user_id) == (
        0,
        0,
    )


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Purpose": "prefetch"},
        {"Purpose": "prefetch"},
        {"User-Agent": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"},
        {"User-Agent": "facebookexternalhit/1.1"},
    ],
)
def test_c01_link_preview_bots_redeem_nothing(
    stack: RunningStack, headers: dict[str, str]
) -> None:
    """A prefetch or unfurler gets a continue page; the user's open still succeeds."""
    partner = PartnerClient(stack, stack.demo)
    body = partner.body()
    launch_url = partner.launch_url(**body)

    with browser(stack) as bot:
        preview = bot.get(launch_url, headers=headers)
    assert preview.status_code == 200
    assert '<form method="post"' in preview.text.lower().replace("'", '"')
    assert "continue" in preview.text.lower()
    assert_nothing_provisioned(stack, body["external_user_id"])

    with browser(stack) as user:
        assert user.get(launch_url).status_code == 303


def test_c01_the_continue_button_redeems(stack: RunningStack) -> None:
    """The continue page's form POST is a real redemption."""
    partner = PartnerClient(stack, stack.demo)
    launch_url = partner.launch_url()

    with browser(stack) as user:
        user.get(launch_url, headers={"Sec-Purpose": "prefetch"})
        posted = user.post(launch_url, data={})

    assert posted.status_code == 303
    assert posted.headers["location"].endswith("/sale")


def test_c02_head_and_options_never_redeem(stack: RunningStack) -> None:
    """HEAD and OPTIONS provision nothing; the GET after them succeeds."""
    partner = PartnerClient(stack, stack.demo)
    body = partner.body()
    launch_url = partner.launch_url(**body)

    with browser(stack) as client:
        head = client.head(launch_url)
        options = client.options(launch_url)
        assert head.status_code < 500
        assert options.status_code < 500
        assert "set-cookie" not in head.headers
        assert_nothing_provisioned(stack, body["external_user_id"])

        assert client.get(launch_url).status_code == 303


def test_c03_reopening_in_the_same_browser_keeps_the_session(
    stack: RunningStack,
) -> None:
    """A reload or double click lands on /sale with the same session, no error."""
    partner = PartnerClient(stack, stack.demo)
    body = partner.body(display_name="Reload Rita")
    launch_url = partner.launch_url(**body)

    with browser(stack) as user:
        first = user.get(launch_url)
        cookie = dict(user.cookies)
        second = user.get(launch_url)
        sale = user.get("/sale")

    assert first.status_code == 303
    assert second.status_code == 303
    assert second.headers["location"].endswith("/sale")
    assert dict(user.cookies) == cookie
    assert "Reload Rita" in sale.text
    assert user_and_membership_rows(
        stack, stack.demo.client_id, body["external_user_id"]
    ) == (1, 1)


def test_c06_expiry_is_exact_utc_whatever_the_servers_tz(stack: RunningStack) -> None:
    """expires_at is 600 s after minting in UTC on a server at UTC+14 and at UTC-11."""
    east = stack.start_token_service(
        "token-east", free_port(), {"TZ": "Pacific/Kiritimati"}
    )
    west = stack.start_token_service(
        "token-west", free_port(), {"TZ": "Pacific/Pago_Pago"}
    )
    partner = PartnerClient(stack, stack.demo)

    for base_url in (east, west):
        before = int(time.time())
        response = httpx.post(
            f"{base_url}/pos/v1/launch-tokens",
            headers={"Authorization": f"Bearer {partner.token}"},
            json=partner.body(),
            timeout=15,
        )
        after = int(time.time())
        assert response.status_code == 201, response.text
        expires_at = response.json()["expires_at"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", expires_at)
        expires = int(datetime.fromisoformat(expires_at).astimezone(UTC).timestamp())
        assert before + 600 <= expires <= after + 600

    launch_url = httpx.post(
        f"{east}/pos/v1/launch-tokens",
        headers={"Authorization": f"Bearer {partner.token}"},
        json=partner.body(),
        timeout=15,
    ).json()["launch_url"]
    with httpx.Client(base_url=west, timeout=20) as user:
        assert (
            user.get(
                urlsplit(launch_url)._replace(scheme="", netloc="").geturl()
            ).status_code
            == 303
        )


def test_c06_links_work_until_expiry_and_not_after_across_timezones(
    stack: RunningStack,
) -> None:
    """With the lifetime scaled to 10 s: minted at UTC+14, a link opens at UTC-11
    well before expiry and is gone, as expired, 0.5 s after it (10 min 5 s)."""
    ttl = {"TOKEN_SERVICE_LAUNCH_TTL_S": "10"}
    east = stack.start_token_service(
        "token-east-short", free_port(), {"TZ": "Pacific/Kiritimati", **ttl}
    )
    west = stack.start_token_service(
        "token-west-short", free_port(), {"TZ": "Pacific/Pago_Pago", **ttl}
    )
    partner = PartnerClient(stack, stack.demo)

    def mint() -> tuple[str, int]:
        response = httpx.post(
            f"{east}/pos/v1/launch-tokens",
            headers={"Authorization": f"Bearer {partner.token}"},
            json=partner.body(),
            timeout=15,
        )
        assert response.status_code == 201
        minted = response.json()
        expires = datetime.fromisoformat(minted["expires_at"]).timestamp()
        return path_of(minted["launch_url"]), int(expires)

    (early, _), (late, late_expires) = mint(), mint()

    time.sleep(5)
    with httpx.Client(base_url=west, timeout=20) as user:
        assert user.get(early).status_code == 303
    time.sleep(max(0.0, late_expires + 0.5 - time.time()))
    with httpx.Client(base_url=west, timeout=20) as other:
        gone = other.get(late)
    assert gone.status_code == 410
    assert "launch_token_expired" in gone.text


def _forged(genuine: str, header: dict[str, str], signature: str) -> str:
    _, payload, _ = genuine.split(".")
    encoded = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=")
    return f"{encoded.decode()}.{payload}.{signature}"


@pytest.mark.filterwarnings(
    # The forgeries are signed with guessable short keys on purpose.
    "ignore::jwt.warnings.InsecureKeyLengthWarning"
)
def test_c07_forged_tokens_are_rejected_and_burn_nothing(stack: RunningStack) -> None:
    """alg none and HS256 under a guessed key get 400; the real link still works."""
    partner = PartnerClient(stack, stack.demo)
    launch_url = partner.launch_url()
    genuine = token_of(launch_url)
    kid = jwt.get_unverified_header(genuine)["kid"]
    claims = jwt.decode(genuine, options={"verify_signature": False})
    forgeries = [
        _forged(genuine, {"alg": "none", "typ": "JWT", "kid": kid}, ""),
        _forged(genuine, {"alg": "none", "typ": "JWT"}, ""),
        jwt.encode(claims, "secret", algorithm="HS256", headers={"kid": kid}),
        jwt.encode(claims, "x" * 32, algorithm="HS256", headers={"kid": kid}),
    ]

    with browser(stack) as attacker:
        for forged in forgeries:
            response = attacker.get("/launch", params={"token": forged})
            assert response.status_code == 400, forged
            assert "launch_token_invalid" in response.text
            assert forged not in response.text

    with browser(stack) as user:
        assert user.get(launch_url).status_code == 303


def test_c08_two_thousand_tokens_are_url_safe_and_redeem_once(
    stack: RunningStack,
) -> None:
    """Every token is base64url segments; a sample survives form re-encoding."""
    partner = PartnerClient(stack, stack.demo)
    body = partner.body()

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda _: partner.mint(body), range(2000)))

    assert {response.status_code for response in responses} == {201}
    tokens = [token_of(response.json()["launch_url"]) for response in responses]
    assert all(TOKEN_SHAPE.fullmatch(token) for token in tokens)
    assert len(set(tokens)) == 2000
    for token in tokens[::400]:
        survived = unquote_plus(quote(unquote_plus(token), safe=""))
        with browser(stack) as user:
            assert user.get("/launch", params={"token": survived}).status_code == 303
        with browser(stack) as other:
            assert other.get("/launch", params={"token": survived}).status_code == 410


def test_c15_pages_leak_no_token_and_are_never_cached(stack: RunningStack) -> None:
    """Landing and error pages: no-referrer, no-store; the token in no page, no
    redirect target and no log line of either service."""
    partner = PartnerClient(stack, stack.demo)
    launch_url = partner.launch_url()
    token = token_of(launch_url)
    signature = token.rsplit(".", 1)[-1]

    with browser(stack) as user:
        responses = [
            user.get(launch_url, headers={"Sec-Purpose": "prefetch"}),
            user.get(launch_url),
            user.get("/sale"),
        ]
    with browser(stack) as other:
        responses.append(other.get(launch_url))
        responses.append(other.get("/launch", params={"token": token[:-3] + "abc"}))
        responses.append(other.get("/launch", params={"token": "not-a-token"}))

    for response in responses:
        assert response.headers.get("referrer-policy") == "no-referrer"
        assert "no-store" in response.headers.get("cache-control", "")
        assert signature not in response.text
        assert signature not in response.headers.get("location", "")
    assert stack.config.log_dir is not None
    time.sleep(0.5)  # let both services flush their last lines
    for log in Path(stack.config.log_dir).glob("*.log"):
        assert signature not in log.read_text(errors="replace"), log.name


@pytest.mark.parametrize("share", [0.0, 0.9])
def test_c18_a_used_link_from_another_browser_is_gone_not_an_error(
    stack: RunningStack, share: float
) -> None:
    """1 s after it was used, and at 90 % of its lifetime (the 9 minutes of a
    10-minute link, on a 20 s link, reopened 18 s after minting), another
    browser gets exactly 410 saying the link was used and what to do."""
    base_url = stack.config.token_url
    lifetime_s = 600.0
    if share:
        lifetime_s = 20.0
        base_url = stack.start_token_service(
            "token-ttl20", free_port(), {"TOKEN_SERVICE_LAUNCH_TTL_S": "20"}
        )
    partner = PartnerClient(stack, stack.demo)
    minted_at = time.monotonic()
    minted = httpx.post(
        f"{base_url}/pos/v1/launch-tokens",
        headers={"Authorization": f"Bearer {partner.token}"},
        json=partner.body(),
        timeout=15,
    )
    path = path_of(minted.json()["launch_url"])

    with httpx.Client(base_url=base_url, timeout=20) as user:
        assert user.get(path).status_code == 303
    # Measured from the mint, so a slow first open cannot push the second
    # past the expiry: 2 s of margin on a loaded machine.
    reopen_at = minted_at + max(1.0, share * lifetime_s)
    time.sleep(max(1.0, reopen_at - time.monotonic()))
    with httpx.Client(base_url=base_url, timeout=20) as other:
        again = other.get(path)

    assert again.status_code == 410
    assert "launch_token_used" in again.text
    assert "already" in again.text.lower()
    assert "new link" in again.text.lower()
