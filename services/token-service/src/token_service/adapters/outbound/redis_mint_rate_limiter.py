"""Per-partner mint rate limit in Redis: GCRA, one Lua script, one round trip.

Key `{prefix}mint-rate:{partner_id}` holds the partner's theoretical arrival
time (TAT, epoch milliseconds of the caller's clock). A mint is admitted
while the TAT is at most `burst - 1` emission intervals ahead of now; each
admitted mint pushes it one interval further. The key expires when the TAT
is reached, so an idle partner costs no memory. One key per script: safe on
Redis Cluster, and shared by every replica.
"""

from datetime import datetime
from typing import Any, Final

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from token_service.adapters.outbound.redis_errors import redis_failures
from token_service.application.launch_ports import Throttled

# Generic Cell Rate Algorithm (ITU-T I.371): answers the wait in ms, 0 = admitted.
ACQUIRE_SCRIPT: Final = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local tolerance = interval * (tonumber(ARGV[3]) - 1)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait > 0 then return math.ceil(wait) end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.3f', next_tat),
           'PX', math.max(1, math.ceil(next_tat - now)))
return 0
"""


class RedisMintRateLimiter:
    """`MintRateLimiter` on Redis: `rate_per_s` sustained, `burst` at once."""

    def __init__(
        self, redis: Redis, rate_per_s: float, burst: int, prefix: str = ""
    ) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("expected rate_per_s > 0 and burst >= 1")
        self._acquire = redis.register_script(ACQUIRE_SCRIPT)
        self._interval_ms = 1000.0 / rate_per_s
        self._burst = burst
        self._prefix = prefix

    async def acquire(self, partner_id: str, now: datetime) -> Throttled | None:
        with redis_failures():
            wait_ms = await self._acquire(
                keys=[self._key(partner_id)], args=self._args(now)
            )
        return throttled(wait_ms)

    def queue_acquire(self, pipe: Pipeline, partner_id: str, now: datetime) -> None:
        """`acquire` as one command of the caller's pipeline; `throttled` reads it.

        EVAL, not EVALSHA: a pipeline cannot retry one command on NOSCRIPT, and
        Redis caches the compiled script by its hash all the same.
        """
        pipe.eval(ACQUIRE_SCRIPT, 1, self._key(partner_id), *self._args(now))

    def _key(self, partner_id: str) -> str:
        return f"{self._prefix}mint-rate:{partner_id}"

    def _args(self, now: datetime) -> list[Any]:
        return [f"{now.timestamp() * 1000:.3f}", self._interval_ms, self._burst]


def throttled(wait_ms: Any) -> Throttled | None:
    """The acquire script's answer (the wait in ms, 0 = admitted) as the port's."""
    if int(wait_ms) <= 0:
        return None
    return Throttled(retry_after_s=int(wait_ms) / 1000)
