"""The operators' Make targets: values stay values; a repeat makes no duplicate."""

import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from provisioning_service.operator_input import shown
from testsupport.launches import count_rows
from tilt_devstack.stack import REGION, RunningStack, provisioning_env

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
GIVEN_BY = ["command line", "environment"]


def run_make(
    target: str, values: dict[str, str], given_by: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """`make -s target` with the operator's `values` as VAR=… words or in its env."""
    # No .dev/operator.env of a developer's `make run`: this stack's database.
    values = {"OPERATOR_ENV": "/nonexistent", **values}
    words = [f"{var}={value}" for var, value in values.items()]
    return subprocess.run(
        ["make", "-s", target] + (words if given_by == "command line" else []),
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **env}
        | (values if given_by == "environment" else {}),
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    "name", ["a`id`b", 'Joe"s shop', "x; true", "it's ~/x && more"]
)
def test_a_location_name_is_never_run_as_shell(stack: RunningStack, name: str) -> None:
    """`make location-create NAME=…` stores exactly what was given."""
    env = provisioning_env(stack.config)

    done = run_make("location-create", {"NAME": name}, "command line", env)

    assert done.returncode == 0, done.stderr
    stored = count_rows(
        stack, "SELECT count(*) FROM location_tbl WHERE name = $1", name
    )
    assert stored >= 1


def test_partner_create_run_twice_makes_one_partner(stack: RunningStack) -> None:
    """A retried `make partner-create NAME=…` refuses, naming the first partner."""
    env = {
        **provisioning_env(stack.config),
        "PROVISIONING_COGNITO_ENDPOINT_URL": stack.pool.endpoint_url,
        "PROVISIONING_COGNITO_REGION": REGION,
        "PROVISIONING_COGNITO_USER_POOL_ID": stack.pool.pool_id,
        "PATH": "/usr/bin:/bin",
    }
    name = f"Dup Partner {uuid.uuid4().hex[:8]}"
    target = ["make", "-s", "partner-create", f"NAME={name}", "OPERATOR_ENV=/none"]

    first, again = (
        subprocess.run(
            target, cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        for _ in range(2)
    )

    assert first.returncode == 0, first.stderr
    client_id = first.stdout.split("client_id: ", 1)[1].split()[0]
    assert again.returncode != 0
    assert f"partner {client_id} is already named" in again.stderr
    assert "client_secret" not in again.stdout
    assert (
        count_rows(stack, "SELECT count(*) FROM partner_tbl WHERE name = $1", name) == 1
    )


@pytest.mark.parametrize("given_by", GIVEN_BY)
def test_make_syntax_in_a_name_is_stored_as_text(
    stack: RunningStack, tmp_path: Path, given_by: str
) -> None:
    """Make never runs or drops `$(shell …)`, `$$`, `${…}` in NAME: it is stored."""
    marker = tmp_path / "ran"
    name = (
        f"Shop $(shell touch {marker}) $(id) $$ ${{HOME}} `id` 'q' \"St\" "
        f"Ünïcödé 名前 {uuid.uuid4().hex[:8]}"
    )

    done = run_make(
        "location-create", {"NAME": name}, given_by, provisioning_env(stack.config)
    )

    assert done.returncode == 0, done.stderr
    assert not marker.exists()
    stored = count_rows(
        stack, "SELECT count(*) FROM location_tbl WHERE name = $1", name
    )
    assert stored == 1


# Each value is one the CLI refuses before it needs a database, quoting it back.
@pytest.mark.parametrize("given_by", GIVEN_BY)
@pytest.mark.parametrize(
    ("target", "variable", "others", "refusal"),
    [
        ("partner-users", "PARTNER", {}, lambda value: f"got {shown(value)}"),
        (
            "location-create",
            "LOCATION",
            {"NAME": "Main St"},
            lambda value: f"{value!r} is not a valid UUID",
        ),
        (
            "grant",
            "LOCATION",
            {"PARTNER": "abc"},
            lambda value: f"{value!r} is not a valid UUID",
        ),
        (
            "partner-name-updates",
            "SETTING",
            {"PARTNER": "abc"},
            lambda value: f"{value!r} is not one of 'on', 'off'",
        ),
    ],
)
def test_make_syntax_in_an_id_reaches_the_cli_as_text(
    tmp_path: Path,
    given_by: str,
    target: str,
    variable: str,
    others: dict[str, str],
    refusal: Callable[[str], str],
) -> None:
    """The CLI's refusal quotes the `$(shell …)` text back; Make never ran it."""
    marker = tmp_path / "ran"
    value = f"$(shell touch {marker})"

    done = run_make(target, {**others, variable: value}, given_by, {})

    assert refusal(value) in done.stderr
    assert not marker.exists()


@pytest.mark.parametrize("given_by", GIVEN_BY)
def test_a_newline_in_a_name_reaches_the_cli(given_by: str) -> None:
    """The CLI refuses it by its own rule, naming where it sits: it arrived whole."""
    done = run_make("location-create", {"NAME": "Main\nSt"}, given_by, {})

    assert done.returncode != 0
    assert "got U+000A at position 4" in done.stderr


def test_an_option_like_setting_is_a_value_not_an_option() -> None:
    """`SETTING=--help` is refused as a setting instead of printing the help."""
    done = run_make(
        "partner-name-updates",
        {"PARTNER": "abc", "SETTING": "--help"},
        "command line",
        {},
    )

    assert "'--help' is not one of 'on', 'off'" in done.stderr


@pytest.mark.parametrize("given_by", GIVEN_BY)
def test_make_syntax_is_not_run_by_a_target_that_ignores_it(
    tmp_path: Path, given_by: str
) -> None:
    """Exporting the operator's variables to any recipe expands none of them."""
    variables = [
        "NAME",
        "PARTNER",
        "LOCATION",
        "SETTING",
        "OPERATOR_ENV",
        "DATABASE_URL",
        "PROVISIONING_AMQP_URL",
    ]
    values = {var: f"$(shell touch {tmp_path / var})" for var in variables}

    done = run_make("help", values, given_by, {})

    assert done.returncode == 0, done.stderr
    assert list(tmp_path.iterdir()) == []
