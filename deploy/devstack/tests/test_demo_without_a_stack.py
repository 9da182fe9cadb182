"""`make demo` after the stack has stopped: one line saying so, not a traceback."""

import json
import subprocess
import sys
from pathlib import Path

# Nothing listens on port 1.
GONE = "http://127.0.0.1:1"


def test_credentials_of_a_stopped_stack_give_one_clear_line(tmp_path: Path) -> None:
    """The credentials file outlives `make run`; the demo says the stack is down."""
    credentials = tmp_path / "credentials.json"
    credentials.write_text(
        json.dumps(
            {
                "token_url": f"{GONE}/oauth2/token",
                "client_id": "c",
                "client_secret": "s",
                "scope": "tilt/pos:launch",
                "api_base_url": GONE,
                "location_id": "l",
            }
        )
    )

    done = subprocess.run(
        [sys.executable, "-m", "tilt_devstack", "demo", "--credentials", credentials],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "the stack does not answer" in done.stdout
    assert "is `make run` up?" in done.stdout
