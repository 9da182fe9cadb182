"""Alembic environment: raw SQL migrations against the provisioning database.

The URL comes from `config.attributes["database_url"]` when called from
`provisioning_service.migrate`, else from PROVISIONING_DATABASE_URL. A plain
`postgresql://` URL is given the psycopg driver that SQLAlchemy needs.
"""

import os

from alembic import context
from sqlalchemy import create_engine, pool

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/tilt"


def sqlalchemy_url(url: str) -> str:
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url.removeprefix(scheme)
    return url


def run_migrations_online() -> None:
    url = context.config.attributes.get("database_url") or os.environ.get(
        "PROVISIONING_DATABASE_URL", DEFAULT_URL
    )
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, transaction_per_migration=True)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit(
        "offline (SQL script) mode is not supported; run against a database"
    )
run_migrations_online()
