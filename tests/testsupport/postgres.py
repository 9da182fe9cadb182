"""A freshly migrated PostgreSQL database per test session, dropped at the end."""

import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql


def _admin_execute(admin_url: str, statement: sql.Composed) -> None:
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(statement)


@pytest.fixture(scope="session")
def database_url(postgres_admin_url: str) -> Iterator[str]:
    """URL of a new database `tilt_test_<hex>` at the newest schema."""
    from provisioning_service.migrate import upgrade

    name = f"tilt_test_{uuid.uuid4().hex[:12]}"
    parts = urlsplit(postgres_admin_url)
    url = urlunsplit(parts._replace(path=f"/{name}"))
    _admin_execute(
        postgres_admin_url, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    )
    try:
        upgrade(url)
        yield url
    finally:
        _admin_execute(
            postgres_admin_url,
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)
            ),
        )
