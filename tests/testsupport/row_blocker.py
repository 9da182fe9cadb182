"""Holds provisioning at a chosen moment: mid-launch, waiting on a row lock."""

import asyncio
import time

import asyncpg

from testsupport.launches import PartnerClient


class RowBlocker:
    """Holds an uncommitted row with the user's key, so provisioning's upsert waits."""

    def __init__(self, database_url: str, partner: PartnerClient, user: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._connection = self._loop.run_until_complete(asyncpg.connect(database_url))
        self._loop.run_until_complete(self._connection.execute("BEGIN"))
        self._loop.run_until_complete(
            self._connection.execute(
                "INSERT INTO pos_user_tbl (partner_id, external_user_id, display_name)"
                " VALUES ($1, $2, 'Blocker')",
                partner.partner.client_id,
                user,
            )
        )

    def until_provisioning_waits(self) -> None:
        query = (
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        for _ in range(200):
            if self._loop.run_until_complete(self._connection.fetchval(query)):
                return
            time.sleep(0.02)
        raise AssertionError("provisioning never reached the blocked row")

    def release(self) -> None:
        self._loop.run_until_complete(self._connection.execute("ROLLBACK"))
        self._loop.run_until_complete(self._connection.close())
        self._loop.close()
