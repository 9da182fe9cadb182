"""PostgreSQL adapter of `ProvisioningStore`: users, memberships, redemptions.

A launch is ONE statement (measured: half the time of the same upserts as
separate statements). Its data-modifying CTEs decide everything with
`INSERT ... ON CONFLICT DO NOTHING`, never a read followed by a write, and
write only when the jti is new and the partner is active and granted. The
statement runs in a transaction that, when it wrote, asks the database's
clock whether the launch's `provision_by` has passed and rolls back if so
(ADR 0007): asked after the statement, whose constraint checks may wait on
locks at its very end, and just before the commit.

Every sub-statement sees the snapshot the statement began with. When a
concurrent transaction commits the same user, membership or jti while the
statement runs, the upsert does nothing and the snapshot cannot show the
winner's row, so the statement writes nothing (the rename and the redemption
wait for both rows) and says so; it is then run again, with a fresh snapshot
that sees the winner.
"""

from datetime import datetime
from typing import Final

import asyncpg

from provisioning_service.adapters.outbound.asyncpg_errors import translated
from provisioning_service.domain.directory import PartnerStatus
from provisioning_service.domain.launch import (
    Abandoned,
    Launch,
    Outcome,
    PosUserId,
    Provisioned,
    Rejection,
    RejectionCode,
)

# A race costs one more run (the fresh snapshot sees the winner); a third
# attempt only covers two different races in a row.
ATTEMPTS: Final = 3

# $1 jti, $2 partner, $3 external user id, $4 location, $5 role,
# $6 the launch's display name (or null), $7 a new user's name, $8 redeemed_at.
PROVISION_SQL: Final = """
WITH stored AS (
    SELECT jti, pos_user_id, display_name, location_id, role_slug, permissions,
           user_created, membership_created
    FROM launch_redemption_tbl WHERE jti = $1
), gate AS (
    SELECT p.replace_display_name FROM partner_tbl p
    WHERE p.partner_id = $2 AND p.status = 'active'
      AND EXISTS (SELECT 1 FROM partner_location_tbl g
                  WHERE g.partner_id = $2 AND g.location_id = $4::uuid)
      AND NOT EXISTS (SELECT 1 FROM stored)
), new_user AS (
    INSERT INTO pos_user_tbl (partner_id, external_user_id, display_name)
    SELECT $2, $3, $7 FROM gate
    ON CONFLICT (partner_id, external_user_id) DO NOTHING
    RETURNING pos_user_id, display_name
), the_user AS (
    SELECT pos_user_id, display_name, true AS created FROM new_user
    UNION ALL
    SELECT u.pos_user_id, u.display_name, false FROM pos_user_tbl u, gate
    WHERE u.partner_id = $2 AND u.external_user_id = $3
), new_membership AS (
    INSERT INTO pos_user_membership_tbl (pos_user_id, location_id, role_slug)
    SELECT pos_user_id, $4::uuid, $5 FROM the_user
    ON CONFLICT (pos_user_id, location_id) DO NOTHING
    RETURNING role_slug
), the_membership AS (
    SELECT role_slug, true AS created FROM new_membership
    UNION ALL
    SELECT m.role_slug, false FROM pos_user_membership_tbl m, the_user u
    WHERE m.pos_user_id = u.pos_user_id AND m.location_id = $4::uuid
), effective AS (
    SELECT u.pos_user_id, u.created AS user_created, m.role_slug,
           m.created AS membership_created,
           (NOT u.created AND g.replace_display_name AND $6::text <> '')
               IS TRUE AS rename,
           u.display_name
    FROM the_user u, the_membership m, gate g
), locked AS (
    -- The row as it is now, locked: concurrent renames queue here, so the
    -- name recorded as replaced is the one this statement really replaced.
    SELECT u.pos_user_id, u.display_name AS old_name
    FROM pos_user_tbl u, effective e
    WHERE u.pos_user_id = e.pos_user_id AND e.rename
    FOR UPDATE OF u
), renamed AS (
    UPDATE pos_user_tbl u SET display_name = $6::text, updated_at = now()
    FROM locked l
    WHERE u.pos_user_id = l.pos_user_id AND l.old_name IS DISTINCT FROM $6::text
    RETURNING u.pos_user_id, l.old_name
), recorded AS (
    INSERT INTO launch_redemption_tbl (
        jti, pos_user_id, location_id, partner_id, role_slug, display_name,
        permissions, user_created, membership_created, redeemed_at,
        previous_display_name)
    SELECT $1, e.pos_user_id, $4::uuid, $2, e.role_slug,
           CASE WHEN e.rename THEN $6::text ELSE e.display_name END,
           ARRAY(SELECT permission FROM pos_role_permission_tbl rp
                 WHERE rp.role_slug = e.role_slug ORDER BY permission),
           e.user_created, e.membership_created, $8,
           -- the audit trail of a rename: the name it replaced
           (SELECT old_name FROM renamed)
    FROM effective e
    ON CONFLICT (jti) DO NOTHING
    RETURNING jti, pos_user_id, display_name, location_id, role_slug,
              permissions, user_created, membership_created
)
SELECT p.status,
       EXISTS (SELECT 1 FROM partner_location_tbl g
               WHERE g.partner_id = $2 AND g.location_id = $4::uuid) AS granted,
       r.jti, r.pos_user_id::text, r.display_name, r.location_id::text,
       r.role_slug, r.permissions, r.user_created, r.membership_created,
       EXISTS (SELECT 1 FROM recorded) AS written
FROM (SELECT 1) AS one
LEFT JOIN partner_tbl p ON p.partner_id = $2
LEFT JOIN (SELECT * FROM stored UNION ALL SELECT * FROM recorded) AS r ON true
"""

LATE_SQL: Final = "SELECT clock_timestamp() > $1::timestamptz"


class _WrittenLate(Exception):
    """Rolls back a launch whose deadline passed while it was being written."""


class AsyncpgProvisioningStore:
    """`ProvisioningStore` on an asyncpg pool (tables of DESIGN §8)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def provision(self, launch: Launch) -> Outcome:
        arguments = (
            launch.jti,
            launch.partner_id,
            launch.external_user_id,
            launch.location_id,
            launch.role_slug,
            launch.display_name,
            launch.first_display_name(),
            launch.redeemed_at,
        )
        async with translated("provision"), self._pool.acquire() as connection:
            for _ in range(ATTEMPTS):
                try:
                    async with connection.transaction():
                        row = await connection.fetchrow(PROVISION_SQL, *arguments)
                        await _unless_late(connection, row, launch.provision_by)
                except _WrittenLate:
                    return Abandoned(launch.jti)
                outcome = _outcome(launch.jti, row)
                if outcome is not None:
                    return outcome
        raise asyncpg.InterfaceError("provisioning kept racing; retry the message")


async def _unless_late(
    connection: asyncpg.Connection, row: asyncpg.Record, deadline: datetime | None
) -> None:
    """Raises `_WrittenLate` when `deadline` passed while the launch was written."""
    if deadline is None or not row["written"]:
        return
    if await connection.fetchval(LATE_SQL, deadline):
        raise _WrittenLate


def _outcome(jti: str, row: asyncpg.Record) -> Outcome | None:
    """The statement's answer; None when a concurrent commit raced it.

    The partner and the grant are checked before a stored result is returned:
    a launch provisioned before a revoke or a suspension, whose answer the
    token service never used, must not open a session after it (ADR 3).
    """
    if row["status"] is None or not row["granted"]:
        return Rejection(jti, RejectionCode.LOCATION_NOT_PERMITTED)
    if row["status"] != PartnerStatus.ACTIVE:
        return Rejection(jti, RejectionCode.PARTNER_SUSPENDED)
    if row["jti"] is not None:
        return Provisioned(
            jti=row["jti"],
            pos_user_id=PosUserId(row["pos_user_id"]),
            display_name=row["display_name"],
            location_id=row["location_id"],
            role_slug=row["role_slug"],
            permissions=tuple(row["permissions"]),
            user_created=row["user_created"],
            membership_created=row["membership_created"],
        )
    return None
