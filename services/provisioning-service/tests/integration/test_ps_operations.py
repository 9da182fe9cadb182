"""Integration tests of what operators run: the CLI, migrate, the service process."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from click.testing import CliRunner

from provisioning_service.cli import cli
from provisioning_service.migrate import create_database_if_missing
from testsupport.cognito import CognitoStack

pytestmark = pytest.mark.integration


def test_cli_commands_are_idempotent_and_say_what_they_did(database_url: str) -> None:
    runner = CliRunner(env={"PROVISIONING_DATABASE_URL": database_url})
    partner, location = f"p-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    steps = [
        ["partner", "create", "--partner-id", partner, "--name", "Demo"],
        ["location", "create", "--location-id", location, "--name", "Shop"],
        ["grant", "--partner-id", partner, "--location-id", location],
    ]

    first = [runner.invoke(cli, step) for step in steps]
    again = [runner.invoke(cli, step) for step in steps]

    assert [r.exit_code for r in first + again] == [0] * 6
    assert [r.output.split()[0] for r in first] == ["created", "created", "granted"]
    assert "exists" in again[0].output
    assert "already" in again[2].output


def test_an_operator_onboards_a_partner_end_to_end(
    database_url: str, cognito: CognitoStack
) -> None:
    """partner create makes a working client-credentials client; the rest follow."""
    runner = CliRunner(env=operator_env(database_url, cognito))

    created = runner.invoke(cli, ["partner", "create", "--name", "Acme POS"])
    fields = dict(
        line.split(": ", 1) for line in created.output.splitlines() if ": " in line
    )
    client_id, secret = fields["client_id"], fields["client_secret"]
    location = runner.invoke(cli, ["location", "create", "--name", "Acme 1"])
    location_id = location.output.split()[-1]
    steps = [
        ["grant", "--partner-id", client_id, "--location-id", location_id],
        ["partner", "suspend", "--partner-id", client_id],
        ["partner", "suspend", "--partner-id", client_id],
        ["partner", "reactivate", "--partner-id", client_id],
        ["revoke", "--partner-id", client_id, "--location-id", location_id],
        ["revoke", "--partner-id", client_id, "--location-id", location_id],
        ["partner", "users", "--partner-id", client_id],
    ]
    results = [runner.invoke(cli, step) for step in steps]

    assert (created.exit_code, location.exit_code) == (0, 0), created.output
    assert cognito.partner_token(client_id, secret, "tilt/pos:launch")
    assert [r.exit_code for r in results] == [0] * len(steps)
    assert [r.output.split()[0] for r in results] == [
        "granted", "suspended", "partner", "reactivated", "revoked", "partner",
        "partner",
    ]  # fmt: skip
    assert "already suspended" in results[2].output
    assert "0 user(s)" in results[6].output
    assert _partner(database_url, client_id) == ("Acme POS", "active", 0)


def test_partner_users_lists_users_and_memberships(
    database_url: str, in_store_user: tuple[str, str, str]
) -> None:
    """Each user is listed with every location it holds and the role there."""
    partner_id, location_id, pos_user_id = in_store_user
    runner = CliRunner(env={"PROVISIONING_DATABASE_URL": database_url})

    result = runner.invoke(cli, ["partner", "users", "--partner-id", partner_id])

    assert result.exit_code == 0, result.output
    assert "1 user(s)" in result.output
    assert f"{pos_user_id}  EMP-7  Grace" in result.output
    assert f"    {location_id}  location_supervisor" in result.output


def test_partner_create_without_a_user_pool_says_which_setting_is_missing(
    database_url: str,
) -> None:
    runner = CliRunner(env={"PROVISIONING_DATABASE_URL": database_url})

    result = runner.invoke(cli, ["partner", "create", "--name", "Nobody"])

    assert result.exit_code == 1
    assert "PROVISIONING_COGNITO_USER_POOL_ID" in result.output


def test_a_failed_partner_row_deletes_the_new_app_client(
    cognito: CognitoStack,
) -> None:
    """No orphan app client when the database refuses the partner row."""
    dead_database = "postgresql://postgres@127.0.0.1:1/nowhere"
    runner = CliRunner(env=operator_env(dead_database, cognito))
    before = _client_names(cognito)

    result = runner.invoke(cli, ["partner", "create", "--name", "Orphan"])

    assert result.exit_code == 1
    assert "database" in result.output
    assert _client_names(cognito) == before


@pytest.mark.parametrize(
    "args",
    [
        ["grant", "--partner-id", "nobody", "--location-id", str(uuid.uuid4())],
        ["revoke", "--partner-id", "nobody", "--location-id", str(uuid.uuid4())],
        ["partner", "suspend", "--partner-id", "nobody"],
        ["partner", "reactivate", "--partner-id", "nobody"],
        ["partner", "users", "--partner-id", "nobody"],
        ["location", "create", "--location-id", "not-a-uuid", "--name", "x"],
        ["location", "create", "--name", "   "],
        ["location", "create", "--name", "a\tb"],
        ["location", "create", "--name", "Shop\u202e"],
        ["partner", "create", "--partner-id", " padded", "--name", "x"],
        ["grant", "--partner-id", "p", "--location-id", "42"],
    ],
)
def test_cli_refuses_bad_input_with_a_clear_error(
    database_url: str, args: list[str]
) -> None:
    runner = CliRunner(env={"PROVISIONING_DATABASE_URL": database_url})

    result = runner.invoke(cli, args)

    assert result.exit_code in (1, 2)
    assert "Error" in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def operator_env(database_url: str, cognito: CognitoStack) -> dict[str, str]:
    return {
        "PROVISIONING_DATABASE_URL": database_url,
        "PROVISIONING_COGNITO_ENDPOINT_URL": cognito.endpoint_url,
        "PROVISIONING_COGNITO_REGION": cognito.region,
        "PROVISIONING_COGNITO_USER_POOL_ID": cognito.pool_id,
    }


def _client_names(cognito: CognitoStack) -> list[str]:
    from cognito_emulator.bootstrap import cognito_client

    client = cognito_client(cognito.endpoint_url, cognito.region)
    listed = client.list_user_pool_clients(UserPoolId=cognito.pool_id, MaxResults=60)
    return sorted(c["ClientName"] for c in listed["UserPoolClients"])


def _partner(database_url: str, partner_id: str) -> tuple[str, str, int]:
    async def query() -> tuple[str, str, int]:
        connection = await asyncpg.connect(database_url)
        try:
            row = await connection.fetchrow(
                "SELECT name, status, (SELECT count(*) FROM partner_location_tbl g"
                " WHERE g.partner_id = p.partner_id) AS grants"
                " FROM partner_tbl p WHERE partner_id = $1",
                partner_id,
            )
        finally:
            await connection.close()
        return (row["name"], row["status"], row["grants"])

    return asyncio.run(query())


@pytest.fixture
def in_store_user(database_url: str) -> tuple[str, str, str]:
    """A partner with one user holding a supervisor membership at one location."""
    partner_id, location_id = f"p-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())

    async def seed() -> str:
        connection = await asyncpg.connect(database_url)
        try:
            await connection.execute(
                "INSERT INTO partner_tbl (partner_id, name) VALUES ($1, 'P')",
                partner_id,
            )
            await connection.execute(
                "INSERT INTO location_tbl (location_id, name) VALUES ($1, 'S')",
                uuid.UUID(location_id),
            )
            return str(
                await connection.fetchval(
                    "WITH u AS (INSERT INTO pos_user_tbl"
                    " (partner_id, external_user_id, display_name)"
                    " VALUES ($1, 'EMP-7', 'Grace') RETURNING pos_user_id)"
                    " INSERT INTO pos_user_membership_tbl"
                    " (pos_user_id, location_id, role_slug)"
                    " SELECT pos_user_id, $2, 'location_supervisor' FROM u"
                    " RETURNING pos_user_id",
                    partner_id,
                    uuid.UUID(location_id),
                )
            )
        finally:
            await connection.close()

    return partner_id, location_id, asyncio.run(seed())


async def test_migrate_creates_a_missing_database_once(postgres_admin_url: str) -> None:
    name = f"tilt_test_{uuid.uuid4().hex[:12]}"
    url = urlunsplit(urlsplit(postgres_admin_url)._replace(path=f"/{name}"))

    try:
        assert await create_database_if_missing(url) is True
        assert await create_database_if_missing(url) is False
    finally:
        admin = await asyncpg.connect(postgres_admin_url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def test_invalid_settings_exit_2_with_one_line(database_url: str) -> None:
    env = {**os.environ, "PROVISIONING_PREFETCH": "many"}

    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from provisioning_service.entrypoint import main; main()",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "PROVISIONING_PREFETCH" in result.stderr


def test_the_service_starts_and_stops_cleanly_on_sigterm(
    database_url: str, amqp_url: str, unique_prefix: str
) -> None:
    env = {
        **os.environ,
        "PROVISIONING_DATABASE_URL": database_url,
        "PROVISIONING_AMQP_URL": amqp_url,
        "PROVISIONING_BUS_PREFIX": unique_prefix,
        "PROVISIONING_HTTP_PORT": "0",
    }
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from provisioning_service.entrypoint import main; main()",
        ],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None
        line = process.stdout.readline()
        started = json.loads(line)
        process.send_signal(signal.SIGTERM)
        rest = process.stdout.read()
        code = process.wait(timeout=20)

    assert started["event"] == "service_started"
    assert started["service"] == "provisioning-service"
    assert '"service_stopped"' in rest
    assert code == 0
    assert "@" not in line  # no connection string, with or without password
