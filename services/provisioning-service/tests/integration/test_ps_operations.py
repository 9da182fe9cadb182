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

from provisioning_service.adapters.outbound.asyncpg_directory import (
    AsyncpgDirectoryAdmin,
)
from provisioning_service.cli import cli
from provisioning_service.domain.errors import StoreUnavailable
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


def test_creating_what_exists_says_its_name_was_kept(database_url: str) -> None:
    """A repeat with another name changes nothing, and says so, not just 'exists'."""
    runner = CliRunner(env={"PROVISIONING_DATABASE_URL": database_url})
    partner, location = f"p-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    runner.invoke(cli, ["partner", "create", "--partner-id", partner, "--name", "A"])
    runner.invoke(cli, ["location", "create", "--location-id", location, "--name", "A"])

    answers = [
        runner.invoke(
            cli, ["partner", "create", "--partner-id", partner, "--name", "B"]
        ),
        runner.invoke(
            cli, ["location", "create", "--location-id", location, "--name", "B"]
        ),
    ]

    for answer in answers:
        assert answer.exit_code == 0
        assert "exists already; its name was not changed" in answer.output


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
    database_url: str, cognito: CognitoStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No orphan app client when the database refuses the partner row."""

    async def refused(*_: object) -> bool:
        raise StoreUnavailable("directory_change: ConnectionDoesNotExistError")

    monkeypatch.setattr(AsyncpgDirectoryAdmin, "create_partner", refused)
    runner = CliRunner(env=operator_env(database_url, cognito))
    before = _client_names(cognito)

    result = runner.invoke(cli, ["partner", "create", "--name", "Orphan"])

    assert result.exit_code == 1
    assert "store_unavailable" in result.output
    assert "client_secret" not in result.output
    assert _client_names(cognito) == before


def test_an_unreachable_database_creates_no_app_client(cognito: CognitoStack) -> None:
    """The name is checked first, so a dead database stops before Cognito."""
    dead_database = "postgresql://postgres@127.0.0.1:1/nowhere"
    runner = CliRunner(env=operator_env(dead_database, cognito))
    before = _client_names(cognito)

    result = runner.invoke(cli, ["partner", "create", "--name", "Orphan"])

    assert result.exit_code == 1
    assert "database" in result.output
    assert _client_names(cognito) == before


def test_a_second_partner_create_of_one_name_is_refused_before_cognito(
    database_url: str, cognito: CognitoStack
) -> None:
    """An operator's retry, even in other letter case, makes no second app
    client and no second partner."""
    runner = CliRunner(env=operator_env(database_url, cognito))
    name = f"Dup {uuid.uuid4().hex[:8]}"

    first = runner.invoke(cli, ["partner", "create", "--name", name])
    again = runner.invoke(cli, ["partner", "create", "--name", name.upper()])

    client_id = _fields(first.output)["client_id"]
    assert (first.exit_code, again.exit_code) == (0, 1), again.output
    assert again.output.count("\n") == 1
    assert f"partner {client_id} is already named" in again.output
    assert "client_secret" not in again.output
    assert _client_names(cognito).count(name) == 1
    assert _partners_named(database_url, name) == 1


def test_simultaneous_partner_creates_of_one_name_make_one_partner(
    database_url: str, cognito: CognitoStack
) -> None:
    """Operators racing on one name: one set of credentials, the rest refused."""
    env = {**os.environ, **operator_env(database_url, cognito)}
    name = f"Race {uuid.uuid4().hex[:8]}"
    command = [sys.executable, "-m", "provisioning_service.cli", "partner", "create"]

    runs = [
        subprocess.Popen(  # noqa: S603 -- this interpreter, the test's own values
            [*command, "--name", name],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    codes = sorted(run.wait(timeout=60) for run in runs)
    for run in runs:
        assert run.stdout is not None
        assert run.stderr is not None
        run.stdout.close()
        run.stderr.close()

    assert codes == [0, 1, 1, 1]
    assert _client_names(cognito).count(name) == 1
    assert _partners_named(database_url, name) == 1


def test_an_unannounced_partner_create_keeps_its_client_and_shows_the_secret(
    database_url: str, cognito: CognitoStack
) -> None:
    """The row is committed when the bus fails: its credentials must survive."""
    env = {
        **operator_env(database_url, cognito),
        "PROVISIONING_AMQP_URL": "amqp://guest:guest@127.0.0.1:1/",
    }
    name = f"Unannounced {uuid.uuid4().hex[:8]}"

    result = CliRunner(env=env).invoke(cli, ["partner", "create", "--name", name])

    fields = _fields(result.output)
    assert result.exit_code == 1
    assert "committed, but not announced" in result.output
    assert fields["client_secret"]
    assert _client_names(cognito).count(name) == 1
    assert cognito.partner_token(
        fields["client_id"], fields["client_secret"], "tilt/pos:launch"
    )


@pytest.mark.parametrize(
    "partner_id",
    ["atk-\x1b[31mRED\x1b[0m", "a b", "caf\u00e9", "a/b", "p\u200bq", "a\nb"],
)
def test_a_partner_id_outside_the_client_id_alphabet_is_refused(
    database_url: str, partner_id: str
) -> None:
    """Ids reach terminals and URLs: only A-Z a-z 0-9 . _ + -, never echoed raw."""
    runner = CliRunner(env={"PROVISIONING_DATABASE_URL": database_url})

    result = runner.invoke(
        cli, ["partner", "create", "--partner-id", partner_id, "--name", "x"]
    )

    assert result.exit_code == 2
    assert "A-Z a-z 0-9" in result.output
    assert f"got {partner_id!a}" in result.output
    assert result.output.isascii()
    assert _partner_count(database_url, partner_id) == 0


@pytest.mark.parametrize(
    "name",
    [
        "Caf\u00e9 \U0001f468\u200d\U0001f469\u200d\U0001f467",  # a ZWJ family
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian, a ZWNJ
    ],
)
def test_a_name_may_hold_the_joiners_scripts_and_emoji_need(
    database_url: str, name: str
) -> None:
    """ZWJ and ZWNJ are format characters that real names are written with."""
    runner = CliRunner(env={"PROVISIONING_DATABASE_URL": database_url})
    location_id = str(uuid.uuid4())

    result = runner.invoke(
        cli, ["location", "create", "--location-id", location_id, "--name", name]
    )

    assert result.exit_code == 0, result.output
    assert _location_name(database_url, location_id) == name


def test_cli_library_log_lines_are_json_on_stderr(database_url: str) -> None:
    """An unreachable broker: aio-pika's own complaint is a JSON line too."""
    env = {
        **os.environ,
        "PROVISIONING_DATABASE_URL": database_url,
        "PROVISIONING_AMQP_URL": "amqp://guest:guest@127.0.0.1:1/",
    }
    partner_id = f"p-{uuid.uuid4().hex[:8]}"
    command = [sys.executable, "-m", "provisioning_service.cli", "partner", "create"]

    done = subprocess.run(  # noqa: S603 -- this interpreter, the test's own values
        [*command, "--partner-id", partner_id, "--name", "Quiet"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    other = [
        line
        for line in done.stderr.splitlines()
        if not line.startswith(("{", "Error: bus_unavailable: committed"))
    ]
    logged = [json.loads(line) for line in done.stderr.splitlines() if line[:1] == "{"]
    assert done.returncode == 1
    assert done.stdout == ""
    assert other == []
    assert logged, "aio-pika reports the failed connection"
    assert {line["service"] for line in logged} == {"provisioning-cli"}


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


def _fields(output: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in output.splitlines() if ": " in line)


def _fetchval(database_url: str, sql: str, *args: object) -> object:
    async def query() -> object:
        connection = await asyncpg.connect(database_url)
        try:
            return await connection.fetchval(sql, *args)
        finally:
            await connection.close()

    return asyncio.run(query())


def _partners_named(database_url: str, name: str) -> object:
    return _fetchval(
        database_url, "SELECT count(*) FROM partner_tbl WHERE name = $1", name
    )


def _partner_count(database_url: str, partner_id: str) -> object:
    return _fetchval(
        database_url,
        "SELECT count(*) FROM partner_tbl WHERE partner_id = $1",
        partner_id,
    )


def _location_name(database_url: str, location_id: str) -> object:
    return _fetchval(
        database_url,
        "SELECT name FROM location_tbl WHERE location_id = $1",
        uuid.UUID(location_id),
    )


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
