"""The directory copy follows operators' changes (DESIGN §7.2, issue #7), over HTTP."""

import asyncio
import time

import asyncpg
import pytest

from testsupport.launches import PartnerClient, browser
from tilt_devstack.stack import RunningStack

pytestmark = pytest.mark.e2e

# The promise to operators: a revoke or suspension stops new mints this fast.
WITHIN_S = 1.0


def test_a_revoked_grant_stops_mints_within_a_second_and_its_links(
    stack: RunningStack,
) -> None:
    """After `revoke`, a mint a second later is a 422 and an earlier link a 403."""
    partner = PartnerClient(stack, stack.add_partner("dir-revoke"))
    minted_before = partner.launch_url()
    assert partner.mint().status_code == 201

    stack.provisioning_cli(
        "revoke",
        "--partner-id",
        partner.partner.client_id,
        "--location-id",
        partner.partner.location_id,
    )
    time.sleep(WITHIN_S)
    refused = partner.mint()
    with browser(stack) as user:
        opened = user.get(minted_before)

    assert refused.status_code == 422
    assert refused.json()["code"] == "location_not_permitted"
    assert opened.status_code == 403


def test_suspension_and_reactivation_follow_the_cli(stack: RunningStack) -> None:
    """A suspended partner gets 403 partner_suspended, and mints again once back."""
    partner = PartnerClient(stack, stack.add_partner("dir-suspend"))
    assert partner.mint().status_code == 201
    partner_id = partner.partner.client_id

    stack.provisioning_cli("partner", "suspend", "--partner-id", partner_id)
    time.sleep(WITHIN_S)
    suspended = partner.mint()
    stack.provisioning_cli("partner", "reactivate", "--partner-id", partner_id)
    time.sleep(WITHIN_S)
    back = partner.mint()

    assert suspended.status_code == 403
    assert suspended.json()["code"] == "partner_suspended"
    assert back.status_code == 201


def test_a_new_grant_is_usable_within_a_second(stack: RunningStack) -> None:
    """A location granted with the CLI is minted into a second later."""
    partner = PartnerClient(stack, stack.add_partner("dir-grant"))
    location_id = "6f1c3f4e-8b7d-4a59-9d0e-3c2b1a0f9e8d"
    stack.provisioning_cli(
        "location", "create", "--location-id", location_id, "--name", "New"
    )
    before = partner.mint(location_id=location_id)

    stack.provisioning_cli(
        "grant", "--partner-id", partner.partner.client_id, "--location-id", location_id
    )
    time.sleep(WITHIN_S)
    after = partner.mint(location_id=location_id)

    assert before.status_code == 422
    assert after.status_code == 201


def test_names_follow_the_partner_only_once_it_opts_in(stack: RunningStack) -> None:
    """Off (the default) a later name is ignored; on, it replaces and is audited."""
    partner = PartnerClient(stack, stack.add_partner("dir-names"))
    partner_id = partner.partner.client_id
    user = f"emp-{partner_id[:6]}"

    def launch(name: str) -> None:
        with browser(stack) as opened:
            url = partner.launch_url(external_user_id=user, display_name=name)
            assert opened.get(url).status_code == 303

    def stored(sql: str) -> list[str]:
        async def query() -> list[str]:
            connection = await asyncpg.connect(stack.config.database_url)
            try:
                rows = await connection.fetch(sql, partner_id)
            finally:
                await connection.close()
            return [str(row[0]) for row in rows]

        return asyncio.run(query())

    launch("Ada")
    launch("Ada Off")
    name_while_off = stored(
        "SELECT display_name FROM pos_user_tbl WHERE partner_id = $1"
    )
    stack.provisioning_cli("partner", "name-updates", "--partner-id", partner_id, "on")
    launch("Ada On")
    launch("Ada On")

    assert name_while_off == ["Ada"]
    assert stored("SELECT display_name FROM pos_user_tbl WHERE partner_id = $1") == [
        "Ada On"
    ]
    audit = stored(
        "SELECT previous_display_name || ' -> ' || display_name"
        " FROM launch_redemption_tbl"
        " WHERE partner_id = $1 AND previous_display_name IS NOT NULL"
    )
    assert audit == ["Ada -> Ada On"]
