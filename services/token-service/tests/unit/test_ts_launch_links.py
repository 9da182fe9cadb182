"""Link controls through the HTTP app on fakes: replays, status, revocation, metrics."""

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from link_fakes import InMemoryIdempotencyKeys, InMemoryLaunchRegistry
from litestar.testing import AsyncTestClient
from token_fakes import LOCATION_1, TEST_BASE_URL, FakeWorld, make_settings

from token_service.domain.provisioning import ProvisioningRejection
from token_service.entrypoint import create_app

P1 = {"Authorization": "Bearer p1"}
URL = "/pos/v1/launch-tokens"
BODY = {"external_user_id": "EMP-1", "location_id": LOCATION_1}


@dataclass
class App:
    client: AsyncTestClient[Any]
    world: FakeWorld
    keys: InMemoryIdempotencyKeys

    async def mint(self, key: str | None = None, **body: object) -> Any:
        headers = {**P1, **({"Idempotency-Key": key} if key is not None else {})}
        return await self.client.post(URL, json={**BODY, **body}, headers=headers)

    async def minted_count(self) -> float:
        text = (await self.client.get("/metrics")).text
        line = next(
            x
            for x in text.splitlines()
            if x.startswith("token_service_launches_minted_total")
        )
        return float(line.split()[-1])


@pytest.fixture
async def app() -> AsyncIterator[App]:
    world = FakeWorld()
    keys = InMemoryIdempotencyKeys()
    adapters = replace(
        world.adapters(),
        registry=InMemoryLaunchRegistry(world.ledger),
        idempotency_keys=keys,
    )
    litestar_app = create_app(make_settings(), overrides=adapters)
    async with AsyncTestClient(app=litestar_app, base_url=TEST_BASE_URL) as client:
        yield App(client, world, keys)


async def test_a_replay_answers_the_first_link_and_is_not_counted_as_a_mint(
    app: App,
) -> None:
    """Same key and body: 201 with the same link and the replay header, one mint."""
    first = await app.mint("order-1")
    replay = await app.mint("order-1")

    assert replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert await app.minted_count() == 1.0
    assert len(app.world.ledger.records) == 1


async def test_a_key_reused_with_another_body_is_refused(app: App) -> None:
    """A different body under a used key: 422 idempotency_key_reused, no new link."""
    await app.mint("order-2")

    reused = await app.mint("order-2", display_name="Someone")

    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"
    assert len(app.world.ledger.records) == 1


async def test_an_invalid_body_is_a_field_error_even_under_a_used_key(
    app: App,
) -> None:
    """The body is judged first: a broken retry learns what to fix, not `reused`."""
    await app.mint("order-4")

    broken = await app.mint("order-4", role_slug="owner")

    assert broken.status_code == 422
    assert broken.json()["code"] == "validation_failed"
    assert [e["field"] for e in broken.json()["errors"]] == ["role_slug"]


async def test_a_bad_key_and_a_bad_body_are_listed_together(app: App) -> None:
    answer = await app.mint("", external_user_id="")

    assert answer.status_code == 422
    assert sorted(e["field"] for e in answer.json()["errors"]) == [
        "Idempotency-Key",
        "external_user_id",
    ]


async def test_two_idempotency_keys_are_refused_not_guessed_between(
    app: App,
) -> None:
    """Which one the partner meant is unknowable; no link is minted."""
    answer = await app.client.post(
        URL,
        json=BODY,
        headers=[
            ("Authorization", "Bearer p1"),
            ("Idempotency-Key", "order-5"),
            ("Idempotency-Key", "order-6"),
        ],
    )

    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["Idempotency-Key"]
    assert app.world.ledger.records == {}


async def test_a_failed_mint_frees_its_key_for_the_retry(app: App) -> None:
    """A refused mint (location not granted) leaves the key free to mint later."""
    refused = await app.mint(
        "order-3", location_id="0" * 8 + "-0000-4000-8000-" + "0" * 12
    )
    retried = await app.mint("order-3")

    assert refused.status_code == 422
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried.headers


async def test_status_is_for_the_minting_partner_only(app: App) -> None:
    """p1 sees its pending link; p2 and an unknown id get the same 404."""
    minted = (await app.mint()).json()

    mine = await app.client.get(f"{URL}/{minted['id']}", headers=P1)
    theirs = await app.client.get(
        f"{URL}/{minted['id']}", headers={"Authorization": "Bearer p2"}
    )
    unknown = await app.client.get(f"{URL}/nope", headers=P1)

    assert mine.json()["status"] == "pending"
    assert mine.json()["expires_at"] == minted["expires_at"]
    assert (theirs.status_code, unknown.status_code) == (404, 404)
    assert theirs.json() == unknown.json()


async def test_a_revoked_link_is_refused_with_its_own_page(app: App) -> None:
    """After DELETE, opening the link is a 410 page saying launch_token_revoked."""
    minted = (await app.mint()).json()

    revoked = await app.client.delete(f"{URL}/{minted['id']}", headers=P1)
    opened = await app.client.get(minted["launch_url"].replace(TEST_BASE_URL, ""))
    expired_later = await app.client.delete(f"{URL}/{minted['id']}", headers=P1)

    assert revoked.status_code == 204
    assert opened.status_code == 410
    assert "launch_token_revoked" in opened.text
    assert expired_later.status_code == 409


@pytest.mark.parametrize("code", ["location_not_permitted", "partner_suspended"])
async def test_a_refused_link_opened_again_is_still_refused(
    app: App, code: str
) -> None:
    """Provisioning refused the first open: a reopen, here or in another browser,
    says refused again (403), not "already used, ask for a new link", which a
    new link for the same store could not mend."""
    minted = (await app.mint()).json()
    path = minted["launch_url"].replace(TEST_BASE_URL, "")
    app.world.bus.rejection = ProvisioningRejection(code)

    first = await app.client.get(path)
    again = await app.client.get(path)
    app.client.cookies.clear()
    elsewhere = await app.client.get(path)

    assert first.status_code == 403
    assert code in first.text
    for reopened in (again, elsewhere):
        assert reopened.status_code == 403
        assert "launch_token_refused" in reopened.text
        assert "Sign-in refused" in reopened.text
        assert "already used" not in reopened.text
    assert len(app.world.bus.sent) == 1


async def test_revoking_a_refused_link_says_refused_as_its_status_does(
    app: App,
) -> None:
    """409, naming the same state GET shows, not 'redeemed'."""
    minted = (await app.mint()).json()
    app.world.bus.rejection = ProvisioningRejection("partner_suspended")
    await app.client.get(minted["launch_url"].replace(TEST_BASE_URL, ""))

    status = await app.client.get(f"/pos/v1/launch-tokens/{minted['id']}", headers=P1)
    revoke = await app.client.delete(
        f"/pos/v1/launch-tokens/{minted['id']}", headers=P1
    )

    assert status.json()["status"] == "refused"
    assert revoke.status_code == 409
    assert "this one is refused" in revoke.json()["detail"]


async def test_an_expired_link_shows_expired_and_cannot_be_revoked(app: App) -> None:
    """Past its expiry (and before the purge) a link is expired; DELETE is a 409."""
    minted = (await app.mint()).json()
    app.world.clock.advance(600)

    status = await app.client.get(f"{URL}/{minted['id']}", headers=P1)
    revoke = await app.client.delete(f"{URL}/{minted['id']}", headers=P1)

    assert status.json()["status"] == "expired"
    assert revoke.status_code == 409
    assert "expired" in revoke.json()["detail"]


async def test_bulk_revocation_needs_a_filter_of_the_right_type(app: App) -> None:
    """No filter, or a non-string one, is a 422; an unknown field names itself."""
    url = f"{URL}/revocations"

    empty = await app.client.post(url, json={}, headers=P1)
    typed = await app.client.post(url, json={"location_id": 7}, headers=P1)
    unknown = await app.client.post(url, json={"store": "x"}, headers=P1)

    assert [a.status_code for a in (empty, typed, unknown)] == [422, 422, 422]
    assert typed.json()["errors"][0]["field"] == "location_id"
    assert unknown.json()["errors"][0]["field"] == "store"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"location_id": "nope"}, "location_id"),
        ({"external_user_id": "EMP-9 "}, "external_user_id"),
        ({"external_user_id": "x" * 256}, "external_user_id"),
        ({"external_user_id": "Jose\u0301"}, "external_user_id"),
    ],
)
async def test_bulk_revocation_filters_follow_the_mint_rules(
    app: App, body: dict[str, str], field: str
) -> None:
    """A filter no link could match (bad UUID, padded or non-NFC id) is a 422
    naming the field, not a silent `revoked: 0`."""
    response = await app.client.post(f"{URL}/revocations", json=body, headers=P1)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field
