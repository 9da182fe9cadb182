"""Prefetch detection (C-01) and the MintLaunch use case's order of steps."""

import re
from urllib.parse import parse_qs, quote_plus, unquote_plus, urlsplit

import pytest
from structlog.testing import capture_logs
from token_fakes import (
    GRANTS,
    LOCATION_1,
    LOCATION_2,
    FixedClock,
    InMemoryLaunchLedger,
    InMemoryMintRateLimiter,
    InMemoryPartnerDirectory,
    SequentialIds,
)

from token_service.adapters.inbound.prefetch import is_prefetch
from token_service.adapters.outbound.pyjwt_launch_tokens import PyJwtLaunchTokens
from token_service.application.mint_launch import LaunchRequestFields, MintLaunch
from token_service.domain.errors import (
    LocationNotPermitted,
    ServiceUnavailable,
    ValidationFailed,
)

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
)


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-purpose": "prefetch;prerender"},
        {"purpose": "prefetch"},
        {"x-purpose": "preview"},
        {"user-agent": "TelegramBot (like TwitterBot)"},
        {"user-agent": "WhatsApp/2.23.20.0"},
        {"user-agent": "LinkedInBot/1.0"},
        {"user-agent": "Mozilla/5.0 SkypeUriPreview Preview/0.5"},
        {"user-agent": "Mozilla/5.0 (compatible; MicrosoftPreview/2.0)"},
        {"user-agent": "Mozilla/5.0 (compatible; Googlebot/2.1)"},
        {"user-agent": "Mozilla/5.0 (compatible; bingbot/2.0)"},
        {"user-agent": "Twitterbot/1.0"},
        {"user-agent": "http.rb/5.1.1 (Mastodon/4.2.1; +https://x.example/)"},
        {"user-agent": "Mozilla/5.0 (compatible; Bluesky Cardyb/1.1)"},
        {"user-agent": "Viber/20.1"},
        {"user-agent": "Line/13.1.0"},
        {"user-agent": "Zoom"},
    ],
)
def test_c01_prefetchers_and_unfurlers_are_recognized(headers: dict[str, str]) -> None:
    """Purpose headers and link-preview agents mark a request as not a person."""
    assert is_prefetch(headers)


def test_c01_an_ordinary_browser_is_a_person() -> None:
    """A desktop Chrome without purpose headers redeems."""
    assert not is_prefetch({"user-agent": CHROME, "sec-fetch-dest": "document"})


def mint_case(
    limiter: InMemoryMintRateLimiter | None = None,
) -> tuple[MintLaunch, InMemoryLaunchLedger, InMemoryPartnerDirectory]:
    ledger = InMemoryLaunchLedger()
    directory = InMemoryPartnerDirectory(dict(GRANTS))
    tokens = PyJwtLaunchTokens({"k1": b"k" * 32}, "k1", "tilt-pos", "tilt-pos-launch")
    mint = MintLaunch(
        ledger, tokens, directory, limiter or InMemoryMintRateLimiter(), FixedClock(),
        SequentialIds(),
        "https://pos.example.com/", 600,
    )  # fmt: skip
    return mint, ledger, directory


def fields(
    location: object = LOCATION_1, user: object = "EMP-1"
) -> LaunchRequestFields:
    return LaunchRequestFields(user, None, location, None)


async def test_mint_stores_the_record_and_links_to_the_public_url() -> None:
    """The link carries only the token; the details sit in the ledger."""
    mint, ledger, _ = mint_case()

    minted = await mint.execute("p1", fields())

    url = urlsplit(minted.launch_url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://pos.example.com/launch"
    assert list(parse_qs(url.query)) == ["token"]
    assert "EMP-1" not in minted.launch_url
    assert ledger.records["jti-000001"].details.external_user_id == "EMP-1"


async def test_invalid_or_foreign_requests_store_nothing() -> None:
    """Validation and the grant check come before any ledger write."""
    mint, ledger, _ = mint_case()

    with pytest.raises(ValidationFailed):
        await mint.execute("p1", fields(user=" EMP-1"))
    with pytest.raises(LocationNotPermitted):
        await mint.execute("p1", fields(location=LOCATION_2))

    assert ledger.calls == []


async def test_dependencies_down_are_service_unavailable() -> None:
    """A dead directory or ledger: ServiceUnavailable, logged with the cause."""
    mint, ledger, directory = mint_case()
    directory.failing = True
    with capture_logs() as logs, pytest.raises(ServiceUnavailable):
        await mint.execute("p1", fields())

    directory.failing, ledger.failing = False, True
    with capture_logs() as more_logs, pytest.raises(ServiceUnavailable):
        await mint.execute("p1", fields())

    failures = [e for e in logs + more_logs if e["event"] == "launch_mint_failed"]
    assert len(failures) == 2
    assert all(e["log_level"] == "error" and e["dependency"] for e in failures)


async def test_c08_two_thousand_tokens_are_url_safe_and_survive_form_encoding() -> None:
    """Every token is base64url segments; decoding and re-encoding changes nothing."""
    mint, _, _ = mint_case()
    pattern = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")

    for _ in range(2000):
        url = (await mint.execute("p1", fields())).launch_url
        token = parse_qs(urlsplit(url).query)["token"][0]
        assert pattern.fullmatch(token)
        assert unquote_plus(quote_plus(token)) == token
        assert f"token={token}" in url


async def test_refused_requests_spend_none_of_the_rate_budget() -> None:
    """With a burst of one, invalid and foreign requests leave it to a valid one."""
    mint, ledger, _ = mint_case(InMemoryMintRateLimiter(rate_per_s=0.01, burst=1))
    with pytest.raises(ValidationFailed):
        await mint.execute("p1", fields(user=" EMP-1"))
    with pytest.raises(LocationNotPermitted):
        await mint.execute("p1", fields(location=LOCATION_2))

    await mint.execute("p1", fields())

    assert ledger.calls == ["store"]
