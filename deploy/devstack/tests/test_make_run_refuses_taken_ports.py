"""`make run` with a port already taken: one clear line, at once, nothing started."""

import subprocess
import sys
from pathlib import Path

import pytest

from testsupport.stack import free_port

# Nothing listens on port 1: had `make run` gone past the port check, it
# would have said that Redis does not answer, instead of naming the port.
UNREACHABLE = {
    "REDIS_URL": "redis://127.0.0.1:1/0",
    "AMQP_URL": "amqp://guest:guest@127.0.0.1:1/",
    "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/tilt",
}


def free_ports() -> dict[str, str]:
    """Free ports for both variables, since a developer's stack may hold 8000."""
    return {"PORT": str(free_port()), "COGNITO_PORT": str(free_port())}


@pytest.mark.parametrize(
    ("variable", "wanted_by", "setting"),
    [
        ("PORT", "the token service", "PORT (--port)"),
        ("COGNITO_PORT", "the Cognito emulator", "COGNITO_PORT (--cognito-port)"),
    ],
)
def test_a_taken_port_stops_make_run_before_it_starts_anything(
    taken_port: int, variable: str, wanted_by: str, setting: str, tmp_path: Path
) -> None:
    """The one line names the port, what wanted it and the variable that moves it."""
    env = {
        "PATH": "/usr/bin:/bin",
        **UNREACHABLE,
        **free_ports(),
        variable: str(taken_port),
    }

    done = subprocess.run(
        [sys.executable, "-m", "tilt_devstack", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"make run: port {taken_port} on 127.0.0.1 is in use (another `make run`?), "
        f"and {wanted_by} listens there: set {setting} to a free port"
    ]
    assert done.stdout == ""
    assert list(tmp_path.iterdir()) == []
