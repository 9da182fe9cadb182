"""PostgreSQL adapters of `DirectoryReader` and `DirectoryAdmin` (DESIGN §7.2).

The directory version lives in the one row of `directory_version_tbl`; every
change to a partner or a grant bumps it in the same transaction, so a
snapshot read in one REPEATABLE READ transaction is consistent with its
version. The bump locks that row until commit, so concurrent changes get
versions in commit order, and the partner's state read after the bump
already sees every earlier change.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Final

import asyncpg

from provisioning_service.adapters.outbound.asyncpg_errors import translated
from provisioning_service.domain.directory import (
    Directory,
    DirectoryChange,
    Membership,
    PartnerListing,
    PartnerStatus,
    UserListing,
)
from provisioning_service.domain.errors import UnknownLocation, UnknownPartner

VERSION_SQL: Final = "SELECT version, epoch FROM directory_version_tbl"
BUMP_SQL: Final = (
    "UPDATE directory_version_tbl SET version = version + 1 RETURNING version, epoch"
)
PARTNERS_SQL: Final = """
SELECT p.partner_id, p.status, p.replace_display_name,
       ARRAY(SELECT g.location_id::text FROM partner_location_tbl g
             WHERE g.partner_id = p.partner_id ORDER BY 1) AS location_ids
FROM partner_tbl p WHERE $1::text IS NULL OR p.partner_id = $1
ORDER BY p.partner_id
"""
PARTNER_NAMED_SQL: Final = (
    "SELECT partner_id FROM partner_tbl WHERE lower(name) = lower($1) "
    "ORDER BY created_at, partner_id LIMIT 1"
)
# One session advisory lock serialises partner creation across CLI processes;
# the key is any constant no other lock of this database uses.
PARTNER_CREATION_LOCK: Final = 0x7061_7274_6E65_72  # "partner" in ASCII
USERS_SQL: Final = """
SELECT u.pos_user_id::text, u.external_user_id, u.display_name,
       ARRAY(SELECT m.location_id::text FROM pos_user_membership_tbl m
             WHERE m.pos_user_id = u.pos_user_id ORDER BY m.created_at, 1)
           AS location_ids,
       ARRAY(SELECT m.role_slug FROM pos_user_membership_tbl m
             WHERE m.pos_user_id = u.pos_user_id ORDER BY m.created_at, m.location_id)
           AS role_slugs
FROM pos_user_tbl u WHERE u.partner_id = $1
ORDER BY u.created_at, u.external_user_id
"""


class AsyncpgDirectoryReader:
    """`DirectoryReader` on an asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def read(self) -> Directory:
        async with (
            translated("read_directory"),
            self._pool.acquire() as connection,
            connection.transaction(isolation="repeatable_read", readonly=True),
        ):
            version, epoch = await connection.fetchrow(VERSION_SQL)
            rows = await connection.fetch(PARTNERS_SQL, None)
        return Directory(version, tuple(map(_listing, rows)), epoch)


class AsyncpgDirectoryAdmin:
    """`DirectoryAdmin` on one asyncpg connection (operators' CLI)."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection
        self._committed: list[DirectoryChange] = []

    @property
    def committed(self) -> list[DirectoryChange]:
        return list(self._committed)

    async def create_partner(self, partner_id: str, name: str) -> bool:
        return await self._change(
            "INSERT INTO partner_tbl (partner_id, name) VALUES ($1, $2) "
            "ON CONFLICT (partner_id) DO NOTHING RETURNING 1",
            partner_id,
            name,
            changes=partner_id,
        )

    async def partner_named(self, name: str) -> str | None:
        """The id of the oldest partner called `name`, ignoring case, if any."""
        async with translated("directory_lookup"):
            found = await self._connection.fetchval(PARTNER_NAMED_SQL, name)
        return None if found is None else str(found)

    @asynccontextmanager
    async def creating_partner(self) -> AsyncIterator[None]:
        """Holds the partner-creation lock: one creation at a time, in any process.

        Taken before looking a name up and released after the row commits, so
        two operators creating the same name cannot both find it free. The
        lock is the session's: a dropped connection releases it.
        """
        async with translated("directory_lock"):
            await self._connection.execute(
                "SELECT pg_advisory_lock($1)", PARTNER_CREATION_LOCK
            )
        try:
            yield
        finally:
            # A connection that failed has released the lock with its session.
            with suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                await self._connection.execute(
                    "SELECT pg_advisory_unlock($1)", PARTNER_CREATION_LOCK
                )

    async def set_partner_status(self, partner_id: str, status: PartnerStatus) -> bool:
        await self._require("partner_tbl", "partner_id", partner_id)
        return await self._change(
            "UPDATE partner_tbl SET status = $2, updated_at = now() "
            "WHERE partner_id = $1 AND status <> $2 RETURNING 1",
            partner_id,
            str(status),
            changes=partner_id,
        )

    async def create_location(self, location_id: str, name: str) -> bool:
        return await self._change(
            "INSERT INTO location_tbl (location_id, name) VALUES ($1::uuid, $2) "
            "ON CONFLICT (location_id) DO NOTHING RETURNING 1",
            location_id,
            name,
            changes=None,
        )

    async def grant(self, partner_id: str, location_id: str) -> bool:
        await self._require("partner_tbl", "partner_id", partner_id)
        await self._require("location_tbl", "location_id", location_id)
        return await self._change(
            "INSERT INTO partner_location_tbl (partner_id, location_id) "
            "VALUES ($1, $2::uuid) ON CONFLICT DO NOTHING RETURNING 1",
            partner_id,
            location_id,
            changes=partner_id,
        )

    async def revoke(self, partner_id: str, location_id: str) -> bool:
        await self._require("partner_tbl", "partner_id", partner_id)
        return await self._change(
            "DELETE FROM partner_location_tbl "
            "WHERE partner_id = $1 AND location_id = $2::uuid RETURNING 1",
            partner_id,
            location_id,
            changes=partner_id,
        )

    async def set_name_updates(self, partner_id: str, enabled: bool) -> bool:
        await self._require("partner_tbl", "partner_id", partner_id)
        return await self._change(
            "UPDATE partner_tbl SET replace_display_name = $2, updated_at = now() "
            "WHERE partner_id = $1 AND replace_display_name <> $2 RETURNING 1",
            partner_id,
            enabled,
            changes=partner_id,
        )

    async def users(self, partner_id: str) -> list[UserListing]:
        await self._require("partner_tbl", "partner_id", partner_id)
        async with translated("list_users"):
            rows = await self._connection.fetch(USERS_SQL, partner_id)
        return [
            UserListing(
                pos_user_id=row["pos_user_id"],
                external_user_id=row["external_user_id"],
                display_name=row["display_name"],
                memberships=tuple(
                    Membership(location_id, role_slug)
                    for location_id, role_slug in zip(
                        row["location_ids"], row["role_slugs"], strict=True
                    )
                ),
            )
            for row in rows
        ]

    async def _change(self, sql: str, *args: object, changes: str | None) -> bool:
        """Runs `sql`; when it changed partner `changes`, bumps and records it."""
        change = None
        async with translated("directory_change"), self._connection.transaction():
            changed = await self._connection.fetchval(sql, *args) is not None
            if changed and changes is not None:
                version, epoch = await self._connection.fetchrow(BUMP_SQL)
                row = await self._connection.fetchrow(PARTNERS_SQL, changes)
                change = DirectoryChange(version, _listing(row), epoch)
        if change is not None:
            self._committed.append(change)
        return changed

    async def _require(self, table: str, column: str, value: str) -> None:
        async with translated("directory_lookup"):
            found = await self._connection.fetchval(
                f"SELECT 1 FROM {table} WHERE {column}::text = $1",  # noqa: S608 -- constant names
                value,
            )
        if found is None:
            error = UnknownPartner if table == "partner_tbl" else UnknownLocation
            raise error(f"no {column} {value!r}")


def _listing(row: asyncpg.Record) -> PartnerListing:
    return PartnerListing(
        partner_id=row["partner_id"],
        status=PartnerStatus(row["status"]),
        location_ids=frozenset(row["location_ids"]),
        replace_display_name=row["replace_display_name"],
    )
