"""The launch ledger in Redis: one hash per launch, every transition one Lua script.

Key `{prefix}launch:{jti}`, a hash with `details` (msgspec JSON), `state`
(minted | claimed | redeemed), `owner`, `lease_until` and `purge_at` (epoch
milliseconds of the caller's clock) and `session_id`. The key expires 60 s
after the token does; the scripts also treat a record past `purge_at` as gone,
so the caller's clock rules. One key per script: safe on Redis Cluster.
"""

from datetime import datetime, timedelta
from typing import Any, Final

import msgspec
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from token_service.adapters.outbound.redis_errors import redis_failures, text
from token_service.application.launch_ports import ClaimRefused
from token_service.domain.launch import LaunchDetails

LEASE_MS: Final = 30_000
# DESIGN §5: the record outlives the token by 60 s so late opens still say "used".
PURGE_AFTER_EXPIRY: Final = timedelta(seconds=60)

STORE_SCRIPT: Final = """
redis.call('HSET', KEYS[1], 'details', ARGV[1], 'state', 'minted',
           'purge_at', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""
_CLAIM: Final = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'unknown'} end
local now = tonumber(ARGV[2])
if now >= tonumber(redis.call('HGET', KEYS[1], 'purge_at')) then
  redis.call('DEL', KEYS[1])
  return {'unknown'}
end
local lease = tonumber(redis.call('HGET', KEYS[1], 'lease_until') or '0')
if state == 'minted' or (state == 'claimed' and now >= lease) then
  redis.call('HSET', KEYS[1], 'state', 'claimed', 'owner', ARGV[1],
             'lease_until', now + tonumber(ARGV[3]))
  return {'claimed', redis.call('HGET', KEYS[1], 'details')}
end
if state == 'claimed' then return {'busy'} end
return {'used'}
"""
_RELEASE: Final = """
if redis.call('HGET', KEYS[1], 'state') ~= 'claimed' then return 0 end
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'minted')
redis.call('HDEL', KEYS[1], 'owner', 'lease_until')
return 1
"""
_COMPLETE: Final = """
if redis.call('HGET', KEYS[1], 'state') ~= 'claimed' then return 0 end
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'redeemed', 'session_id', ARGV[2])
return 1
"""


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class RedisLaunchLedger:
    """`LaunchLedger` on Redis; scripts are registered once per instance."""

    def __init__(self, redis: Redis, prefix: str = "") -> None:
        self._redis = redis
        self._prefix = prefix
        self._store = redis.register_script(STORE_SCRIPT)
        self._claim = redis.register_script(_CLAIM)
        self._release = redis.register_script(_RELEASE)
        self._complete = redis.register_script(_COMPLETE)
        self._encoder = msgspec.json.Encoder()
        self._decoder = msgspec.json.Decoder(LaunchDetails)

    def key(self, jti: str) -> str:
        """The record's Redis key."""
        return f"{self._prefix}launch:{jti}"

    async def store(
        self, jti: str, details: LaunchDetails, expires_at: datetime, now: datetime
    ) -> None:
        # One script, not MULTI/HSET/PEXPIRE/EXEC: one command for the client
        # to encode and one reply to parse, the same atomicity.
        with redis_failures():
            await self._store(
                keys=[self.key(jti)], args=self._store_args(details, expires_at, now)
            )

    def queue_store(
        self,
        pipe: Pipeline,
        jti: str,
        details: LaunchDetails,
        expires_at: datetime,
        now: datetime,
    ) -> None:
        """`store` as one command (EVAL) of the caller's pipeline."""
        args = self._store_args(details, expires_at, now)
        pipe.eval(STORE_SCRIPT, 1, self.key(jti), *args)

    def _store_args(
        self, details: LaunchDetails, expires_at: datetime, now: datetime
    ) -> list[Any]:
        purge_at = expires_at + PURGE_AFTER_EXPIRY
        ttl_ms = max(1, _epoch_ms(purge_at) - _epoch_ms(now))
        return [self._encoder.encode(details), _epoch_ms(purge_at), ttl_ms]

    async def claim(
        self, jti: str, owner: str, now: datetime
    ) -> LaunchDetails | ClaimRefused:
        with redis_failures():
            reply = await self._claim(
                keys=[self.key(jti)], args=[owner, _epoch_ms(now), LEASE_MS]
            )
        outcome = text(reply[0])
        if outcome == "claimed":
            return self._decoder.decode(reply[1])
        if outcome == "busy":
            return ClaimRefused("busy")
        if outcome == "unknown":
            return ClaimRefused("unknown")
        return ClaimRefused("used")

    async def release(self, jti: str, owner: str) -> bool:
        with redis_failures():
            reply = await self._release(keys=[self.key(jti)], args=[owner])
        return bool(reply)

    async def complete(self, jti: str, owner: str, session_id: str) -> bool:
        with redis_failures():
            reply = await self._complete(keys=[self.key(jti)], args=[owner, session_id])
        return bool(reply)
