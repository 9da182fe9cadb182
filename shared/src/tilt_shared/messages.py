"""Versioned wire messages on the launch bus (DESIGN §7.1).

Every message is a tagged msgspec Struct: the `type` field names it, the
`schema_version` field lets a consumer refuse a version it cannot read.
Unknown fields are ignored on decode, so a producer may add fields without
breaking older consumers. These are wire shapes, not domain objects: each
service translates them at its adapter boundary.

Decoding checks the contract. Bytes that are not a JSON object, lack the
`type` of the expected message or carry a newer schema version raise
`MessageDecodeError`. A message of the expected type whose fields break the
constraints declared on its Struct raises `MessageInvalid`, a subclass, so a
consumer can still answer its sender. Constraints bind decoding only: each
producer checks its own values in its domain before it sends them.
"""

from datetime import datetime
from typing import Annotated, Final, TypeVar

import msgspec

SCHEMA_VERSION: Final = 1

SchemaVersion = Annotated[int, msgspec.Meta(ge=1)]
# The token service mints `secrets.token_urlsafe(16)`: 22 base64url
# characters. The bound leaves room for a longer id, not for a value that
# no database index can hold.
Jti = Annotated[
    str, msgspec.Meta(min_length=1, max_length=64, pattern="^[A-Za-z0-9_-]+$")
]
# A Cognito app client id has 1-128 characters (CreateUserPoolClient, ClientId).
PartnerIdText = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
# DESIGN §3.2, the rules the token service applies at mint.
ExternalUserId = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
DisplayName = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
LocationIdText = Annotated[str, msgspec.Meta(max_length=36)]  # a UUID's text
RoleSlug = Annotated[str, msgspec.Meta(max_length=64)]
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]


class _Message(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    schema_version: SchemaVersion = SCHEMA_VERSION


class LaunchRedeemed(_Message, frozen=True, kw_only=True, tag="launch.redeemed"):
    """Published by the token service once a launch token has been claimed."""

    jti: Jti
    partner_id: PartnerIdText
    external_user_id: ExternalUserId
    display_name: DisplayName | None
    location_id: LocationIdText
    role_slug: RoleSlug
    redeemed_at: AwareDatetime
    # After this instant the token service no longer waits for the answer, so
    # provisioning must write nothing (ADR 0007). None from an older sender.
    provision_by: AwareDatetime | None = None


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


class MessageInvalid(MessageDecodeError):
    """Raised when a message of the expected type breaks its field constraints."""


class _Envelope(msgspec.Struct):
    """What every message carries: enough to tell which message it is."""

    type: str
    schema_version: int = SCHEMA_VERSION


_encoder: Final = msgspec.json.Encoder()
_envelope_decoder: Final = msgspec.json.Decoder(_Envelope)
_redeemed_decoder: Final = msgspec.json.Decoder(LaunchRedeemed)
_reply_decoder: Final = msgspec.json.Decoder(ProvisioningReply)
_snapshot_decoder: Final = msgspec.json.Decoder(DirectorySnapshot)
_update_decoder: Final = msgspec.json.Decoder(DirectoryUpdate)


def encode(message: _Message) -> bytes:
    return _encoder.encode(message)


T = TypeVar("T")


def _tags(*kinds: type[_Message]) -> frozenset[str]:
    return frozenset(str(kind.__struct_config__.tag) for kind in kinds)


def _decode(
    decoder: msgspec.json.Decoder[T], body: bytes, expected: frozenset[str]
) -> T:
    """Reads the envelope first: a lone tagged Struct decodes a body without `type`."""
    try:
        envelope = _envelope_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise MessageDecodeError(str(exc)) from exc
    if envelope.type not in expected:
        raise MessageDecodeError(
            f"expected type {' or '.join(sorted(expected))}, got {envelope.type[:40]!r}"
        )
    if envelope.schema_version > SCHEMA_VERSION:
        raise MessageDecodeError(
            f"expected schema_version <= {SCHEMA_VERSION}, "
            f"got {envelope.schema_version}"
        )

    try:
        return decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise MessageInvalid(str(exc)) from exc


_REDEEMED: Final = _tags(LaunchRedeemed)
_REPLY: Final = _tags(ProvisioningResult, ProvisioningRejected)
_SNAPSHOT: Final = _tags(DirectorySnapshot)
_UPDATE: Final = _tags(DirectoryPartnerChanged, DirectorySnapshot)


def decode_launch_redeemed(body: bytes) -> LaunchRedeemed:
    return _decode(_redeemed_decoder, body, _REDEEMED)


def decode_reply(body: bytes) -> ProvisioningReply:
    return _decode(_reply_decoder, body, _REPLY)


def decode_snapshot(body: bytes) -> DirectorySnapshot:
    return _decode(_snapshot_decoder, body, _SNAPSHOT)


def decode_directory_update(body: bytes) -> DirectoryUpdate:
    return _decode(_update_decoder, body, _UPDATE)
