"""Browser sessions in Redis: `{prefix}session:{id}`, msgspec JSON, TTL to the end.

The key's TTL is the session's remaining absolute lifetime (DESIGN §10), so
Redis forgets a session exactly when it ends, whatever the activity.
"""

from datetime import datetime

import msgspec
from redis.asyncio import Redis

from token_service.adapters.outbound.redis_errors import redis_failures
from token_service.domain.session import BrowserSession


class RedisSessionStore:
    """`SessionStore` on Redis."""

    def __init__(self, redis: Redis, prefix: str = "") -> None:
        self._redis = redis
        self._prefix = prefix
        self._encoder = msgspec.json.Encoder()
        self._decoder = msgspec.json.Decoder(BrowserSession)

    def _key(self, session_id: str) -> str:
        return f"{self._prefix}session:{session_id}"

    async def save(self, session: BrowserSession, now: datetime) -> None:
        remaining_ms = int((session.expires_at - now).total_seconds() * 1000)
        if remaining_ms <= 0:
            return
        with redis_failures():
            await self._redis.set(
                self._key(session.session_id),
                self._encoder.encode(session),
                px=remaining_ms,
            )

    async def get(self, session_id: str) -> BrowserSession | None:
        with redis_failures():
            raw = await self._redis.get(self._key(session_id))
        if raw is None:
            return None
        try:
            return self._decoder.decode(raw)
        except msgspec.DecodeError:
            # A record of an older layout: treat as signed out rather than fail.
            return None

    async def delete(self, session_id: str) -> None:
        with redis_failures():
            await self._redis.delete(self._key(session_id))
