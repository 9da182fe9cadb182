"""Idempotency-Keys in Redis: `{prefix}idempotency:{partner}:{key}`, msgspec JSON.

The value holds the body's fingerprint and, once minted, the answer (the
launch URL included: a replay must return the same link). A held key
without an answer lapses after the hold; an answered one when its link
expires, so a key is safe to retry for exactly the link's lifetime.
"""

from datetime import UTC, datetime
from typing import Final

import msgspec
from redis.asyncio import Redis

from token_service.adapters.outbound.redis_errors import redis_failures
from token_service.application.link_ports import KeyInUse, RememberedLaunch

# Read and hold in one step, so concurrent takers see exactly one winner.
_TAKE: Final = """
local held = redis.call('GET', KEYS[1])
if held then return held end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
"""
_RELEASE: Final = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
"""


class _Answer(msgspec.Struct, frozen=True):
    jti: str
    launch_url: str
    expires_at_ms: int


class _Held(msgspec.Struct, frozen=True):
    fingerprint: str
    answer: _Answer | None = None


class RedisIdempotencyKeys:
    """`IdempotencyKeys` on Redis; one key per (partner, Idempotency-Key)."""

    def __init__(self, redis: Redis, prefix: str = "") -> None:
        self._prefix = prefix
        self._redis = redis
        self._take = redis.register_script(_TAKE)
        self._release = redis.register_script(_RELEASE)
        self._decoder = msgspec.json.Decoder(_Held)

    def _key(self, partner_id: str, key: str) -> str:
        return f"{self._prefix}idempotency:{{{partner_id}}}:{key}"

    async def take(
        self, partner_id: str, key: str, fingerprint: str, hold_s: float
    ) -> KeyInUse | None:
        pending = msgspec.json.encode(_Held(fingerprint))
        with redis_failures():
            held = await self._take(
                keys=[self._key(partner_id, key)],
                args=[pending, max(1, int(hold_s * 1000))],
            )
        if not held:
            return None

        found = self._decoder.decode(held)
        answer = None
        if found.answer is not None:
            answer = RememberedLaunch(
                jti=found.answer.jti,
                launch_url=found.answer.launch_url,
                expires_at=datetime.fromtimestamp(
                    found.answer.expires_at_ms / 1000, tz=UTC
                ),
            )
        return KeyInUse(found.fingerprint, answer)

    async def remember(
        self,
        partner_id: str,
        key: str,
        fingerprint: str,
        answer: RememberedLaunch,
        now: datetime,
    ) -> None:
        expires_at_ms = int(answer.expires_at.timestamp() * 1000)
        value = _Held(
            fingerprint, _Answer(answer.jti, answer.launch_url, expires_at_ms)
        )
        ttl_ms = max(1, expires_at_ms - int(now.timestamp() * 1000))
        with redis_failures():
            await self._redis.set(
                self._key(partner_id, key), msgspec.json.encode(value), px=ttl_ms
            )

    async def release(self, partner_id: str, key: str, fingerprint: str) -> None:
        pending = msgspec.json.encode(_Held(fingerprint))
        with redis_failures():
            await self._release(keys=[self._key(partner_id, key)], args=[pending])
