"""The operators' Make targets: values stay values; a repeat makes no duplicate."""

import subprocess
import uuid
from pathlib import Path

import pytest

from testsupport.launches import count_rows
from tilt_devstack.stack import REGION, RunningStack, provisioning_env

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


# (`$(…)` is make's own syntax on its command line, expanded before any shell.)
@pytest.mark.parametrize(
    "name", ["a`id`b", 'Joe"s shop', "x; true", "it's ~/x && more"]
)
def test_a_location_name_is_never_run_as_shell(stack: RunningStack, name: str) -> None:
    """`make location-create NAME=…` stores exactly what was given."""
    env = {**provisioning_env(stack.config), "PATH": "/usr/bin:/bin"}

    done = subprocess.run(
        # No .dev/operator.env of a developer's `make run`: this stack's database.
        ["make", "-s", "location-create", f"NAME={name}", "OPERATOR_ENV=/nonexistent"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

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
