"""The operators' Make targets: shell metacharacters in values stay values."""

import subprocess
from pathlib import Path

import pytest

from testsupport.launches import count_rows
from tilt_devstack.stack import RunningStack, provisioning_env

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
