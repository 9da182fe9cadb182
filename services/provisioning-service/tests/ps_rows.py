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
