"""Use cases: a partner looks up a link it minted, revokes it, or revokes many."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import structlog

from token_service.application.launch_ports import Clock
from token_service.application.link_ports import LaunchRecord, LaunchRegistry
from token_service.application.unavailable import guarded
from token_service.domain.errors import (
    FieldError,
    LaunchNotFound,
    LaunchNotPending,
    ValidationFailed,
)
from token_service.domain.launch import check_external_user_id, check_location_id

log = structlog.get_logger(__name__)
LaunchStatusName = Literal["pending", "redeemed", "refused", "expired", "revoked"]


@dataclass(frozen=True, slots=True)
class LaunchStatus:
    """What a partner may know about one of its links."""

    jti: str
    status: LaunchStatusName
    created_at: datetime | None
    expires_at: datetime
    redeemed_at: datetime | None
    location_id: str
    external_user_id: str


def status_of(record: LaunchRecord, now: datetime) -> LaunchStatusName:
    """`claimed` is a redemption under way: still pending until it completes.

    `refused`: opened, but provisioning refused it (a revoked grant or a
    suspended partner); the link is used up and no session exists (ADR 4).
    """
    if record.state == "redeemed" and record.refused:
        return "refused"
    if record.state in ("redeemed", "revoked"):
        return record.state
    return "expired" if now >= record.expires_at else "pending"


class ShowLaunch:
    """The status of one link; `LaunchNotFound` unless this partner minted it."""

    def __init__(self, registry: LaunchRegistry, clock: Clock) -> None:
        self._registry = registry
        self._clock = clock

    async def execute(self, partner_id: str, jti: str) -> LaunchStatus:
        record = await guarded(self._registry.find(jti), "launch_lookup_failed")
        # Another partner's link is answered exactly like an unknown one.
        if record is None or record.details.partner_id != partner_id:
            raise LaunchNotFound()

        return LaunchStatus(
            jti=jti,
            status=status_of(record, self._clock.now()),
            created_at=record.created_at,
            expires_at=record.expires_at,
            redeemed_at=record.redeemed_at,
            location_id=record.details.location_id,
            external_user_id=record.details.external_user_id,
        )


class RevokeLaunch:
    """Revoke one pending link; `LaunchNotFound` or `LaunchNotPending` otherwise."""

    def __init__(self, registry: LaunchRegistry, clock: Clock) -> None:
        self._registry = registry
        self._clock = clock

    async def execute(self, partner_id: str, jti: str) -> None:
        outcome = await guarded(
            self._registry.revoke(partner_id, jti, self._clock.now()),
            "launch_revoke_failed",
        )

        if outcome == "unknown":
            raise LaunchNotFound()
        if outcome != "revoked":
            raise LaunchNotPending(
                f"expected a pending launch link; this one is {_described(outcome)}"
            )
        structlog.contextvars.bind_contextvars(correlation_id=jti)
        log.info("launch_token_revoked", partner_id=partner_id)


def _described(outcome: str) -> str:
    if outcome == "claimed":
        return "being redeemed right now"
    return outcome.replace("_", " ")


class RevokeLaunches:
    """Revoke every pending link of a partner for a user and/or a location."""

    def __init__(self, registry: LaunchRegistry, clock: Clock) -> None:
        self._registry = registry
        self._clock = clock

    async def execute(
        self, partner_id: str, external_user_id: object, location_id: object
    ) -> int:
        # The same rules as at mint: a filter no link could match is a mistake.
        user = _checked(check_external_user_id, external_user_id)
        location = _checked(check_location_id, location_id)
        if user is None and location is None:
            raise ValidationFailed(
                (FieldError("body", "expected external_user_id, location_id or both"),)
            )

        revoked = await guarded(
            self._registry.revoke_matching(
                partner_id, user, location, self._clock.now()
            ),
            "launch_revoke_failed",
        )
        log.info("launch_tokens_revoked", partner_id=partner_id, count=revoked)
        return revoked


def _checked(check: Callable[[object], str | FieldError], value: object) -> str | None:
    if value is None:
        return None
    checked = check(value)
    if isinstance(checked, FieldError):
        raise ValidationFailed((checked,))
    return checked
