"""`make run` stops all it started on Ctrl-C, on `kill`, and in the background."""

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from testsupport.bus_cleanup import remember_bus_prefix
from testsupport.redis_cleanup import remember_redis_prefix
from testsupport.stack import drop_database, free_port, with_database

pytestmark = pytest.mark.e2e
STOPPED = "stopped everything make run started"


def _ignore_sigint() -> None:
    """What a shell does to a job it starts with `&`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _kill_with_its_services(stack: subprocess.Popen[str]) -> None:
    """A stack that did not stop: its services run in sessions of their own,
    so each one's group is killed too, or a failed test leaves them running."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if parent == stack.pid:
                os.killpg(int(stat.parent.name), signal.SIGKILL)
    stack.kill()
    stack.wait()


@pytest.mark.parametrize(
    ("stop_signal", "background"),
    [(signal.SIGTERM, False), (signal.SIGINT, True)],
    ids=["kill", "ctrl-c-to-a-background-job"],
)
def test_a_signal_stops_the_stack_and_says_so(
    stop_signal: signal.Signals,
    background: bool,
    redis_url: str,
    amqp_url: str,
    postgres_admin_url: str,
    tmp_path: Path,
) -> None:
    """Both ways end with exit 0, the closing line, and nothing left listening."""
    database = f"tilt_signal_{uuid.uuid4().hex[:10]}"
    remember_redis_prefix(f"{database}:")
    remember_bus_prefix(f"{database}.")
    port = free_port()
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "AMQP_URL": amqp_url,
        "DATABASE_URL": with_database(postgres_admin_url, database),
        "PORT": str(port),
        "COGNITO_PORT": str(free_port()),
    }
    stack = subprocess.Popen(
        [sys.executable, "-m", "tilt_devstack", "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_ignore_sigint if background else None,
    )
    try:
        assert stack.stdout is not None
        for line in stack.stdout:
            if "is running" in line:
                break
        assert _listening(port)

        stack.send_signal(stop_signal)
        output, _ = stack.communicate(timeout=60)
    finally:
        if stack.poll() is None:
            _kill_with_its_services(stack)
        asyncio.run(drop_database(postgres_admin_url, database))

    assert stack.returncode == 0, output
    assert STOPPED in output
    deadline = time.monotonic() + 5
    while _listening(port) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _listening(port)
