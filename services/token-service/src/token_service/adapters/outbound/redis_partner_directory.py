"""The token service's copy of partner grants in Redis (DESIGN §7.2).

Loaded from provisioning's snapshot (`DirectorySource`) when the copy is
missing or older than `max_age_s`, and once more on a miss when it is older
than `MISS_RELOAD_AFTER_S`. Each load writes a new generation hash
`{prefix}{directory}:gen:{id}` (field partner_id → JSON of status and granted
locations) and then points `{prefix}{directory}:current` at it, so readers
never see half a snapshot. Provisioning stays authoritative at redemption.
A granted answer is also kept in process memory with the copy's load time,
so a fresh copy answers a mint without a round trip to Redis.
"""

import asyncio
import uuid
from datetime import datetime
from typing import Final

import msgspec
from redis.asyncio import Redis
from redis.typing import EncodableT

from token_service.adapters.outbound.redis_errors import redis_failures, text
from token_service.application.launch_ports import Clock
from token_service.application.ports import DependencyUnavailable, DirectorySource
from token_service.domain.errors import LocationNotPermitted, PartnerSuspended

MISS_RELOAD_AFTER_S: Final = 1.0
GENERATION_TTL_S: Final = 3600
SUSPENDED: Final = "suspended"
_LOOKUP: Final = """
local current = redis.call('GET', KEYS[1])
if not current then return {false, false} end
local sep = string.find(current, '|', 1, true)
local gen = string.sub(current, 1, sep - 1)
local loaded_at = string.sub(current, sep + 1)
return {loaded_at, redis.call('HGET', ARGV[1] .. gen, ARGV[2])}
"""


class PartnerEntry(msgspec.Struct, frozen=True):
    status: str
    locations: frozenset[str]


class RedisPartnerDirectory:
    """`PartnerDirectory` backed by a Redis copy of provisioning's grants."""

    def __init__(
        self,
        redis: Redis,
        source: DirectorySource,
        clock: Clock,
        prefix: str = "",
        max_age_s: float = 5.0,
        snapshot_timeout_s: float = 5.0,
    ) -> None:
        self._redis = redis
        self._source = source
        self._clock = clock
        self._prefix = prefix
        self._max_age_s = max_age_s
        self._timeout_s = snapshot_timeout_s
        self._lookup = redis.register_script(_LOOKUP)
        self._reloading = asyncio.Lock()
        self._decoder = msgspec.json.Decoder(PartnerEntry)
        self._encoder = msgspec.json.Encoder()
        # partner_id (from a verified token) -> (load time of the copy, entry)
        self._granted: dict[str, tuple[float, PartnerEntry]] = {}

    async def check(self, partner_id: str, location_id: str) -> None:
        kept = self._granted.get(partner_id)
        if kept is not None and location_id in kept[1].locations:
            age = self._age(kept[0])
            if age is not None and age <= self._max_age_s:
                return

        loaded_at, entry = await self._read(partner_id)
        age = self._age(loaded_at)
        granted = entry is not None and location_id in entry.locations
        stale = age is None or age > self._max_age_s
        if stale or (not granted and age is not None and age > MISS_RELOAD_AFTER_S):
            loaded_at, entry = await self._reload(
                partner_id, (loaded_at, entry), have_copy=age is not None
            )
        _decide(entry, location_id)
        if entry is not None and loaded_at is not None:
            self._granted[partner_id] = (loaded_at, entry)

    def _age(self, loaded_at: float | None) -> float | None:
        if loaded_at is None:
            return None
        return self._clock.now().timestamp() - loaded_at

    async def _read(self, partner_id: str) -> tuple[float | None, PartnerEntry | None]:
        with redis_failures():
            loaded_raw, entry_raw = await self._lookup(
                keys=[f"{self._prefix}{{directory}}:current"],
                args=[f"{self._prefix}{{directory}}:gen:", partner_id],
            )
        loaded = text(loaded_raw)
        entry = self._decoder.decode(entry_raw) if entry_raw else None
        return (float(loaded) if loaded else None), entry

    async def _reload(
        self,
        partner_id: str,
        fallback: tuple[float | None, PartnerEntry | None],
        have_copy: bool,
    ) -> tuple[float | None, PartnerEntry | None]:
        """The partner's entry from a fresh snapshot, with the snapshot's time."""
        async with self._reloading:
            try:
                snapshot = await self._source.snapshot(self._timeout_s)
            except DependencyUnavailable:
                if not have_copy:
                    raise
                # A stale copy is still a fair answer: provisioning re-checks.
                return fallback
            loaded_at = self._clock.now()
            await self._write(snapshot, loaded_at)
        status, locations = snapshot.get(partner_id, ("", frozenset()))
        if not status:
            return loaded_at.timestamp(), None
        entry = PartnerEntry(status, frozenset(loc.lower() for loc in locations))
        return loaded_at.timestamp(), entry

    async def _write(
        self, snapshot: dict[str, tuple[str, frozenset[str]]], now: datetime
    ) -> None:
        generation = uuid.uuid4().hex
        key = f"{self._prefix}{{directory}}:gen:{generation}"
        mapping: dict[EncodableT, EncodableT] = {"": b""}
        for partner_id, (status, locations) in snapshot.items():
            entry = PartnerEntry(status, frozenset(loc.lower() for loc in locations))
            mapping[partner_id] = self._encoder.encode(entry)
        with redis_failures():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(key, mapping=mapping)
                pipe.expire(key, GENERATION_TTL_S)
                pipe.set(
                    f"{self._prefix}{{directory}}:current",
                    f"{generation}|{now.timestamp()}",
                )
                await pipe.execute()


def _decide(entry: PartnerEntry | None, location_id: str) -> None:
    if entry is not None and entry.status == SUSPENDED:
        raise PartnerSuspended()
    if entry is None or location_id not in entry.locations:
        raise LocationNotPermitted()
