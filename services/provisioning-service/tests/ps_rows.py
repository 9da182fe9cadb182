"""Counts what provisioning wrote for one partner, for the tests' assertions."""

import asyncpg


async def partner_rows(pool: asyncpg.Pool, partner_id: str) -> tuple[int, int, int]:
    """(users, memberships, redemptions) of the partner."""
    row = await pool.fetchrow(
        """
        SELECT (SELECT count(*) FROM pos_user_tbl WHERE partner_id = $1),
               (SELECT count(*) FROM pos_user_membership_tbl m
                JOIN pos_user_tbl u USING (pos_user_id) WHERE u.partner_id = $1),
               (SELECT count(*) FROM launch_redemption_tbl WHERE partner_id = $1)
        """,
        partner_id,
    )
    return (row[0], row[1], row[2])


async def partner_rows_at(database_url: str, partner_id: str) -> tuple[int, int, int]:
    """`partner_rows` on a connection of its own, for a test without a pool."""
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    try:
        return await partner_rows(pool, partner_id)
    finally:
        await pool.close()
