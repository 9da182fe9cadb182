"""Link status, revocation and safe retries of the mint call (issue #7), over HTTP."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from testsupport.launches import PartnerClient, browser
from tilt_devstack.stack import RunningStack

pytestmark = pytest.mark.e2e

LINKS = "/pos/v1/launch-tokens"
REVOCATIONS = f"{LINKS}/revocations"
RACES = 12
STAGGER_S = 0.03


def mint_link(partner: PartnerClient, **fields: Any) -> dict[str, Any]:
    response = partner.mint(**fields)
    assert response.status_code == 201, response.text
    return dict(response.json())


def status_of(partner: PartnerClient, launch_id: str) -> dict[str, Any]:
    response = partner.call("GET", f"{LINKS}/{launch_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def open_link(stack: RunningStack, launch_url: str) -> httpx.Response:
    with browser(stack) as user:
        return user.get(launch_url)


def test_the_status_follows_a_link_from_pending_to_redeemed(
    stack: RunningStack,
) -> None:
    """A new link is pending with its details; once opened, redeemed with a time."""
    partner = PartnerClient(stack, stack.demo)
    body = partner.body()
    minted = mint_link(partner, **body)

    pending = status_of(partner, minted["id"])
    assert open_link(stack, minted["launch_url"]).status_code == 303
    redeemed = status_of(partner, minted["id"])
    late_revoke = partner.call("DELETE", f"{LINKS}/{minted['id']}")

    assert pending == {
        "id": minted["id"],
        "status": "pending",
        "created_at": pending["created_at"],
        "expires_at": minted["expires_at"],
        "redeemed_at": None,
        "location_id": body["location_id"],
        "external_user_id": body["external_user_id"],
    }
    assert pending["created_at"] <= minted["expires_at"]
    assert redeemed["status"] == "redeemed"
    assert redeemed["created_at"] <= redeemed["redeemed_at"] <= minted["expires_at"]
    assert late_revoke.status_code == 409
    assert late_revoke.json()["code"] == "launch_token_not_pending"


def test_only_the_minting_partner_sees_or_revokes_a_link(stack: RunningStack) -> None:
    """Another partner's link and an unknown id both answer 404, and stay pending."""
    owner = PartnerClient(stack, stack.demo)
    other = PartnerClient(stack, stack.add_partner("links-other"))
    minted = mint_link(owner)

    answers = [
        other.call("GET", f"{LINKS}/{minted['id']}"),
        other.call("DELETE", f"{LINKS}/{minted['id']}"),
        owner.call("GET", f"{LINKS}/{uuid.uuid4().hex}"),
        owner.call("DELETE", f"{LINKS}/{uuid.uuid4().hex}"),
    ]

    assert [a.status_code for a in answers] == [404, 404, 404, 404]
    assert {a.json()["code"] for a in answers} == {"launch_token_not_found"}
    assert status_of(owner, minted["id"])["status"] == "pending"


def test_a_revoked_link_opens_on_a_410_page(stack: RunningStack) -> None:
    """DELETE answers 204; the link then opens on launch_token_revoked, for good."""
    partner = PartnerClient(stack, stack.demo)
    minted = mint_link(partner)

    revoked = partner.call("DELETE", f"{LINKS}/{minted['id']}")
    opened = open_link(stack, minted["launch_url"])
    again = partner.call("DELETE", f"{LINKS}/{minted['id']}")

    assert revoked.status_code == 204
    assert opened.status_code == 410
    assert "launch_token_revoked" in opened.text
    assert status_of(partner, minted["id"])["status"] == "revoked"
    assert again.status_code == 409
    assert "already revoked" in again.json()["detail"]


def test_a_link_refused_by_provisioning_says_refused_not_redeemed(
    stack: RunningStack,
) -> None:
    """A link opened after its grant was revoked shows the 403 page, and again
    when reopened; its status is `refused` with no redeemed_at, never
    `redeemed`: nobody got in."""
    granted = stack.add_partner("refused-links")
    partner = PartnerClient(stack, granted)
    minted = mint_link(partner)
    stack.provisioning_cli(
        "revoke",
        "--partner-id",
        granted.client_id,
        "--location-id",
        granted.location_id,
    )

    opened = open_link(stack, minted["launch_url"])
    reopened = open_link(stack, minted["launch_url"])
    status = status_of(partner, minted["id"])

    assert opened.status_code == 403
    assert "location_not_permitted" in opened.text
    assert reopened.status_code == 403
    assert "launch_token_refused" in reopened.text
    assert (status["status"], status["redeemed_at"]) == ("refused", None)


def test_bulk_revocation_revokes_the_matching_pending_links(
    stack: RunningStack,
) -> None:
    """By user, then by location: each answer counts only links it revoked."""
    partner = PartnerClient(stack, stack.add_partner("links-bulk"))
    user, other = f"emp-{uuid.uuid4().hex[:8]}", f"emp-{uuid.uuid4().hex[:8]}"
    users_links = [mint_link(partner, external_user_id=user) for _ in range(3)]
    others_link = mint_link(partner, external_user_id=other)
    assert open_link(stack, users_links[0]["launch_url"]).status_code == 303

    by_user = partner.call("POST", REVOCATIONS, json={"external_user_id": user})
    by_location = partner.call(
        "POST", REVOCATIONS, json={"location_id": partner.partner.location_id}
    )
    no_filter = partner.call("POST", REVOCATIONS, json={})

    assert by_user.status_code == 200
    assert by_user.json() == {"revoked": 2}
    assert by_location.json() == {"revoked": 1}
    assert status_of(partner, others_link["id"])["status"] == "revoked"
    assert status_of(partner, users_links[0]["id"])["status"] == "redeemed"
    assert no_filter.status_code == 422


def test_a_retry_with_the_same_key_replays_the_same_link(stack: RunningStack) -> None:
    """Same key and body: the same link again, marked; another body: 422."""
    partner = PartnerClient(stack, stack.demo)
    body = partner.body()
    key = {"Idempotency-Key": f"order-{uuid.uuid4()}"}

    first = partner.call("POST", LINKS, json=body, headers=key)
    retry = partner.call("POST", LINKS, json=body, headers=key)
    changed = partner.call(
        "POST", LINKS, json={**body, "display_name": "Someone Else"}, headers=key
    )
    unkeyed = partner.call("POST", LINKS, json=body)

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert "Idempotent-Replayed" not in first.headers
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert changed.status_code == 422
    assert changed.json()["code"] == "idempotency_key_reused"
    assert unkeyed.json()["id"] != first.json()["id"]


@pytest.mark.parametrize("key", ["", "with space", "é", "k" * 256])
def test_an_idempotency_key_outside_visible_ascii_is_refused(
    stack: RunningStack, key: str
) -> None:
    """Empty, spaced, non-ASCII or over 255 characters: 422 naming the header."""
    partner = PartnerClient(stack, stack.demo)

    answer = partner.call(
        "POST",
        LINKS,
        json=partner.body(),
        headers={"Idempotency-Key": key.encode()},
    )

    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "Idempotency-Key"


def test_concurrent_mints_with_one_key_mint_one_link(stack: RunningStack) -> None:
    """Twelve simultaneous requests with one key: one mint, eleven replays of it."""
    partner = PartnerClient(stack, stack.demo)
    body = partner.body()
    key = {"Idempotency-Key": f"burst-{uuid.uuid4()}"}

    with ThreadPoolExecutor(RACES) as pool:
        answers = list(
            pool.map(
                lambda _: partner.call("POST", LINKS, json=body, headers=key),
                range(RACES),
            )
        )

    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["launch_url"] for a in answers}) == 1
    fresh = [a for a in answers if "Idempotent-Replayed" not in a.headers]
    assert len(fresh) == 1


def test_revocation_racing_redemption_has_exactly_one_winner(
    stack: RunningStack,
) -> None:
    """Opened and revoked at once, a link ends redeemed or revoked, never both."""
    partner = PartnerClient(stack, stack.demo)
    links = [mint_link(partner) for _ in range(RACES)]

    def revoke(link: dict[str, Any], delay_s: float) -> httpx.Response:
        time.sleep(delay_s)
        return partner.call("DELETE", f"{LINKS}/{link['id']}")

    def race(numbered: tuple[int, dict[str, Any]]) -> tuple[int, int, str]:
        number, link = numbered
        with ThreadPoolExecutor(2) as pool:
            opened = pool.submit(open_link, stack, link["launch_url"])
            # Staggered so that some revocations land before the claim, some after.
            revoked = pool.submit(revoke, link, number * STAGGER_S)
            outcome = (opened.result().status_code, revoked.result().status_code)
        return (*outcome, status_of(partner, link["id"])["status"])

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(race, enumerate(links)))

    for opened, revoked, status in outcomes:
        assert (opened, revoked, status) in {
            (303, 409, "redeemed"),
            (410, 204, "revoked"),
        }
