"""Use case: mint a link, safely retried under an Idempotency-Key, and track it."""

import asyncio
import hashlib
import json
from dataclasses import dataclass
from typing import Final

import structlog

from token_service.application.launch_ports import Clock
from token_service.application.link_ports import (
    IdempotencyKeys,
    LaunchRegistry,
    RememberedLaunch,
)
from token_service.application.mint_launch import LaunchRequestFields, MintLaunch
from token_service.application.ports import DependencyUnavailable
from token_service.application.unavailable import guarded
from token_service.domain.errors import (
    FieldError,
    IdempotencyKeyReused,
    ServiceUnavailable,
    ValidationFailed,
)
from token_service.domain.launch import validate_launch_request

log = structlog.get_logger(__name__)
KEY_MAX: Final = 255
# A key is held this long by a request still minting; a mint takes milliseconds,
# so only a crashed replica's key waits it out before it can be retried.
HOLD_S: Final = 30.0
# How long a concurrent retry waits for the first request's answer.
WAIT_S: Final = 10.0
POLL_S: Final = 0.02


@dataclass(frozen=True, slots=True)
class MintAnswer:
    """The link, and whether it is the replay of an earlier answer."""

    launch: RememberedLaunch
    replayed: bool


def check_idempotency_key(value: str) -> str:
    """The key, or `ValidationFailed`: 1 to 255 visible ASCII characters."""
    if 1 <= len(value) <= KEY_MAX and all("!" <= ch <= "~" for ch in value):
        return value
    raise ValidationFailed(
        (
            FieldError(
                "Idempotency-Key",
                f"expected 1 to {KEY_MAX} visible ASCII characters, "
                f"got {len(value)} characters",
            ),
        )
    )


def check_keyed_request(partner_id: str, fields: LaunchRequestFields, key: str) -> str:
    """The key, or `ValidationFailed` listing every invalid field, the key included.

    The body is judged before the key is looked up, so a broken retry learns
    which field to fix rather than that its body differs from the first.
    """
    errors: list[FieldError] = []
    try:
        validate_launch_request(
            partner_id,
            fields.external_user_id,
            fields.display_name,
            fields.location_id,
            fields.role_slug,
        )
    except ValidationFailed as invalid:
        errors.extend(invalid.errors)
    try:
        check_idempotency_key(key)
    except ValidationFailed as invalid:
        errors.extend(invalid.errors)

    if errors:
        raise ValidationFailed(tuple(errors))
    return key


def fingerprint(fields: LaunchRequestFields) -> str:
    """The body's identity: the same decoded fields give the same fingerprint."""
    canonical = json.dumps(
        [
            fields.external_user_id,
            fields.display_name,
            fields.location_id,
            fields.role_slug,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotentMint:
    """Mint through `MintLaunch`, index the link, and answer retries of a key.

    Of concurrent requests with one key, one mints and the others wait for its
    answer. Raises what `MintLaunch` raises, and `IdempotencyKeyReused`.
    """

    def __init__(
        self,
        mint: MintLaunch,
        registry: LaunchRegistry,
        keys: IdempotencyKeys,
        clock: Clock,
    ) -> None:
        self._mint = mint
        self._registry = registry
        self._keys = keys
        self._clock = clock

    async def execute(
        self, partner_id: str, fields: LaunchRequestFields, key: str | None
    ) -> MintAnswer:
        if key is None:
            return MintAnswer(await self._new(partner_id, fields), replayed=False)
        key = check_keyed_request(partner_id, fields, key)
        body = fingerprint(fields)

        remembered = await self._wait_for_key(partner_id, key, body)
        if remembered is not None:
            log.info("launch_mint_replayed", partner_id=partner_id)
            return MintAnswer(remembered, replayed=True)

        try:
            launch = await self._new(partner_id, fields)
        except Exception:
            await self._release(partner_id, key, body)
            raise
        await guarded(
            self._keys.remember(partner_id, key, body, launch, self._clock.now()),
            "launch_mint_failed",
        )
        return MintAnswer(launch, replayed=False)

    async def _wait_for_key(
        self, partner_id: str, key: str, body: str
    ) -> RememberedLaunch | None:
        """None once this request holds the key; else the holder's answer."""
        deadline = asyncio.get_running_loop().time() + WAIT_S
        while True:
            taken = await guarded(
                self._keys.take(partner_id, key, body, HOLD_S), "launch_mint_failed"
            )
            if taken is None:
                return None
            if taken.fingerprint != body:
                raise IdempotencyKeyReused()
            if taken.answer is not None:
                return taken.answer
            if asyncio.get_running_loop().time() >= deadline:
                raise ServiceUnavailable()
            await asyncio.sleep(POLL_S)

    async def _new(
        self, partner_id: str, fields: LaunchRequestFields
    ) -> RememberedLaunch:
        minted = await self._mint.execute(partner_id, fields)
        # Unindexed, the link would escape a bulk revocation: without the
        # index no answer, and an unanswered link is one nobody can open.
        await guarded(
            self._registry.track(
                minted.jti, minted.details, self._clock.now(), minted.expires_at
            ),
            "launch_mint_failed",
        )
        return RememberedLaunch(minted.jti, minted.launch_url, minted.expires_at)

    async def _release(self, partner_id: str, key: str, body: str) -> None:
        try:
            await self._keys.release(partner_id, key, body)
        except DependencyUnavailable as exc:
            # The hold lapses on its own after HOLD_S; retries wait until then.
            log.error(
                "idempotency_key_release_failed",
                dependency=exc.dependency,
                error=exc.detail,
            )
