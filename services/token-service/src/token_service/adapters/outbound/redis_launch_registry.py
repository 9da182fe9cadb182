"""The launch registry in Redis: the ledger's records read and revoked, plus an index.

Works on the ledger's hash `{prefix}launch:{jti}` (see `redis_launch_ledger`)
and adds `created_at`, `redeemed_at` and `revoked_at` (epoch ms) to it.
Revocation is one script on that one key, so against the ledger's claim
script exactly one of the two wins.

The index is two sorted sets per partner,
`{prefix}launch-index-v2:{partner}:user:{external_user_id}` and
`…:location:{location_id}`, with the partner as hash tag so both sit in one
slot. A member is a link's id scored by its record's `purge_at` (epoch ms
of the caller's clock). Every track and every bulk revocation first drops
the members already purged, so an index holds only the links minted within
one lifetime plus 60 s, whatever the mint rate; a bulk revocation then reads
only the links not yet expired. A key expires with the latest of its links,
so an idle index disappears.

Tracking is one script on both indexes (one slot: safe on Redis Cluster);
so is the bulk revocation's read. Of a track and a bulk revocation racing,
the link is either read, and revoked if still pending, or indexed after the
read, so answered to the partner after the revocation began.

The previous release kept plain sets under `launch-index:`. The new name
means no mint or revocation ever meets a set where it expects a sorted set
(WRONGTYPE), and the old sets expire unaided once no old replica writes
them. During a rolling deploy each version's bulk revocation sees only the
links that version indexed, for at most one link lifetime.
"""

from datetime import UTC, datetime
from typing import Any, Final, cast

import msgspec
from redis.asyncio import Redis

from token_service.adapters.outbound.redis_errors import redis_failures, text
from token_service.adapters.outbound.redis_launch_ledger import PURGE_AFTER_EXPIRY
from token_service.application.link_ports import (
    LaunchRecord,
    LedgerState,
    RevokeOutcome,
)
from token_service.domain.launch import LaunchDetails

_PURGE_AFTER_MS: Final = int(PURGE_AFTER_EXPIRY.total_seconds() * 1000)
# Revoke scripts per round trip: a bulk revocation's request and reply stay
# small however many links are pending.
_REVOKE_BATCH: Final = 500
_FIELDS: Final = (
    "state",
    "details",
    "purge_at",
    "created_at",
    "redeemed_at",
    "session_id",
)
_SET_IF_PRESENT: Final = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""
_MARK_REDEEMED: Final = """
if redis.call('HGET', KEYS[1], 'state') ~= 'redeemed' then return 0 end
redis.call('HSET', KEYS[1], 'redeemed_at', ARGV[1])
return 1
"""
# KEYS: the link's indexes. ARGV: jti, its purge_at, now (ms), the key's TTL.
# The TTL only grows: a shorter link never cuts the life of a longer one's index.
_TRACK: Final = """
for _, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[3])
  redis.call('ZADD', key, ARGV[2], ARGV[1])
  if redis.call('PTTL', key) < tonumber(ARGV[4]) then
    redis.call('PEXPIRE', key, ARGV[4])
  end
end
return 1
"""
# KEYS: one or two indexes. ARGV: now, and the purge_at of a link expiring now.
_PENDING: Final = """
for _, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1])
end
local pending = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[2], '+inf')
if #KEYS == 1 then return pending end
local matching = {}
for _, jti in ipairs(pending) do
  if redis.call('ZSCORE', KEYS[2], jti) then table.insert(matching, jti) end
end
return matching
"""
# A claim whose lease ran out is abandoned: the ledger's claim takes it over,
# and so may a revocation. A live lease is a redemption under way.
_REVOKE: Final = """
local f = redis.call('HMGET', KEYS[1], 'state', 'details', 'purge_at',
                     'lease_until', 'session_id')
local state = f[1]
if not state then return 'unknown' end
local now = tonumber(ARGV[2])
local purge_at = tonumber(f[3])
if now >= purge_at then return 'unknown' end
if cjson.decode(f[2])['partner_id'] ~= ARGV[1] then return 'unknown' end
if state == 'revoked' then return 'already_revoked' end
if state == 'redeemed' then
  -- The ledger completes a launch provisioning refused with no session.
  if f[5] == '' then return 'refused' end
  return 'redeemed'
end
if now >= purge_at - tonumber(ARGV[3]) then return 'expired' end
if state == 'claimed' and now < tonumber(f[4] or '0') then return 'claimed' end
redis.call('HSET', KEYS[1], 'state', 'revoked', 'revoked_at', ARGV[2])
redis.call('HDEL', KEYS[1], 'owner', 'lease_until')
return 'revoked'
"""


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _moment(value: Any) -> datetime | None:
    shown = text(value)
    if not shown:
        return None
    return datetime.fromtimestamp(int(shown) / 1000, tz=UTC)


class RedisLaunchRegistry:
    """`LaunchRegistry` on the Redis launch ledger's records."""

    def __init__(self, redis: Redis, prefix: str = "") -> None:
        self._redis = redis
        self._prefix = prefix
        self._mark_redeemed = redis.register_script(_MARK_REDEEMED)
        self._pending = redis.register_script(_PENDING)
        self._decoder = msgspec.json.Decoder(LaunchDetails)

    def _key(self, jti: str) -> str:
        # The ledger's key (RedisLaunchLedger), shared on purpose.
        return f"{self._prefix}launch:{jti}"

    def _index(self, partner_id: str, kind: str, value: str) -> str:
        return f"{self._prefix}launch-index-v2:{{{partner_id}}}:{kind}:{value}"

    async def track(
        self,
        jti: str,
        details: LaunchDetails,
        created_at: datetime,
        expires_at: datetime,
    ) -> None:
        created_ms = _epoch_ms(created_at)
        purge_ms = _epoch_ms(expires_at) + _PURGE_AFTER_MS
        # Relative, like the ledger's own TTL: the caller's clock rules.
        ttl_ms = max(1, purge_ms - created_ms)
        indexes = [
            self._index(details.partner_id, "user", details.external_user_id),
            self._index(details.partner_id, "location", details.location_id),
        ]

        with redis_failures():
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.eval(_SET_IF_PRESENT, 1, self._key(jti), "created_at", created_ms)
                pipe.eval(_TRACK, 2, *indexes, jti, purge_ms, created_ms, ttl_ms)
                await pipe.execute()

    async def find(self, jti: str) -> LaunchRecord | None:
        with redis_failures():
            found = await self._redis.hmget(self._key(jti), list(_FIELDS))
        state, details, purge_at, created_at, redeemed_at, session_id = found
        if state is None or details is None or purge_at is None:
            return None

        expires_ms = int(text(purge_at) or 0) - _PURGE_AFTER_MS
        return LaunchRecord(
            jti=jti,
            details=self._decoder.decode(details),
            state=cast(LedgerState, text(state)),
            expires_at=datetime.fromtimestamp(expires_ms / 1000, tz=UTC),
            created_at=_moment(created_at),
            redeemed_at=_moment(redeemed_at),
            # The ledger completes a refused launch with an empty session id.
            refused=session_id is not None and text(session_id) == "",
        )

    async def mark_redeemed(self, jti: str, redeemed_at: datetime) -> None:
        with redis_failures():
            await self._mark_redeemed(
                keys=[self._key(jti)], args=[_epoch_ms(redeemed_at)]
            )

    async def revoke(self, partner_id: str, jti: str, now: datetime) -> RevokeOutcome:
        outcomes = await self._revoke_all(partner_id, [jti], now)
        return outcomes[0]

    async def revoke_matching(
        self,
        partner_id: str,
        external_user_id: str | None,
        location_id: str | None,
        now: datetime,
    ) -> int:
        indexes = []
        if external_user_id is not None:
            indexes.append(self._index(partner_id, "user", external_user_id))
        if location_id is not None:
            indexes.append(self._index(partner_id, "location", location_id))
        now_ms = _epoch_ms(now)
        with redis_failures():
            members = await self._pending(
                keys=indexes, args=[now_ms, now_ms + _PURGE_AFTER_MS]
            )
        jtis = sorted(str(text(member)) for member in members)

        outcomes = await self._revoke_all(partner_id, jtis, now)
        return sum(outcome == "revoked" for outcome in outcomes)

    async def _revoke_all(
        self, partner_id: str, jtis: list[str], now: datetime
    ) -> list[RevokeOutcome]:
        """One revoke script per link, pipelined a batch per round trip."""
        outcomes: list[RevokeOutcome] = []
        for start in range(0, len(jtis), _REVOKE_BATCH):
            batch = jtis[start : start + _REVOKE_BATCH]
            outcomes.extend(await self._revoke_batch(partner_id, batch, now))
        return outcomes

    async def _revoke_batch(
        self, partner_id: str, jtis: list[str], now: datetime
    ) -> list[RevokeOutcome]:
        with redis_failures():
            async with self._redis.pipeline(transaction=False) as pipe:
                for jti in jtis:
                    pipe.eval(
                        _REVOKE,
                        1,
                        self._key(jti),
                        partner_id,
                        _epoch_ms(now),
                        _PURGE_AFTER_MS,
                    )
                replies = await pipe.execute()
        return [cast(RevokeOutcome, text(reply)) for reply in replies]
