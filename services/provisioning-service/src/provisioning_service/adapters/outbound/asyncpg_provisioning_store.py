"""PostgreSQL adapter of `ProvisioningStore`: users, memberships, redemptions.

One transaction per launch, at READ COMMITTED. Every decision comes from an
`INSERT ... ON CONFLICT DO NOTHING`, never from a read followed by a write:
each upsert is one statement that inserts, or else returns the row that was
already there before the statement began. When a concurrent transaction
commits the same key while the statement runs, the statement returns no row,
and a plain SELECT (which takes a fresh snapshot) finds the winner's row.
"""

from typing import Final

import asyncpg

from provisioning_service.adapters.outbound.asyncpg_errors import translated
from provisioning_service.domain.directory import PartnerStatus
from provisioning_service.domain.launch import (
    Launch,
    PosUserId,
    Provisioned,
    Rejection,
    RejectionCode,
)

# Partner, grant and any stored redemption of this jti: always one row.
CHECK_SQL: Final = """
SELECT p.status, p.replace_display_name,
       EXISTS (SELECT 1 FROM partner_location_tbl g
               WHERE g.partner_id = $2 AND g.location_id = $3::uuid) AS granted,
       r.jti AS stored_jti
FROM (SELECT 1) AS one
LEFT JOIN partner_tbl p ON p.partner_id = $2
LEFT JOIN launch_redemption_tbl r ON r.jti = $1
"""
STORED_SQL: Final = """
SELECT jti, pos_user_id::text, display_name, location_id::text, role_slug,
       permissions, user_created, membership_created
FROM launch_redemption_tbl WHERE jti = $1
"""
UPSERT_USER_SQL: Final = """
WITH inserted AS (
    INSERT INTO pos_user_tbl (partner_id, external_user_id, display_name)
    VALUES ($1, $2, $3)
    ON CONFLICT (partner_id, external_user_id) DO NOTHING
    RETURNING pos_user_id, display_name
)
SELECT pos_user_id::text, display_name, true AS created FROM inserted
UNION ALL
SELECT pos_user_id::text, display_name, false FROM pos_user_tbl
WHERE partner_id = $1 AND external_user_id = $2
"""
FIND_USER_SQL: Final = """
SELECT pos_user_id::text, display_name, false AS created FROM pos_user_tbl
WHERE partner_id = $1 AND external_user_id = $2
"""
RENAME_USER_SQL: Final = """
UPDATE pos_user_tbl SET display_name = $2, updated_at = now()
WHERE pos_user_id = $1::uuid AND display_name IS DISTINCT FROM $2
"""
PERMISSIONS: Final = """
ARRAY(SELECT permission FROM pos_role_permission_tbl rp
      WHERE rp.role_slug = m.role_slug ORDER BY permission) AS permissions
"""
UPSERT_MEMBERSHIP_SQL: Final = f"""
WITH inserted AS (
    INSERT INTO pos_user_membership_tbl (pos_user_id, location_id, role_slug)
    VALUES ($1::uuid, $2::uuid, $3)
    ON CONFLICT (pos_user_id, location_id) DO NOTHING
    RETURNING location_id, role_slug
)
SELECT m.location_id::text, m.role_slug, {PERMISSIONS}, true AS created
FROM inserted m
UNION ALL
SELECT m.location_id::text, m.role_slug, {PERMISSIONS}, false
FROM pos_user_membership_tbl m
WHERE m.pos_user_id = $1::uuid AND m.location_id = $2::uuid
"""  # noqa: S608 -- only constants are interpolated
FIND_MEMBERSHIP_SQL: Final = f"""
SELECT m.location_id::text, m.role_slug, {PERMISSIONS}, false AS created
FROM pos_user_membership_tbl m
WHERE m.pos_user_id = $1::uuid AND m.location_id = $2::uuid
"""  # noqa: S608 -- only constants are interpolated
RECORD_SQL: Final = """
INSERT INTO launch_redemption_tbl (
    jti, pos_user_id, location_id, partner_id, role_slug, display_name,
    permissions, user_created, membership_created, redeemed_at)
VALUES ($1, $2::uuid, $3::uuid, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (jti) DO NOTHING
RETURNING jti
"""


class AsyncpgProvisioningStore:
    """`ProvisioningStore` on an asyncpg pool (tables of DESIGN §8)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def provision(self, launch: Launch) -> Provisioned | Rejection:
        async with (
            translated("provision"),
            self._pool.acquire() as connection,
            connection.transaction(),
        ):
            return await self._provision(connection, launch)

    async def _provision(
        self, connection: asyncpg.Connection, launch: Launch
    ) -> Provisioned | Rejection:
        check = await connection.fetchrow(
            CHECK_SQL, launch.jti, launch.partner_id, launch.location_id
        )
        if check["stored_jti"] is not None:
            return await _stored(connection, launch.jti)
        if check["status"] is None or not check["granted"]:
            return Rejection(launch.jti, RejectionCode.LOCATION_NOT_PERMITTED)
        if check["status"] != PartnerStatus.ACTIVE:
            return Rejection(launch.jti, RejectionCode.PARTNER_SUSPENDED)

        user = await _upsert(
            connection,
            (UPSERT_USER_SQL, FIND_USER_SQL),
            launch.partner_id,
            launch.external_user_id,
            launch.first_display_name(),
        )
        display_name: str = user["display_name"]
        if (
            check["replace_display_name"]
            and not user["created"]
            and launch.display_name
            and launch.display_name != display_name
        ):
            await connection.execute(
                RENAME_USER_SQL, user["pos_user_id"], launch.display_name
            )
            display_name = launch.display_name

        membership = await _upsert(
            connection,
            (UPSERT_MEMBERSHIP_SQL, FIND_MEMBERSHIP_SQL),
            user["pos_user_id"],
            launch.location_id,
            launch.role_slug,
        )
        outcome = Provisioned(
            jti=launch.jti,
            pos_user_id=PosUserId(user["pos_user_id"]),
            display_name=display_name,
            location_id=membership["location_id"],
            role_slug=membership["role_slug"],
            permissions=tuple(membership["permissions"]),
            user_created=user["created"],
            membership_created=membership["created"],
        )

        recorded = await connection.fetchval(
            RECORD_SQL,
            outcome.jti,
            outcome.pos_user_id,
            outcome.location_id,
            launch.partner_id,
            outcome.role_slug,
            outcome.display_name,
            list(outcome.permissions),
            outcome.user_created,
            outcome.membership_created,
            launch.redeemed_at,
        )
        if recorded is None:
            # A duplicate delivery of this jti committed first: answer as it did.
            return await _stored(connection, launch.jti)
        return outcome


async def _upsert(
    connection: asyncpg.Connection,
    statements: tuple[str, str],
    *args: object,
) -> asyncpg.Record:
    upsert, find = statements
    row = await connection.fetchrow(upsert, *args)
    if row is None:
        # A concurrent transaction committed the key while the upsert ran.
        row = await connection.fetchrow(find, *args[:2])
    if row is None:
        raise asyncpg.InterfaceError("upserted row vanished; retry the transaction")
    return row


async def _stored(connection: asyncpg.Connection, jti: str) -> Provisioned:
    row = await connection.fetchrow(STORED_SQL, jti)
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
