"""The outbound adapters the service runs with, and builders of the real ones.

Real adapters are created here from settings, inside the app's lifespan, so
they bind to the server's event loop; imports are lazy so that a missing
optional driver only fails when it is needed.
"""

from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from opentelemetry.trace import Tracer

from token_service.application.launch_ports import (
    Clock,
    IdGenerator,
    LaunchLedger,
    LaunchTokens,
    MintAdmission,
    MintRateLimiter,
    PartnerAuthenticator,
    PartnerDirectory,
    SessionStore,
)
from token_service.application.link_ports import IdempotencyKeys, LaunchRegistry
from token_service.application.metrics import LaunchMetrics, NoMetrics
from token_service.application.ports import RedemptionBus, SessionIssuer
from token_service.directory_wiring import (
    ListenerFactory,
    amqp_listener,
    directory_copy,
)
from token_service.settings import Settings, decode_key, parse_key_ring

Probe = Callable[[], Awaitable[bool]]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Adapters:
    """Adapters to use instead of the real ones; `None` means build the real one."""

    ledger: LaunchLedger | None = None
    sessions: SessionStore | None = None
    limiter: MintRateLimiter | None = None
    admission: MintAdmission | None = None
    registry: LaunchRegistry | None = None
    idempotency_keys: IdempotencyKeys | None = None
    tokens: LaunchTokens | None = None
    authenticator: PartnerAuthenticator | None = None
    directory: PartnerDirectory | None = None
    # Builds what feeds the Redis copy when `directory` is not given.
    directory_listener: ListenerFactory | None = None
    bus: RedemptionBus | None = None
    issuer: SessionIssuer | None = None
    clock: Clock | None = None
    ids: IdGenerator | None = None
    probes: dict[str, Probe] | None = None


async def build_missing(
    settings: Settings,
    given: Adapters,
    stack: AsyncExitStack,
    metrics: LaunchMetrics | None = None,
    tracer: Tracer | None = None,
) -> Adapters:
    """`given`, completed with real adapters; `stack` closes what was opened.

    Adapters that call out on their own (the broker, Cognito, the JWKS)
    report to `metrics` and open spans on `tracer` when it is given.
    """
    metrics = metrics or NoMetrics()
    from token_service.adapters.outbound.secrets_ids import (
        SecretsIdGenerator,
        SystemClock,
    )

    adapters = replace(
        given,
        clock=given.clock or SystemClock(),
        ids=given.ids or SecretsIdGenerator(),
        tokens=given.tokens or _launch_tokens(settings),
    )
    probes = dict(given.probes or {})
    redis_client: Any = None
    if not (given.ledger and given.sessions and given.limiter and given.directory):
        redis_client = _redis_client(settings, stack, probes)
        adapters = _with_redis(settings, adapters, redis_client)
    if given.bus is None:
        adapters = await _with_amqp(settings, adapters, stack, probes, metrics, tracer)
    if given.directory is None:
        listen = given.directory_listener or amqp_listener(settings)
        directory = directory_copy(settings, redis_client, listen, stack)
        adapters = replace(adapters, directory=directory)
    if given.issuer is None:
        adapters = _with_cognito(settings, adapters, stack, metrics, tracer)
    if given.authenticator is None:
        adapters = replace(adapters, authenticator=_authenticator(settings, metrics))
    return replace(adapters, probes=probes)


def _authenticator(settings: Settings, metrics: LaunchMetrics) -> PartnerAuthenticator:
    from token_service.adapters.outbound.opentelemetry_observed_ports import (
        ObservedJWKClient,
    )
    from token_service.adapters.outbound.pyjwt_partner_authenticator import (
        JWKS_CACHE_S,
        PyJwtPartnerAuthenticator,
    )

    url = settings.partner_jwks_url
    return PyJwtPartnerAuthenticator(
        url,
        settings.partner_issuer,
        settings.partner_scope,
        jwks_client=ObservedJWKClient(
            url, metrics, cache_keys=True, lifespan=JWKS_CACHE_S, timeout=5
        ),
    )


def _redis_client(
    settings: Settings, stack: AsyncExitStack, probes: dict[str, Probe]
) -> Any:
    import redis.asyncio as redis

    # redis-py's default pool raises "Too many connections" once its 100 are in
    # use; this one makes the caller wait for a free connection, but not forever.
    pool = redis.BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=settings.redis_max_connections,
        timeout=settings.redis_pool_timeout_s,
        socket_connect_timeout=settings.redis_socket_timeout_s,
        socket_timeout=settings.redis_socket_timeout_s,
    )
    client: Any = redis.Redis.from_pool(pool)
    stack.push_async_callback(client.aclose)

    async def redis_ready() -> bool:
        try:
            return bool(await client.ping())
        except Exception:  # readiness reports any failure as "not ready"
            return False

    probes["redis"] = redis_ready
    return client


def _with_redis(settings: Settings, adapters: Adapters, client: Any) -> Adapters:
    from token_service.adapters.outbound.redis_idempotency_keys import (
        RedisIdempotencyKeys,
    )
    from token_service.adapters.outbound.redis_launch_ledger import RedisLaunchLedger
    from token_service.adapters.outbound.redis_launch_registry import (
        RedisLaunchRegistry,
    )
    from token_service.adapters.outbound.redis_mint_admission import (
        RedisMintAdmission,
    )
    from token_service.adapters.outbound.redis_mint_rate_limiter import (
        RedisMintRateLimiter,
    )
    from token_service.adapters.outbound.redis_session_store import RedisSessionStore

    prefix = settings.redis_prefix
    limiter = adapters.limiter or RedisMintRateLimiter(
        client, settings.mint_rate_per_s, settings.mint_burst, prefix
    )
    ledger = adapters.ledger or RedisLaunchLedger(client, prefix)
    admission = adapters.admission
    if isinstance(limiter, RedisMintRateLimiter) and isinstance(
        ledger, RedisLaunchLedger
    ):
        admission = admission or RedisMintAdmission(client, limiter, ledger)
    registry = adapters.registry
    if isinstance(ledger, RedisLaunchLedger):
        # The registry reads the ledger's own records: only a Redis ledger's.
        registry = registry or RedisLaunchRegistry(client, prefix)
    return replace(
        adapters,
        ledger=ledger,
        sessions=adapters.sessions or RedisSessionStore(client, prefix),
        limiter=limiter,
        admission=admission,
        registry=registry,
        idempotency_keys=adapters.idempotency_keys
        or RedisIdempotencyKeys(client, prefix),
    )


async def _with_amqp(
    settings: Settings,
    adapters: Adapters,
    stack: AsyncExitStack,
    probes: dict[str, Probe],
    metrics: LaunchMetrics,
    tracer: Tracer | None,
) -> Adapters:
    from tilt_shared.bus import BusNames
    from token_service.adapters.outbound.aio_pika_provisioning_client import (
        AioPikaProvisioningClient,
    )

    client: Any = AioPikaProvisioningClient(
        settings.amqp_url, BusNames.with_prefix(settings.bus_prefix), metrics, tracer
    )
    await client.start()
    stack.push_async_callback(client.close)

    async def amqp_ready() -> bool:
        return bool(client.is_connected)

    probes["amqp"] = amqp_ready
    return replace(adapters, bus=client)


def _with_cognito(
    settings: Settings,
    adapters: Adapters,
    stack: AsyncExitStack,
    metrics: LaunchMetrics,
    tracer: Tracer | None,
) -> Adapters:
    from token_service.adapters.outbound.cognito_session_issuer import (
        CognitoConfig,
        CognitoSessionIssuer,
    )
    from token_service.adapters.outbound.opentelemetry_observed_ports import (
        cognito_observer,
    )

    config = CognitoConfig(
        endpoint_url=settings.cognito_endpoint_url or None,
        region=settings.cognito_region,
        user_pool_id=settings.cognito_user_pool_id,
        client_id=settings.cognito_client_id,
        client_secret=settings.cognito_client_secret.reveal(),
        password_key=decode_key(
            settings.cognito_password_key.reveal(), "COGNITO_PASSWORD_KEY"
        ),
    )
    issuer = CognitoSessionIssuer(config, cognito_observer(metrics, tracer))
    stack.callback(issuer.close)
    return replace(adapters, issuer=issuer)


def _launch_tokens(settings: Settings) -> LaunchTokens:
    from token_service.adapters.outbound.pyjwt_launch_tokens import PyJwtLaunchTokens

    return PyJwtLaunchTokens(
        parse_key_ring(settings.signing_keys.reveal()),
        settings.active_kid,
        settings.token_issuer,
        settings.token_audience,
        settings.expiry_leeway_s,
    )


def need(adapter: T | None) -> T:
    if adapter is None:
        raise RuntimeError("an adapter was neither given nor built")
    return adapter
