"""The directory copy in Redis, versioned and fed by provisioning's events (§7.2).

Keys: `{prefix}{directory}:copy:version` (the copy's directory version),
`{prefix}{directory}:copy:epoch` (the provisioning database it counts in) and
`{prefix}{directory}:copy:partners` (hash partner_id → JSON of status,
granted locations and the name-updates setting). All are written only by
Lua scripts that compare epoch and version first, so replicas applying the
same event twice, or an old event after a newer snapshot, change nothing,
and a snapshot from another database replaces the copy whatever its version. No TTL: the
copy lives until replaced. A replica answers a partner from process memory
for at most `memory_max_age_s` (under one second, so a revoked grant stops
new mints within a second) and forgets it at once when its own listener
applies a change to that partner.
"""

import asyncio
import time
from typing import Final

import msgspec
from redis.asyncio import Redis

from token_service.adapters.outbound.redis_errors import redis_failures, text
from token_service.application.follow_directory import Applied, PartnerState
from token_service.application.ports import DependencyUnavailable
from token_service.domain.errors import LocationNotPermitted, PartnerSuspended

MEMORY_MAX_AGE_S: Final = 0.5
SUSPENDED: Final = "suspended"
_APPLY: Final = """
local current = redis.call('GET', KEYS[1])
if not current then return 'empty' end
if (redis.call('GET', KEYS[3]) or '') ~= ARGV[4] then return 'gap' end
local version = tonumber(ARGV[1])
if version <= tonumber(current) then return 'stale' end
if version > tonumber(current) + 1 then return 'gap' end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('SET', KEYS[1], ARGV[1])
return 'applied'
"""
_LOAD: Final = """
local current = redis.call('GET', KEYS[1])
local same_epoch = (redis.call('GET', KEYS[3]) or '') == ARGV[2]
if current and same_epoch and tonumber(current) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('DEL', KEYS[2])
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[3], ARGV[2])
return 1
"""


class Entry(msgspec.Struct, frozen=True):
    status: str
    locations: frozenset[str]
    replace_display_name: bool = False


class RedisDirectoryCopy:
    """`PartnerDirectory` and `DirectoryCopy` on one Redis copy."""

    def __init__(
        self,
        redis: Redis,
        prefix: str = "",
        load_timeout_s: float = 5.0,
        memory_max_age_s: float = MEMORY_MAX_AGE_S,
    ) -> None:
        base = f"{prefix}{{directory}}:copy"
        self._keys = [f"{base}:version", f"{base}:partners", f"{base}:epoch"]
        self._redis = redis
        self._timeout_s = load_timeout_s
        self._memory_max_age_s = memory_max_age_s
        self._apply = redis.register_script(_APPLY)
        self._load = redis.register_script(_LOAD)
        self._encoder = msgspec.json.Encoder()
        self._decoder = msgspec.json.Decoder(Entry)
        self._memory: dict[str, tuple[float, Entry | None]] = {}
        self.snapshot_wanted = asyncio.Event()
        self._loaded = asyncio.Event()

    async def check(self, partner_id: str, location_id: str) -> None:
        kept = self._memory.get(partner_id)
        if kept is not None and time.monotonic() - kept[0] < self._memory_max_age_s:
            return _decide(kept[1], location_id)

        read_at = time.monotonic()
        found, entry = await self._read(partner_id)
        if not found:
            found, entry = await self._read_once_loaded(partner_id)
        self._memory[partner_id] = (read_at, entry)
        _decide(entry, location_id)

    async def apply(
        self, version: int, partner: PartnerState, *, epoch: str = ""
    ) -> Applied:
        with redis_failures():
            outcome = await self._apply(
                keys=self._keys,
                args=[version, partner.partner_id, self._encode(partner), epoch],
            )
        self._memory.pop(partner.partner_id, None)
        return Applied(text(outcome) or "")

    async def load(
        self, version: int, partners: list[PartnerState], *, epoch: str = ""
    ) -> bool:
        args: list[str | int | bytes] = [version, epoch]
        for partner in partners:
            args += [partner.partner_id, self._encode(partner)]
        with redis_failures():
            loaded = bool(await self._load(keys=self._keys, args=args))
        self._memory.clear()
        self._loaded.set()
        return loaded

    async def _read(self, partner_id: str) -> tuple[bool, Entry | None]:
        """(whether a copy exists, the partner's entry in it)."""
        with redis_failures():
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.exists(self._keys[0])
                pipe.hget(self._keys[1], partner_id)
                exists, raw = await pipe.execute()
        return bool(exists), (self._decoder.decode(raw) if raw else None)

    async def _read_once_loaded(self, partner_id: str) -> tuple[bool, Entry | None]:
        """Asks the listener for a snapshot and waits for it, within the timeout."""
        self._loaded.clear()
        self.snapshot_wanted.set()
        try:
            await asyncio.wait_for(self._loaded.wait(), self._timeout_s)
        except TimeoutError:
            raise DependencyUnavailable("directory", "no snapshot loaded") from None
        return await self._read(partner_id)

    def _encode(self, partner: PartnerState) -> bytes:
        locations = frozenset(location.lower() for location in partner.location_ids)
        entry = Entry(partner.status, locations, partner.replace_display_name)
        return self._encoder.encode(entry)


def _decide(entry: Entry | None, location_id: str) -> None:
    if entry is not None and entry.status == SUSPENDED:
        raise PartnerSuspended()
    if entry is None or location_id.lower() not in entry.locations:
        raise LocationNotPermitted()
