"""Wire messages: round trips, tolerance of new fields, the contract on decode."""

import secrets
from datetime import UTC, datetime

import msgspec
import pytest

from tilt_shared import messages


def _redeemed() -> messages.LaunchRedeemed:
    return messages.LaunchRedeemed(
        jti="j1",
        partner_id="p1",
        external_user_id="EMP-1",
        display_name="Zoë",
        location_id="5f0c4c1e-3c1a-4c5e-9a53-0b7f3c2a9d10",
        role_slug="location_cashier",
        redeemed_at=datetime(2026, 5, 12, 10, 30, tzinfo=UTC),
    )


def test_launch_redeemed_round_trips() -> None:
    message = _redeemed()

    decoded = messages.decode_launch_redeemed(messages.encode(message))

    assert decoded == message


def test_a_launch_with_its_deadline_round_trips() -> None:
    message = msgspec.structs.replace(
        _redeemed(), provision_by=datetime(2026, 5, 12, 10, 30, 4, tzinfo=UTC)
    )

    assert messages.decode_launch_redeemed(messages.encode(message)) == message


def test_a_launch_from_a_sender_without_deadlines_has_none() -> None:
    """Older token services send no provision_by: nothing then abandons it."""
    body = messages.encode(_redeemed()).replace(b',"provision_by":null', b"")

    assert b"provision_by" not in body
    assert messages.decode_launch_redeemed(body).provision_by is None


def test_unknown_fields_are_ignored_so_producers_can_grow() -> None:
    body = messages.encode(_redeemed()).replace(b"{", b'{"new_field":[1,2],', 1)

    assert messages.decode_launch_redeemed(body).jti == "j1"


def test_a_newer_schema_version_is_refused_with_the_versions_named() -> None:
    body = messages.encode(_redeemed()).replace(
        b'"schema_version":1', b'"schema_version":2'
    )

    with pytest.raises(messages.MessageDecodeError, match="<= 1, got 2"):
        messages.decode_launch_redeemed(body)


def test_reply_union_decodes_by_tag() -> None:
    rejected = messages.ProvisioningRejected(jti="j1", code="location_not_permitted")

    assert messages.decode_reply(messages.encode(rejected)) == rejected


def test_garbage_is_a_decode_error_not_a_crash() -> None:
    with pytest.raises(messages.MessageDecodeError):
        messages.decode_reply(b"\xff not json")


def _redeemed_body(**fields: object) -> bytes:
    """A `launch.redeemed` body with `fields` replaced (None: the key removed)."""
    body = msgspec.json.decode(messages.encode(_redeemed()))
    body.update(fields)
    return msgspec.json.encode({k: v for k, v in body.items() if v is not None})


def test_the_token_services_own_jti_shape_is_accepted() -> None:
    jti = secrets.token_urlsafe(16)

    decoded = messages.decode_launch_redeemed(_redeemed_body(jti=jti))

    assert decoded.jti == jti


@pytest.mark.parametrize(
    "fields",
    [
        {"type": None},
        {"type": "provisioning.result"},
        {"schema_version": "1"},
    ],
    ids=["no-type", "another-type", "version-not-int"],
)
def test_a_body_that_is_not_a_launch_is_undecodable(fields: dict[str, object]) -> None:
    with pytest.raises(messages.MessageDecodeError) as raised:
        messages.decode_launch_redeemed(_redeemed_body(**fields))

    assert not isinstance(raised.value, messages.MessageInvalid)


def test_a_json_array_is_undecodable_not_invalid() -> None:
    with pytest.raises(messages.MessageDecodeError) as raised:
        messages.decode_launch_redeemed(b"[1, 2]")

    assert not isinstance(raised.value, messages.MessageInvalid)


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"schema_version": 0}, "schema_version"),
        ({"schema_version": -7}, "schema_version"),
        ({"jti": "j" * 65}, "jti"),
        ({"jti": "not/base64url="}, "jti"),
        ({"jti": ""}, "jti"),
        ({"partner_id": ""}, "partner_id"),
        ({"external_user_id": "x" * 256}, "external_user_id"),
        ({"external_user_id": ""}, "external_user_id"),
        ({"display_name": "x" * 101}, "display_name"),
        ({"display_name": ""}, "display_name"),
        ({"location_id": "x" * 37}, "location_id"),
        ({"role_slug": "r" * 65}, "role_slug"),
        ({"redeemed_at": "2026-05-12T10:30:00"}, "redeemed_at"),
        ({"provision_by": "2026-05-12T10:30:05"}, "provision_by"),
        ({"jti": 42}, "jti"),
    ],
)
def test_a_launch_breaking_the_contract_is_invalid_naming_the_field(
    fields: dict[str, object], where: str
) -> None:
    with pytest.raises(messages.MessageInvalid, match=rf"\$\.{where}"):
        messages.decode_launch_redeemed(_redeemed_body(**fields))


def test_fields_at_their_bounds_are_accepted() -> None:
    body = _redeemed_body(
        jti="j" * 64, external_user_id="x" * 255, display_name="n" * 100
    )

    decoded = messages.decode_launch_redeemed(body)

    assert len(decoded.display_name or "") == 100


def test_a_null_display_name_is_still_allowed() -> None:
    body = messages.encode(msgspec.structs.replace(_redeemed(), display_name=None))

    assert messages.decode_launch_redeemed(body).display_name is None


def test_a_reply_without_type_is_undecodable() -> None:
    body = msgspec.json.encode({"jti": "j1", "code": "launch_invalid"})

    with pytest.raises(messages.MessageDecodeError, match="type"):
        messages.decode_reply(body)


def test_a_snapshot_must_name_its_type() -> None:
    body = msgspec.json.encode({"version": 1, "partners": []})

    with pytest.raises(messages.MessageDecodeError, match="type"):
        messages.decode_snapshot(body)
