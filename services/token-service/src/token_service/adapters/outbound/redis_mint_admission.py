"""A mint's rate budget and its ledger record in one Redis round trip.

The rate limiter's GCRA script and the ledger's store script go out in one
non-transactional pipeline. They touch two keys in two hash slots, so they
stay two scripts (DESIGN §12: every multi-key script inside one slot); the
record is written whatever the budget says and deleted again when the
budget refuses, which costs a second round trip on the throttled path only.
Until then nobody can reach it: its jti was never signed into a token.
"""

from datetime import datetime

from redis.asyncio import Redis

from token_service.adapters.outbound.redis_errors import redis_failures
from token_service.adapters.outbound.redis_launch_ledger import RedisLaunchLedger
from token_service.adapters.outbound.redis_mint_rate_limiter import (
    RedisMintRateLimiter,
    throttled,
)
from token_service.application.launch_ports import Throttled
from token_service.domain.launch import LaunchDetails


class RedisMintAdmission:
    """`MintAdmission` on the Redis rate limiter and ledger, one round trip."""

    def __init__(
        self, redis: Redis, limiter: RedisMintRateLimiter, ledger: RedisLaunchLedger
    ) -> None:
        self._redis = redis
        self._limiter = limiter
        self._ledger = ledger

    async def admit(
        self,
        partner_id: str,
        jti: str,
        details: LaunchDetails,
        expires_at: datetime,
        now: datetime,
    ) -> Throttled | None:
        with redis_failures():
            async with self._redis.pipeline(transaction=False) as pipe:
                self._limiter.queue_acquire(pipe, partner_id, now)
                self._ledger.queue_store(pipe, jti, details, expires_at, now)
                wait_ms, _ = await pipe.execute()

        refused = throttled(wait_ms)
        if refused is not None:
            with redis_failures():
                await self._redis.delete(self._ledger.key(jti))
        return refused
