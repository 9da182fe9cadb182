"""Deletes the Redis keys a test run wrote under its own prefixes.

Some keys have no TTL (the directory copy, idempotency and rate-limit state
lives for minutes or longer), and thousands left by every run make the
machine's Redis slower to scan for the next one. Prefixes are unique per run,
so deleting them never touches another run's keys.
"""

import asyncio
from typing import Final

from redis.asyncio import Redis

REDIS_PREFIXES: Final[set[str]] = set()
RESOLVED_REDIS: Final[list[str]] = []


def remember_redis_prefix(prefix: str) -> str:
    REDIS_PREFIXES.add(prefix)
    return prefix


async def _delete(redis_url: str, prefixes: set[str]) -> None:
    client = Redis.from_url(redis_url)
    try:
        for prefix in prefixes:
            # Prefixes are generated names: no glob characters to escape.
            keys = [key async for key in client.scan_iter(f"{prefix}*", count=1000)]
            for start in range(0, len(keys), 500):
                await client.unlink(*keys[start : start + 500])
    finally:
        await client.aclose()


def delete_written_keys() -> None:
    """Called once at the end of the session; best effort, never raises."""
    if not (REDIS_PREFIXES and RESOLVED_REDIS):
        return
    try:
        asyncio.run(asyncio.wait_for(_delete(RESOLVED_REDIS[0], REDIS_PREFIXES), 60))
    except Exception as exc:  # cleanup must never turn a green run red
        print(f"redis cleanup skipped: {type(exc).__name__}")
