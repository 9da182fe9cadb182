"""Versioned wire messages on the launch bus (DESIGN §7.1).

Every message is a tagged msgspec Struct: the `type` field names it, the
`schema_version` field lets a consumer refuse a version it cannot read.
Unknown fields are ignored on decode, so a producer may add fields without
breaking older consumers. These are wire shapes, not domain objects: each
service translates them at its adapter boundary.
"""

from datetime import datetime
from typing import Final, TypeVar

import msgspec

SCHEMA_VERSION: Final = 1


class _Message(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    schema_version: int = SCHEMA_VERSION


class LaunchRedeemed(_Message, frozen=True, kw_only=True, tag="launch.redeemed"):
    """Published by the token service once a launch token has been claimed."""

    jti: str
    partner_id: str
    external_user_id: str
    display_name: str | None
    location_id: str
    role_slug: str
    redeemed_at: datetime


class ProvisioningResult(
    _Message, frozen=True, kw_only=True, tag="provisioning.result"
):
    """Provisioning's reply when the POS user and membership exist."""

    jti: str
    pos_user_id: str
    display_name: str
    location_id: str
    role_slug: str
    permissions: list[str]
    user_created: bool
    membership_created: bool


class ProvisioningRejected(
    _Message, frozen=True, kw_only=True, tag="provisioning.rejected"
):
    """Provisioning's reply when the launch may not be provisioned."""

    jti: str
    code: str
    message: str = ""


ProvisioningReply = ProvisioningResult | ProvisioningRejected


class DirectorySnapshotRequest(
    _Message, frozen=True, kw_only=True, tag="directory.snapshot_request"
):
    """Asks provisioning for every partner's status and granted locations."""


class PartnerEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One partner's full directory state, the same in snapshots and events."""

    partner_id: str
    status: str
    location_ids: list[str]
    # Opt-in of DESIGN §8: a launch's display_name replaces the stored one.
    replace_display_name: bool = False


class DirectorySnapshot(_Message, frozen=True, kw_only=True, tag="directory.snapshot"):
    """The full directory as provisioning sees it (DESIGN §7.2)."""

    version: int
    partners: list[PartnerEntry]
    # The database the version counts in; "" from a sender that predates it.
    epoch: str = ""


class DirectoryPartnerChanged(
    _Message, frozen=True, kw_only=True, tag="directory.partner_changed"
):
    """A committed change to one partner or its grants, at directory `version`.

    Versions are the directory's (one counter for every change), so a copy at
    version N applies N+1, ignores N and below, and reloads a snapshot on a gap.
    They count within an `epoch`, one per database: an event from another
    epoch than the copy's is a gap too.
    """

    version: int
    partner: PartnerEntry
    epoch: str = ""


DirectoryUpdate = DirectoryPartnerChanged | DirectorySnapshot


class MessageDecodeError(ValueError):
    """Raised when bytes on the bus are not a message this code understands."""


_encoder: Final = msgspec.json.Encoder()
_redeemed_decoder: Final = msgspec.json.Decoder(LaunchRedeemed)
_reply_decoder: Final = msgspec.json.Decoder(ProvisioningReply)
_snapshot_decoder: Final = msgspec.json.Decoder(DirectorySnapshot)
_update_decoder: Final = msgspec.json.Decoder(DirectoryUpdate)


def encode(message: _Message) -> bytes:
    return _encoder.encode(message)


T = TypeVar("T")


def _decode(decoder: msgspec.json.Decoder[T], body: bytes) -> T:
    try:
        message = decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise MessageDecodeError(str(exc)) from exc
    version = getattr(message, "schema_version", SCHEMA_VERSION)
    if version > SCHEMA_VERSION:
        raise MessageDecodeError(
            f"expected schema_version <= {SCHEMA_VERSION}, got {version}"
        )
    return message


def decode_launch_redeemed(body: bytes) -> LaunchRedeemed:
    return _decode(_redeemed_decoder, body)


def decode_reply(body: bytes) -> ProvisioningReply:
    return _decode(_reply_decoder, body)


def decode_snapshot(body: bytes) -> DirectorySnapshot:
    return _decode(_snapshot_decoder, body)


def decode_directory_update(body: bytes) -> DirectoryUpdate:
    return _decode(_update_decoder, body)
