"""Wire messages: round trips, tolerance of new fields, refusal of new versions."""

from datetime import UTC, datetime

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
