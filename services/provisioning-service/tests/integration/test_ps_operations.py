"""Integration tests of what operators run: the CLI, migrate, the service process."""

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


@pytest.mark.parametrize(
    "args",
    [
        ["grant", "--partner-id", "nobody", "--location-id", str(uuid.uuid4())],
        ["location", "create", "--location-id", "not-a-uuid", "--name", "x"],
        ["partner", "create", "--partner-id", " padded", "--name", "x"],
    ],
)
def test_cli_refuses_bad_input_with_a_clear_error(
    database_url: str, args: list[str]
) -> None:
    runner = CliRunner(env={"PROVISIONING_DATABASE_URL": database_url})

    result = runner.invoke(cli, args)

    assert result.exit_code != 0
    assert "Error" in result.output
    assert "Traceback" not in result.output


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
