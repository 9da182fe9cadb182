"""One real launch across both services, the bus, PostgreSQL and Cognito."""

import pytest

from testsupport.launches import PartnerClient, browser, user_and_membership_rows
from tilt_devstack.stack import RunningStack

pytestmark = pytest.mark.e2e


def test_a_partner_link_signs_the_user_in_once_and_only_once(
    stack: RunningStack,
) -> None:
    """Partner token → mint → open → /sale shows the user → second open is gone."""
    partner = PartnerClient(stack, stack.demo)
    body = partner.body(display_name="Ada Lovelace", role_slug="location_supervisor")

    minted = partner.mint(body)
    assert minted.status_code == 201, minted.text
    launch_url = minted.json()["launch_url"]

    with browser(stack) as first:
        opened = first.get(launch_url)
        assert opened.status_code == 303
        assert opened.headers["location"].endswith("/sale")
        assert opened.cookies, "the redemption sets a session cookie"

        sale = first.get("/sale")
        assert sale.status_code == 200
        assert "Ada Lovelace" in sale.text
        assert "location_supervisor" in sale.text or "supervisor" in sale.text.lower()
        assert "pos.report.read" in sale.text

    with browser(stack) as second:
        again = second.get(launch_url)
        assert again.status_code == 410
        assert not again.cookies

    users, memberships = user_and_membership_rows(
        stack, stack.demo.client_id, body["external_user_id"]
    )
    assert (users, memberships) == (1, 1)


def test_sale_without_a_session_shows_the_signed_out_page(stack: RunningStack) -> None:
    """A browser with no session never sees a sale page."""
    with browser(stack) as anonymous:
        response = anonymous.get("/sale", follow_redirects=True)

    assert response.status_code == 200
    assert "signed out" in response.text.lower()
