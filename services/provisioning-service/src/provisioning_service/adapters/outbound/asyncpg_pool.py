"""The service's asyncpg pool: sized by settings, with no reset round trip.

asyncpg's default reset sends `SELECT pg_advisory_unlock_all(); CLOSE ALL;
UNLISTEN *; RESET ALL` each time a connection goes back to the pool: one more
round trip per launch, as costly to the consumer as the launch's own
statement. Nothing in this service takes advisory locks, opens cursors
outside a transaction, listens or changes a setting on a pooled connection,
so there is nothing for it to undo. asyncpg still rolls back a transaction
left open before it runs the reset hook.
"""

import asyncpg

from provisioning_service.settings import Settings


async def keep_session(connection: asyncpg.Connection) -> None:
    """The pool's reset hook: the session has no state to clear (see above)."""


async def create_pool(settings: Settings) -> asyncpg.Pool:
    """The pool the store and the directory reader share; raises what
    `asyncpg.create_pool` raises when PostgreSQL cannot be reached."""
    pool: asyncpg.Pool = await asyncpg.create_pool(
        settings.database_url.reveal(),
        min_size=settings.pool_min,
        max_size=settings.pool_max,
        command_timeout=settings.db_timeout_s,
        reset=keep_session,
    )
    return pool
