"""In-memory fakes of the token service ports, for unit tests and the contract suite."""

import asyncio
import contextlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import count
from typing import TYPE_CHECKING, Literal

from tilt_shared.settings import Secret
from token_service.application.follow_directory import FollowDirectory, PartnerState
from token_service.application.launch_ports import ClaimRefused, Throttled
from token_service.application.ports import DependencyUnavailable
from token_service.domain.errors import (
    InsufficientScope,
    InvalidToken,
    LocationNotPermitted,
    PartnerSuspended,
)
from token_service.domain.identity import CognitoTokens
from token_service.domain.launch import LaunchDetails
from token_service.domain.provisioning import (
    ProvisionedUser,
    ProvisioningRejection,
    RedeemedLaunch,
)
from token_service.domain.session import BrowserSession

if TYPE_CHECKING:
    from token_service.entrypoint import Adapters
    from token_service.settings import Settings

LEASE = timedelta(seconds=30)
PURGE_AFTER = timedelta(seconds=60)
CASHIER_PERMISSIONS = ("pos.order.read", "pos.order.create")


class FixedClock:
    """A clock that moves only when told to."""

    def __init__(self, now: datetime | None = None) -> None:
        self.current = now or datetime(2026, 5, 12, 10, 30, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


class SequentialIds:
    """Predictable ids, distinct per call, in the formats the real ones use."""

    def __init__(self) -> None:
        self._next = count(1)

    def _id(self, kind: str) -> str:
        return f"{kind}-{next(self._next):06d}"

    def new_jti(self) -> str:
        return self._id("jti")

    def new_owner(self) -> str:
        return self._id("owner")

    def new_session_id(self) -> str:
        return self._id("session")

    def new_csrf_token(self) -> str:
        return self._id("csrf")


@dataclass
class _Record:
    details: LaunchDetails
    purge_at: datetime
    state: Literal["minted", "claimed", "redeemed", "revoked"] = "minted"
    owner: str | None = None
    lease_until: datetime | None = None
    session_id: str | None = None


class InMemoryLaunchLedger:
    """`LaunchLedger` in a dict; `failing` makes every call raise like a dead Redis."""

    def __init__(self) -> None:
        self.records: dict[str, _Record] = {}
        self.failing = False
        self.calls: list[str] = []

    def _check(self, name: str) -> None:
        self.calls.append(name)
        if self.failing:
            raise DependencyUnavailable("redis", "fake outage")

    async def store(
        self, jti: str, details: LaunchDetails, expires_at: datetime, now: datetime
    ) -> None:
        self._check("store")
        self.records[jti] = _Record(details, purge_at=expires_at + PURGE_AFTER)

    async def claim(
        self, jti: str, owner: str, now: datetime
    ) -> LaunchDetails | ClaimRefused:
        self._check("claim")
        record = self.records.get(jti)
        if record is None or now >= record.purge_at:
            self.records.pop(jti, None)
            return ClaimRefused("unknown")
        lease_over = record.lease_until is not None and now >= record.lease_until
        if record.state == "minted" or (record.state == "claimed" and lease_over):
            record.state, record.owner = "claimed", owner
            record.lease_until = now + LEASE
            return record.details
        if record.state == "claimed":
            return ClaimRefused("busy")
        return ClaimRefused("used")

    async def release(self, jti: str, owner: str) -> bool:
        self._check("release")
        record = self.records.get(jti)
        if record is None or record.state != "claimed" or record.owner != owner:
            return False
        record.state, record.owner, record.lease_until = "minted", None, None
        return True

    async def complete(self, jti: str, owner: str, session_id: str) -> bool:
        self._check("complete")
        record = self.records.get(jti)
        if record is None or record.state != "claimed" or record.owner != owner:
            return False
        record.state, record.session_id = "redeemed", session_id
        return True


class InMemoryMintRateLimiter:
    """`MintRateLimiter` in a dict of partner → theoretical arrival time (GCRA)."""

    def __init__(self, rate_per_s: float = 1000.0, burst: int = 10_000) -> None:
        self.interval = timedelta(seconds=1 / rate_per_s)
        self.tolerance = self.interval * (burst - 1)
        self.arrivals: dict[str, datetime] = {}
        self.failing = False

    async def acquire(self, partner_id: str, now: datetime) -> Throttled | None:
        if self.failing:
            raise DependencyUnavailable("redis", "fake outage")
        arrival = max(self.arrivals.get(partner_id, now), now)
        wait = arrival - self.tolerance - now
        if wait > timedelta(0):
            return Throttled(retry_after_s=wait.total_seconds())
        self.arrivals[partner_id] = arrival + self.interval
        return None


class InMemorySessionStore:
    """`SessionStore` in a dict, forgetting sessions at `expires_at` of the clock."""

    def __init__(self, clock: FixedClock) -> None:
        self.sessions: dict[str, BrowserSession] = {}
        self.failing = False
        self._clock = clock

    async def save(self, session: BrowserSession, now: datetime) -> None:
        if self.failing:
            raise DependencyUnavailable("redis", "fake outage")
        self.sessions[session.session_id] = session

    async def get(self, session_id: str) -> BrowserSession | None:
        if self.failing:
            raise DependencyUnavailable("redis", "fake outage")
        session = self.sessions.get(session_id)
        if session is None or session.expires_at <= self._clock.now():
            return None
        return session

    async def delete(self, session_id: str) -> None:
        if self.failing:
            raise DependencyUnavailable("redis", "fake outage")
        self.sessions.pop(session_id, None)


class RecordingRedemptionBus:
    """Answers every launch with one provisioned user; records what was sent."""

    def __init__(self) -> None:
        self.sent: list[RedeemedLaunch] = []
        self.failing = False
        self.rejection: ProvisioningRejection | None = None
        self.permissions = CASHIER_PERMISSIONS

    async def provision(
        self, launch: RedeemedLaunch, timeout_s: float
    ) -> ProvisionedUser | ProvisioningRejection:
        self.sent.append(launch)
        if self.failing:
            raise DependencyUnavailable("rabbitmq", "no reply in time")
        if self.rejection is not None:
            return self.rejection
        return ProvisionedUser(
            pos_user_id=f"user-{launch.partner_id}-{launch.external_user_id}",
            partner_id=launch.partner_id,
            external_user_id=launch.external_user_id,
            display_name=launch.display_name or launch.external_user_id,
            location_id=launch.location_id,
            role_slug=launch.role_slug,
            permissions=self.permissions,
            user_created=True,
            membership_created=True,
        )


@dataclass
class RecordingSessionIssuer:
    """`SessionIssuer` that hands out numbered tokens and records sign-outs."""

    failing: bool = False
    issued: list[str] = field(default_factory=list)
    refreshed: list[str] = field(default_factory=list)
    signed_out: list[str] = field(default_factory=list)
    expires_in_s: int = 3600

    def _tokens(self, user: str) -> CognitoTokens:
        n = len(self.issued) + len(self.refreshed)
        return CognitoTokens(
            f"access-{n}", f"id-{n}", f"refresh-{user}", self.expires_in_s
        )

    async def issue(self, user: ProvisionedUser) -> CognitoTokens:
        if self.failing:
            raise DependencyUnavailable("cognito", "fake outage")
        self.issued.append(user.pos_user_id)
        return self._tokens(user.pos_user_id)

    async def refresh(self, pos_user_id: str, refresh_token: str) -> CognitoTokens:
        if self.failing:
            raise DependencyUnavailable("cognito", "fake outage")
        self.refreshed.append(pos_user_id)
        return self._tokens(pos_user_id)

    async def sign_out(self, pos_user_id: str) -> None:
        if self.failing:
            raise DependencyUnavailable("cognito", "fake outage")
        self.signed_out.append(pos_user_id)


class FixedPartnerAuthenticator:
    """Accepts `Bearer <partner id>`; `Bearer noscope:<id>` lacks the scope;
    `Bearer jwks-down` finds the key set unreachable."""

    async def authenticate(self, authorization: str | None) -> str:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme != "Bearer" or not token or token == "bad":
            raise InvalidToken()
        if token == "jwks-down":
            raise DependencyUnavailable("jwks", "ConnectionRefusedError")
        if token.startswith("noscope:"):
            raise InsufficientScope()
        return token


class InMemoryPartnerDirectory:
    """`PartnerDirectory` from a dict of partner → (status, locations)."""

    def __init__(self, grants: dict[str, tuple[str, frozenset[str]]]) -> None:
        self.grants = grants
        self.failing = False

    async def check(self, partner_id: str, location_id: str) -> None:
        if self.failing:
            raise DependencyUnavailable("provisioning", "fake outage")
        status, locations = self.grants.get(partner_id, ("", frozenset()))
        if status == "suspended":
            raise PartnerSuspended()
        if location_id not in locations:
            raise LocationNotPermitted()


class FixedDirectoryListener:
    """Stands in for the AMQP directory listener: loads `grants` as version 1
    at start and again whenever the copy asks for a snapshot."""

    def __init__(
        self,
        grants: dict[str, tuple[str, frozenset[str]]],
        follow: FollowDirectory,
        wanted: asyncio.Event,
    ) -> None:
        self._partners = [
            PartnerState(partner_id, status, locations, False)
            for partner_id, (status, locations) in grants.items()
        ]
        self._follow = follow
        self._wanted = wanted
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            # Like the real listener, a Redis outage waits for the next request.
            with contextlib.suppress(DependencyUnavailable):
                await self._follow.snapshot(1, self._partners)
            await self._wanted.wait()
            self._wanted.clear()


def expired_copy(session: BrowserSession, now: datetime) -> BrowserSession:
    return replace(session, expires_at=now)


TEST_BASE_URL = "http://testserver.local"
LOCATION_1 = "11111111-1111-4111-8111-111111111111"
LOCATION_2 = "22222222-2222-4222-8222-222222222222"
GRANTS = {
    "p1": ("active", frozenset({LOCATION_1})),
    "p2": ("active", frozenset({LOCATION_2})),
    "p3": ("suspended", frozenset({LOCATION_1})),
}


def make_settings(**changes: object) -> "Settings":
    """Settings for an app under test: plain HTTP cookies, a test key ring."""
    import base64

    from token_service.settings import Settings

    key = base64.urlsafe_b64encode(b"k" * 32).decode()
    values: dict[str, object] = {
        "public_base_url": TEST_BASE_URL,
        "signing_keys": Secret(f"k1:{key}"),
        "active_kid": "k1",
        "partner_issuer": "https://issuer.test",
        "partner_jwks_url": "http://127.0.0.1:9/jwks.json",
        "cognito_user_pool_id": "us-east-1_test",
        "cognito_client_id": "client",
        "cognito_password_key": Secret(key),
        "cookie_secure": False,
    }
    values.update(changes)
    return Settings(**values)  # type: ignore[arg-type]


@dataclass
class FakeWorld:
    """Every outbound port faked, with handles for the test to steer them."""

    clock: FixedClock = field(default_factory=FixedClock)
    ids: SequentialIds = field(default_factory=SequentialIds)
    bus: RecordingRedemptionBus = field(default_factory=RecordingRedemptionBus)
    issuer: RecordingSessionIssuer = field(default_factory=RecordingSessionIssuer)
    authenticator: FixedPartnerAuthenticator = field(
        default_factory=FixedPartnerAuthenticator
    )
    directory: InMemoryPartnerDirectory = field(
        default_factory=lambda: InMemoryPartnerDirectory(dict(GRANTS))
    )
    ledger: InMemoryLaunchLedger = field(default_factory=InMemoryLaunchLedger)
    limiter: InMemoryMintRateLimiter = field(default_factory=InMemoryMintRateLimiter)
    sessions: InMemorySessionStore | None = None

    def adapters(self, *, in_memory_stores: bool = True) -> "Adapters":
        """Fakes for everything; with `in_memory_stores=False` Redis is real."""
        from token_service.entrypoint import Adapters

        if self.sessions is None:
            self.sessions = InMemorySessionStore(self.clock)
        if not in_memory_stores:
            return Adapters(
                bus=self.bus,
                issuer=self.issuer,
                authenticator=self.authenticator,
                directory_listener=partial(FixedDirectoryListener, dict(GRANTS)),
                clock=self.clock,
                ids=self.ids,
            )
        return Adapters(
            ledger=self.ledger,
            sessions=self.sessions,
            limiter=self.limiter,
            directory=self.directory,
            bus=self.bus,
            issuer=self.issuer,
            authenticator=self.authenticator,
            clock=self.clock,
            ids=self.ids,
            probes={},
        )
