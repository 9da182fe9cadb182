"""Operators' CLI for partners, locations, grants: `python -m provisioning_service.cli`.

Every command is idempotent and prints what it did. The database URL comes
from PROVISIONING_DATABASE_URL. Cognito app clients are created elsewhere;
the partner id here must be the app client id (DESIGN §3.1).
"""

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

import asyncpg
import click

from provisioning_service.adapters.outbound.asyncpg_directory import (
    AsyncpgDirectoryAdmin,
)
from provisioning_service.domain.directory import PartnerStatus
from provisioning_service.domain.errors import ProvisioningError
from provisioning_service.settings import DEFAULT_DATABASE_URL

T = TypeVar("T")
NAME_MAX: Final = 200


def _run(action: Callable[[AsyncpgDirectoryAdmin], Awaitable[T]]) -> T:
    url = os.environ.get("PROVISIONING_DATABASE_URL", DEFAULT_DATABASE_URL)

    async def go() -> T:
        connection = await asyncpg.connect(url, timeout=10)
        try:
            return await action(AsyncpgDirectoryAdmin(connection))
        finally:
            await connection.close()

    try:
        return asyncio.run(go())
    except ProvisioningError as exc:
        raise click.ClickException(f"{exc.code}: {exc}") from exc
    except (OSError, asyncpg.PostgresError) as exc:
        raise click.ClickException(f"database: {type(exc).__name__}: {exc}") from exc


def _name(value: str) -> str:
    name = value.strip()
    if not 1 <= len(name) <= NAME_MAX:
        raise click.BadParameter(f"expected 1-{NAME_MAX} characters")
    return name


def _partner_id(value: str) -> str:
    if not value or value != value.strip() or len(value) > 128:
        raise click.BadParameter("expected 1-128 characters with no surrounding spaces")
    return value


def _said(changed: bool, done: str, already: str) -> None:
    click.echo(done if changed else already)


@click.group()
def cli() -> None:
    """Manage the provisioning directory: partners, locations, grants."""


@cli.group()
def partner() -> None:
    """Partners (one per Cognito app client)."""


@partner.command("create")
@click.option("--partner-id", required=True, help="The Cognito app client id.")
@click.option("--name", required=True)
def partner_create(partner_id: str, name: str) -> None:
    partner_id, name = _partner_id(partner_id), _name(name)
    changed = _run(lambda admin: admin.create_partner(partner_id, name))
    _said(changed, f"created partner {partner_id}", f"partner {partner_id} exists")


@partner.command("suspend")
@click.option("--partner-id", required=True)
def partner_suspend(partner_id: str) -> None:
    changed = _run(
        lambda admin: admin.set_partner_status(partner_id, PartnerStatus.SUSPENDED)
    )
    _said(changed, f"suspended partner {partner_id}", "already suspended")


@partner.command("activate")
@click.option("--partner-id", required=True)
def partner_activate(partner_id: str) -> None:
    changed = _run(
        lambda admin: admin.set_partner_status(partner_id, PartnerStatus.ACTIVE)
    )
    _said(changed, f"activated partner {partner_id}", "already active")


@cli.group()
def location() -> None:
    """Locations (stores, tills) that partners may launch into."""


@location.command("create")
@click.option("--location-id", required=True, type=click.UUID)
@click.option("--name", required=True)
def location_create(location_id: uuid.UUID, name: str) -> None:
    name = _name(name)
    changed = _run(lambda admin: admin.create_location(str(location_id), name))
    _said(changed, f"created location {location_id}", f"location {location_id} exists")


@cli.command()
@click.option("--partner-id", required=True)
@click.option("--location-id", required=True, type=click.UUID)
def grant(partner_id: str, location_id: uuid.UUID) -> None:
    """Let a partner launch users into a location."""
    changed = _run(lambda admin: admin.grant(partner_id, str(location_id)))
    _said(
        changed,
        f"granted location {location_id} to partner {partner_id}",
        f"partner {partner_id} already has location {location_id}",
    )


if __name__ == "__main__":
    cli()
