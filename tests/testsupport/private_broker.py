"""A RabbitMQ node of the test's own, so a test can restart a broker for real.

The machine's shared broker serves every other test and developer, so it is
never restarted; this node runs from the same `rabbitmq-server` install with
its own name, ports and data directory, and is shut down and deleted after.
When `rabbitmq-server` is missing (a machine where RabbitMQ runs only in a
container), the tests that need the node are skipped with that reason.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest

from testsupport.stack import free_port

START_TIMEOUT_S: Final = 60.0
# The Debian package's scripts drop root to this user, who must own the files.
BROKER_USER: Final = "rabbitmq"


@dataclass(frozen=True)
class PrivateBroker:
    node: str
    port: int

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def restart(self) -> None:
        """Stop and start the broker application: every connection is forced
        closed, listeners go away, and queues are recovered from disk."""
        self._ctl("stop_app")
        _until(lambda: not _listening(self.port), "the listener never closed")
        self._ctl("start_app")
        _until(lambda: _listening(self.port), "the broker never listened again")

    def _ctl(self, *command: str) -> None:
        subprocess.run(
            ["rabbitmqctl", "-q", "-n", self.node, *command],
            check=True,
            capture_output=True,
            timeout=START_TIMEOUT_S,
        )


@contextmanager
def private_broker() -> Iterator[PrivateBroker]:
    if shutil.which("rabbitmq-server") is None or shutil.which("rabbitmqctl") is None:
        pytest.skip("needs a local rabbitmq-server install to restart a broker")

    home = Path(tempfile.mkdtemp(prefix="tilt-broker-"))
    broker = PrivateBroker(f"tilt-{uuid.uuid4().hex[:8]}@localhost", free_port())
    (home / "rabbitmq.conf").write_text(
        f"listeners.tcp.local = 127.0.0.1:{broker.port}\n"
    )
    (home / "enabled_plugins").write_text("[].\n")
    _hand_to_broker_user(home)
    env = {
        **os.environ,
        "RABBITMQ_NODENAME": broker.node,
        "RABBITMQ_DIST_PORT": str(free_port()),
        "RABBITMQ_CONFIG_FILE": str(home / "rabbitmq.conf"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(home / "enabled_plugins"),
        "RABBITMQ_MNESIA_BASE": str(home / "data"),
        "RABBITMQ_LOG_BASE": str(home / "log"),
        "RABBITMQ_PID_FILE": str(home / "pid"),
    }
    with open(home / "server.out", "wb") as out:
        server = subprocess.Popen(
            ["rabbitmq-server"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _until(
            lambda: _listening(broker.port) or server.poll() is not None,
            f"the private broker never listened; see {home / 'server.out'}",
        )
        if server.poll() is not None:
            raise AssertionError(f"the private broker exited; see {home}")
        yield broker
    finally:
        subprocess.run(
            ["rabbitmqctl", "-q", "-n", broker.node, "shutdown"],
            capture_output=True,
            timeout=START_TIMEOUT_S,
        )
        try:
            server.wait(timeout=START_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(home, ignore_errors=True)


def _hand_to_broker_user(home: Path) -> None:
    if os.geteuid() != 0:
        return
    for path in (home, *home.iterdir()):
        shutil.chown(path, BROKER_USER, BROKER_USER)
    home.chmod(0o755)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _until(condition: Callable[[], bool], failure: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(failure)
