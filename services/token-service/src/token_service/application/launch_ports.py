"""Ports of the launch flow: ledger, tokens, partner checks, rates, sessions, time, ids.

Each port raises only what its docstring names; driver errors become
`DependencyUnavailable` in the adapter.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from token_service.domain.launch import LaunchDetails
from token_service.domain.session import BrowserSession


@dataclass(frozen=True, slots=True)
class ClaimRefused:
    """Why a claim failed: `busy` (another request holds a live lease: a
    redemption under way), `used` (redeemed or revoked) or `unknown`."""

    reason: Literal["busy", "used", "unknown"]


@dataclass(frozen=True, slots=True)
class Throttled:
    """A mint refused by the rate limit; one is admitted `retry_after_s` later."""

    retry_after_s: float


@dataclass(frozen=True, slots=True)
class VerifiedLaunchToken:
    jti: str
    expires_at: datetime


class LaunchLedger(Protocol):
    """Single-use launch records (DESIGN §5): minted → claimed → redeemed.

    Every method is one atomic step, safe across any number of replicas.
    A record is purged 60 s after the token's expiry (`now` decides, so the
    caller's clock rules). A claim's lease lasts `LEASE_S` seconds. All raise
    `DependencyUnavailable` when the store fails.
    """

    async def store(
        self, jti: str, details: LaunchDetails, expires_at: datetime, now: datetime
    ) -> None:
        """Create the `minted` record (one round trip)."""

    async def claim(
        self, jti: str, owner: str, now: datetime
    ) -> LaunchDetails | ClaimRefused:
        """Claim from `minted`, or from `claimed` whose lease ran out."""

    async def release(self, jti: str, owner: str) -> bool:
        """`claimed` by `owner` → `minted`; False when `owner` no longer holds it."""

    async def complete(self, jti: str, owner: str, session_id: str) -> bool:
        """`claimed` by `owner` → `redeemed` with `session_id`; False otherwise."""


class LaunchTokens(Protocol):
    """Signs and verifies launch tokens (DESIGN §4); pure CPU, no I/O.

    `verify` raises `LaunchTokenInvalid` (malformed, forged, wrong key, claims
    missing or wrong) or `LaunchTokenExpired` (genuine but past `exp`).
    """

    def sign(self, jti: str, issued_at: datetime, expires_at: datetime) -> str: ...

    def verify(self, token: str, now: datetime) -> VerifiedLaunchToken: ...


class PartnerAuthenticator(Protocol):
    """Turns an `Authorization` header into a partner id (DESIGN §3.1).

    Raises `InvalidToken`, `InsufficientScope`, or `DependencyUnavailable`
    when the key set cannot be fetched.
    """

    async def authenticate(self, authorization: str | None) -> str: ...


class PartnerDirectory(Protocol):
    """May this partner launch into this location? (DESIGN §7.2, a cached copy).

    Raises `LocationNotPermitted` (unknown partner or location not granted:
    one answer), `PartnerSuspended`, or `DependencyUnavailable`.
    """

    async def check(self, partner_id: str, location_id: str) -> None: ...


class MintRateLimiter(Protocol):
    """Each partner's budget of mints: a sustained rate with a burst on top.

    `acquire` spends one mint of the partner's budget, or spends nothing and
    answers `Throttled` with the wait until one is admitted. Atomic and shared
    by every replica; `now` is the caller's clock. Raises
    `DependencyUnavailable` when the store fails.
    """

    async def acquire(self, partner_id: str, now: datetime) -> Throttled | None: ...


class MintAdmission(Protocol):
    """A mint's budget and its record in one step, as cheap as the store allows.

    Spends one mint of the partner's budget (the `MintRateLimiter` semantics)
    and creates the `minted` record (`LaunchLedger.store`). When the budget
    refuses, nothing is spent, no record remains, and the answer is
    `Throttled`. Raises `DependencyUnavailable` when the store fails; a
    record may then remain, unreachable (nobody holds its jti) until purged.
    """

    async def admit(
        self,
        partner_id: str,
        jti: str,
        details: LaunchDetails,
        expires_at: datetime,
        now: datetime,
    ) -> Throttled | None: ...


class SessionStore(Protocol):
    """Browser sessions by id; a session vanishes at its `expires_at`.

    All raise `DependencyUnavailable` when the store fails.
    """

    async def save(self, session: BrowserSession, now: datetime) -> None: ...

    async def get(self, session_id: str) -> BrowserSession | None: ...

    async def delete(self, session_id: str) -> None: ...


class Clock(Protocol):
    """The current time, always timezone-aware UTC."""

    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    """Unpredictable identifiers from a cryptographic source."""

    def new_jti(self) -> str:
        """128 random bits, base64url."""

    def new_owner(self) -> str:
        """A claim owner id, unique per redemption attempt."""

    def new_session_id(self) -> str:
        """256 random bits, base64url."""

    def new_csrf_token(self) -> str:
        """256 random bits, base64url."""
