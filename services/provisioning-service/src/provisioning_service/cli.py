"""Operators' CLI for partners, locations, grants: `python -m provisioning_service.cli`.

Every command prints what it did and exits non-zero with a one-line reason
on bad input. Repeating a command changes nothing more, except one: `partner
create --name` makes new credentials, so a repeat is refused (exit 1, naming
the partner that has the name) before any app client is created. A change to
a partner or its grants is announced to the token services
(`directory.partner_changed`) once committed. Settings come from
PROVISIONING_* variables: DATABASE_URL, AMQP_URL and BUS_PREFIX, and
COGNITO_ENDPOINT_URL / COGNITO_REGION / COGNITO_USER_POOL_ID for `partner
create`, the one command that calls Cognito. Library log lines go to stderr,
through the services' structlog set-up; stdout carries only the answer.
"""

import asyncio
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
import click

from provisioning_service.adapters.outbound.aio_pika_directory_events import (
    AioPikaDirectoryEvents,
)
from provisioning_service.adapters.outbound.asyncpg_directory import (
    AsyncpgDirectoryAdmin,
)
from provisioning_service.adapters.outbound.boto3_partner_clients import (
    Boto3PartnerClients,
)
from provisioning_service.domain.directory import PartnerStatus
from provisioning_service.domain.errors import (
    BusUnavailable,
    PartnerClientFailed,
    ProvisioningError,
)
from provisioning_service.operator_input import (
    InputRefused,
    checked_name,
    checked_partner_id,
    printable_id,
)
from provisioning_service.settings import OperatorSettings, read_operator_settings
from tilt_shared.bus import BusNames
from tilt_shared.logging import configure_logging
from tilt_shared.settings import SettingsError

T = TypeVar("T")


def _settings() -> OperatorSettings:
    try:
        return read_operator_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


def _run(action: Callable[[AsyncpgDirectoryAdmin], Awaitable[T]]) -> T:
    settings = _settings()
    events = AioPikaDirectoryEvents(
        settings.amqp_url.reveal(), BusNames.with_prefix(settings.bus_prefix)
    )

    async def go() -> T:
        connection = await asyncpg.connect(settings.database_url.reveal(), timeout=10)
        try:
            admin = AsyncpgDirectoryAdmin(connection)
            result = await action(admin)
        finally:
            await connection.close()
        try:
            await events.publish(admin.committed)
        except BusUnavailable as exc:
            raise click.ClickException(
                f"{exc.code}: committed, but not announced ({exc}); token services "
                "pick it up at their next directory snapshot"
            ) from exc
        return result

    try:
        return asyncio.run(go())
    except ProvisioningError as exc:
        raise click.ClickException(f"{exc.code}: {exc}") from exc
    except (OSError, asyncpg.PostgresError) as exc:
        raise click.ClickException(f"database: {type(exc).__name__}: {exc}") from exc


def _name(_: object, __: object, value: str) -> str:
    try:
        return checked_name(value)
    except InputRefused as exc:
        raise click.BadParameter(str(exc)) from None


def _partner_id(_: object, __: object, value: str | None) -> str | None:
    try:
        return None if value is None else checked_partner_id(value)
    except InputRefused as exc:
        raise click.BadParameter(str(exc)) from None


def _said(changed: bool, done: str, already: str) -> None:
    click.echo(done if changed else already)


partner_option = click.option(
    "--partner-id", required=True, callback=_partner_id, help="The app client id."
)
location_option = click.option("--location-id", required=True, type=click.UUID)


@click.group()
def cli() -> None:
    """Manage the provisioning directory: partners, locations, grants."""


@cli.group()
def partner() -> None:
    """Partners (one per Cognito app client)."""


@partner.command("create")
@click.option("--name", required=True, callback=_name)
@click.option(
    "--partner-id",
    callback=_partner_id,
    help="Register an existing app client instead of creating one.",
)
def partner_create(name: str, partner_id: str | None) -> None:
    """Create the partner's Cognito app client and its partner row.

    Refused when a partner already has this name. The client secret is
    printed once, here, and stored nowhere.
    """
    if partner_id is not None:
        changed = _run(lambda admin: admin.create_partner(partner_id, name))
        _said(
            changed,
            f"created partner {partner_id}",
            f"partner {partner_id} exists already; its name was not changed",
        )
        return

    settings = _settings()
    try:
        clients = Boto3PartnerClients(
            settings.cognito_user_pool_id,
            settings.cognito_region,
            settings.cognito_endpoint_url,
        )
    except PartnerClientFailed as exc:
        raise click.ClickException(f"{exc.code}: {exc}") from exc
    _run(lambda admin: _create_partner(admin, clients, name))


async def _create_partner(
    admin: AsyncpgDirectoryAdmin, clients: Boto3PartnerClients, name: str
) -> None:
    """Name check, app client, row: in that order, under the creation lock.

    The client comes first because its id is the partner id. Should the row
    fail, the client is deleted: its secret was never shown, and a client
    without a row can launch no one. A process killed between the two steps
    leaves such a client behind; the name stays free, so a retry succeeds.
    """
    async with admin.creating_partner():
        existing = await admin.partner_named(name)
        if existing is not None:
            raise click.ClickException(
                f"partner {printable_id(existing)} is already named {name!r} "
                "(ignoring case): "
                "no app client created"
            )

        client_id, client_secret = clients.create(name)
        try:
            await admin.create_partner(client_id, name)
        except BaseException:
            _discard_client(clients, client_id)
            raise

    # Shown before the change is announced: a bus failure must not lose it.
    click.echo(f"created partner {client_id} ({name})")
    click.echo(f"client_id: {client_id}")
    click.echo(f"client_secret: {client_secret}")
    click.echo("the secret is shown only now: hand it to the partner securely")


def _discard_client(clients: Boto3PartnerClients, client_id: str) -> None:
    try:
        clients.delete(client_id)
    except PartnerClientFailed as exc:
        click.echo(
            f"Error: app client {client_id} has no partner row and was not "
            f"deleted ({exc.code}: {exc}); delete it in Cognito",
            err=True,
        )


@partner.command("suspend")
@partner_option
def partner_suspend(partner_id: str) -> None:
    """Stop a partner's launches (mint and redemption) until reactivated."""
    changed = _run(
        lambda admin: admin.set_partner_status(partner_id, PartnerStatus.SUSPENDED)
    )
    _said(
        changed,
        f"suspended partner {partner_id}",
        f"partner {partner_id} already suspended",
    )


@partner.command("reactivate")
@partner_option
def partner_reactivate(partner_id: str) -> None:
    """Let a suspended partner launch again."""
    changed = _run(
        lambda admin: admin.set_partner_status(partner_id, PartnerStatus.ACTIVE)
    )
    _said(
        changed,
        f"reactivated partner {partner_id}",
        f"partner {partner_id} already active",
    )


@partner.command("name-updates")
@partner_option
@click.argument("setting", type=click.Choice(["on", "off"]))
def partner_name_updates(partner_id: str, setting: str) -> None:
    """Whether a launch's display_name replaces the stored one (default off)."""
    enabled = setting == "on"
    changed = _run(lambda admin: admin.set_name_updates(partner_id, enabled))
    _said(
        changed,
        f"name updates {setting} for partner {partner_id}",
        f"name updates already {setting} for partner {partner_id}",
    )


@partner.command("users")
@partner_option
def partner_users(partner_id: str) -> None:
    """List the partner's POS users and their memberships."""
    users = _run(lambda admin: admin.users(partner_id))
    click.echo(f"partner {partner_id}: {len(users)} user(s)")
    for user in users:
        click.echo(f"{user.pos_user_id}  {user.external_user_id}  {user.display_name}")
        for membership in user.memberships:
            click.echo(f"    {membership.location_id}  {membership.role_slug}")


@cli.group()
def location() -> None:
    """Locations (stores, tills) that partners may launch into."""


@location.command("create")
@click.option("--name", required=True, callback=_name)
@click.option("--location-id", type=click.UUID, help="Default: a new random UUID.")
def location_create(name: str, location_id: uuid.UUID | None) -> None:
    """Create a location; grant it to partners with `grant`."""
    chosen = str(location_id or uuid.uuid4())
    changed = _run(lambda admin: admin.create_location(chosen, name))
    _said(
        changed,
        f"created location {chosen}",
        f"location {chosen} exists already; its name was not changed",
    )


@cli.command()
@partner_option
@location_option
def grant(partner_id: str, location_id: uuid.UUID) -> None:
    """Let a partner launch users into a location."""
    changed = _run(lambda admin: admin.grant(partner_id, str(location_id)))
    _said(
        changed,
        f"granted location {location_id} to partner {partner_id}",
        f"partner {partner_id} already has location {location_id}",
    )


@cli.command()
@partner_option
@location_option
def revoke(partner_id: str, location_id: uuid.UUID) -> None:
    """Withdraw a grant: new launches into the location are refused."""
    changed = _run(lambda admin: admin.revoke(partner_id, str(location_id)))
    _said(
        changed,
        f"revoked location {location_id} from partner {partner_id}",
        f"partner {partner_id} had no grant of location {location_id}",
    )


def main() -> None:
    """`python -m provisioning_service.cli`: log set-up, then the command."""
    configure_logging("provisioning-cli", "WARNING", stream=sys.stderr)
    cli()


if __name__ == "__main__":
    main()
