"""Reproduction cases about minting (shared/cases C-09, C-13, C-14, C-17), over HTTP."""

import uuid

import pytest

from testsupport.launches import PartnerClient, browser, count_rows
from tilt_devstack.stack import RunningStack

pytestmark = pytest.mark.e2e


def fields_of(problem: dict[str, object]) -> set[str]:
    errors = problem.get("errors", [])
    assert isinstance(errors, list)
    return {str(error["field"]) for error in errors}


def test_c09_external_user_ids_are_case_sensitive(stack: RunningStack) -> None:
    """EMP-1 and emp-1 are two users of one partner."""
    partner = PartnerClient(stack, stack.add_partner("c09"))
    for external_user_id in ("EMP-1", "emp-1"):
        with browser(stack) as user:
            opened = user.get(partner.launch_url(external_user_id=external_user_id))
            assert opened.status_code == 303

    users = count_rows(
        stack,
        "SELECT count(DISTINCT pos_user_id) FROM pos_user_tbl WHERE partner_id = $1",
        partner.partner.client_id,
    )
    assert users == 2


@pytest.mark.parametrize(
    "external_user_id", [" EMP-1", "EMP-1 ", "EMP-1\u00a0", "\tEMP-1"]
)
def test_c09_padded_ids_are_rejected_never_trimmed(
    stack: RunningStack, external_user_id: str
) -> None:
    """Whitespace around an id is a 422 naming the field, never another user."""
    partner = PartnerClient(stack, stack.demo)

    response = partner.mint(external_user_id=external_user_id)

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "external_user_id" in fields_of(response.json())


@pytest.mark.parametrize("role_slug", ["admin", "LOCATION_SUPERVISOR", ""])
def test_c13_unknown_roles_are_rejected_naming_the_allowed_ones(
    stack: RunningStack, role_slug: str
) -> None:
    """Only the two roles are accepted; the message says which they are."""
    partner = PartnerClient(stack, stack.demo)

    response = partner.mint(role_slug=role_slug)

    assert response.status_code == 422
    assert "role_slug" in fields_of(response.json())
    assert "location_cashier" in response.text
    assert "location_supervisor" in response.text


@pytest.mark.parametrize("explicit_null", [True, False])
def test_c13_null_or_absent_role_means_cashier(
    stack: RunningStack, explicit_null: bool
) -> None:
    """A null or missing role_slug signs the user in as a cashier."""
    partner = PartnerClient(stack, stack.demo)
    body = partner.body()
    if explicit_null:
        body["role_slug"] = None

    with browser(stack) as user:
        assert user.get(partner.launch_url(**body)).status_code == 303
        sale = user.get("/sale")

    assert "location_cashier" in sale.text or "Cashier" in sale.text
    assert "pos.report.read" not in sale.text


@pytest.mark.parametrize("location_id", ["not-a-uuid", ""])
def test_c14_malformed_locations_are_field_errors(
    stack: RunningStack, location_id: str
) -> None:
    """A location id that is not a UUID is a 422 on location_id."""
    response = PartnerClient(stack, stack.demo).mint(location_id=location_id)

    assert response.status_code == 422
    assert "location_id" in fields_of(response.json())


def test_c14_unknown_and_foreign_locations_look_the_same(stack: RunningStack) -> None:
    """A random location and another partner's location give one identical 422."""
    other = stack.add_partner("c14-other")
    partner = PartnerClient(stack, stack.demo)

    unknown = partner.mint(location_id=str(uuid.uuid4()))
    foreign = partner.mint(location_id=other.location_id)

    for response in (unknown, foreign):
        assert response.status_code == 422
        assert response.json()["code"] == "location_not_permitted"
    assert unknown.json() == foreign.json()


def test_c17_display_names_are_bounded_and_round_trip(stack: RunningStack) -> None:
    """101 characters and control characters are 422 at mint; a 100-character
    name with emoji reaches the sale page exactly."""
    partner = PartnerClient(stack, stack.demo)
    emoji_name = ("Zoë 🍕 " * 17)[:99] + "🎉"
    assert len(emoji_name) == 100

    for bad in ("x" * 101, "Ada\x00Lovelace", "Ada\x07", "Ada\u0085Lovelace"):
        response = partner.mint(display_name=bad)
        assert response.status_code == 422, bad
        assert "display_name" in fields_of(response.json())

    with browser(stack) as user:
        assert user.get(partner.launch_url(display_name=emoji_name)).status_code == 303
        sale = user.get("/sale")
    assert emoji_name in sale.text


def test_bad_input_never_gets_a_500(stack: RunningStack) -> None:
    """Malformed JSON 400; no bearer 401; garbage bearer 401; never a 5xx."""
    partner = PartnerClient(stack, stack.demo)
    url = f"{stack.config.token_url}/pos/v1/launch-tokens"
    auth = {"Authorization": f"Bearer {partner.token}"}
    import httpx

    malformed = httpx.post(
        url, content=b"{not json", headers={**auth, "Content-Type": "application/json"}
    )
    missing = httpx.post(url, json=partner.body())
    garbage = httpx.post(
        url, json=partner.body(), headers={"Authorization": "Bearer x.y.z"}
    )

    assert malformed.status_code == 400
    assert missing.status_code == 401
    assert garbage.status_code == 401
    assert 'error="invalid_token"' in garbage.headers["www-authenticate"]
