"""Per-partner mint rate limit in Redis: GCRA, one Lua script, one round trip.

Key `{prefix}mint-rate:{partner_id}` holds the partner's theoretical arrival
time (TAT, epoch milliseconds of the caller's clock). A mint is admitted
while the TAT is at most `burst - 1` emission intervals ahead of now; each
admitted mint pushes it one interval further. The key expires when the TAT
is reached, so an idle partner costs no memory. One key per script: safe on
Redis Cluster, and shared by every replica.
"""

from datetime import datetime
from typing import Final

from redis.asyncio import Redis

from token_service.adapters.outbound.redis_errors import redis_failures
from token_service.application.launch_ports import Throttled

# Generic Cell Rate Algorithm (ITU-T I.371): answers the wait in ms, 0 = admitted.
_ACQUIRE: Final = """
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
        self._acquire = redis.register_script(_ACQUIRE)
        self._interval_ms = 1000.0 / rate_per_s
        self._burst = burst
        self._prefix = prefix

    async def acquire(self, partner_id: str, now: datetime) -> Throttled | None:
        key = f"{self._prefix}mint-rate:{partner_id}"
        now_ms = now.timestamp() * 1000

        with redis_failures():
            wait_ms = await self._acquire(
                keys=[key], args=[f"{now_ms:.3f}", self._interval_ms, self._burst]
            )

        if int(wait_ms) <= 0:
            return None
        return Throttled(retry_after_s=int(wait_ms) / 1000)
