"""Applies the Alembic migrations of the provisioning database (`make migrate`).

`python -m provisioning_service.migrate` reads PROVISIONING_DATABASE_URL,
creates the database when it does not exist, then upgrades it to head.
"""

import asyncio
import os
import sys
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy.exc import SQLAlchemyError

DEFAULT_URL: Final = "postgresql://postgres@127.0.0.1:5432/tilt"
# In a checkout the service folder, two levels above this file, holds
# alembic.ini and migrations/; an installed image ships them in its workdir.
ALEMBIC_INI_CANDIDATES: Final = (
    Path(__file__).resolve().parents[2] / "alembic.ini",
    Path.cwd() / "alembic.ini",
)


def alembic_ini() -> Path:
    for candidate in ALEMBIC_INI_CANDIDATES:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        "expected alembic.ini at one of "
        + ", ".join(str(path) for path in ALEMBIC_INI_CANDIDATES)
    )


def upgrade(database_url: str) -> None:
    """Bring the database at `database_url` to the newest schema."""
    config = Config(str(alembic_ini()))
    config.attributes["database_url"] = database_url
    command.upgrade(config, "head")


async def create_database_if_missing(database_url: str) -> bool:
    """Create the URL's database from the `postgres` database; True if created."""
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    if not name:
        raise ValueError("expected a database name in the URL path")
    admin_url = urlunsplit(parts._replace(path="/postgres"))

    connection = await asyncpg.connect(admin_url, timeout=10)
    try:
        exists = await connection.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", name
        )
        if exists:
            return False
        quoted = '"' + name.replace('"', '""') + '"'
        await connection.execute(f"CREATE DATABASE {quoted}")
    except asyncpg.DuplicateDatabaseError:
        return False  # another process created it between the check and here
    finally:
        await connection.close()
    return True


def main() -> int:
    url = os.environ.get("PROVISIONING_DATABASE_URL", DEFAULT_URL)
    host = urlsplit(url).hostname
    try:
        created = asyncio.run(create_database_if_missing(url))
        upgrade(url)
    except (OSError, asyncpg.PostgresError, SQLAlchemyError, ValueError) as exc:
        print(
            f"migration failed on {host}: {type(exc).__name__}: {exc}", file=sys.stderr
        )
        return 1
    print(f"database {'created and ' if created else ''}migrated to head on {host}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
