"""The bench's stack: the e2e stack's code, settings for load, pinned processes."""

import asyncio
import dataclasses
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from testsupport.bus_cleanup import delete_bus_names
from testsupport.stack import drop_database, free_port, stack_config
from tilt_devstack.stack import RunningStack, console_script, start_stack, token_env

SERVER_CORE: Final = "0"
LOAD_CORE: Final = "1"
LOCAL_URLS: Final = {
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "AMQP_URL": "amqp://guest:guest@127.0.0.1:5672/",
    "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/postgres",
}
# The per-partner mint limit guards production; here it must never answer 429.
LOAD_SETTINGS: Final = {
    "TOKEN_SERVICE_MINT_RATE_PER_S": "1000000",
    "TOKEN_SERVICE_MINT_BURST": "1000000",
    "TOKEN_SERVICE_LOG_LEVEL": "INFO",
}


def url(name: str) -> str:
    return os.environ.get(name) or LOCAL_URLS[name]


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmHWM, VmRSS) of a process in MiB, from /proc/<pid>/status."""
    values = {"VmHWM": 0.0, "VmRSS": 0.0}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in values:
            values[name] = int(rest.split()[0]) / 1024
    return values["VmHWM"], values["VmRSS"]


def pin(pid: int, core: str = SERVER_CORE) -> None:
    """Every thread of `pid` onto one core, when taskset exists (else shared)."""
    if shutil.which("taskset"):
        subprocess.run(
            ["taskset", "-a", "-p", "-c", core, str(pid)],
            check=True,
            capture_output=True,
        )


@dataclass
class BenchStack:
    """The running stack plus the extra servers a scenario starts."""

    stack: RunningStack
    log_dir: Path

    def pid(self, name: str) -> int:
        return self.stack.processes.children[name].pid

    def start_server(self, name: str, argv: list[str], env: Mapping[str, str]) -> int:
        """Starts a server on a free port, pinned to the server core; its port."""
        port = free_port()
        self.stack.processes.start(name, argv, {**env, "BENCH_PORT": str(port)})
        pin(self.pid(name))
        return port

    def start_token_service(
        self, name: str, module: str | None, extra: Mapping[str, str]
    ) -> str:
        """Another token service on this stack (`module` run with -m, else the
        console script), pinned to the server core; its base URL."""
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = token_env(self.stack.config, self.stack.pool)
        env.update(LOAD_SETTINGS)
        env.update({"TOKEN_SERVICE_PORT": str(port)})
        env.update({"TOKEN_SERVICE_PUBLIC_BASE_URL": base, **extra})
        argv = (
            [sys.executable, "-m", module]
            if module
            else [console_script("token-service")]
        )
        self.stack.processes.start(name, argv, env)
        pin(self.pid(name))
        self.stack.processes.wait_http(name, f"{base}/readyz", 40)
        return base

    def stop(self, name: str) -> None:
        self.stack.processes.stop(name)


@contextmanager
def removed_afterwards(
    admin_url: str, database: str, amqp_url: str, bus_prefix: str
) -> Iterator[None]:
    """On exit, even on a failure or Ctrl-C: drop the run's database and
    delete the quorum queues and exchanges its services declared on the broker."""
    try:
        yield
    finally:
        try:
            asyncio.run(drop_database(admin_url, database))
        finally:
            delete_bus_names(amqp_url, [bus_prefix])


@contextmanager
def bench_stack() -> Iterator[BenchStack]:
    """The product on its own database, prefixes and ports, removed afterwards."""
    admin_url = url("DATABASE_URL")
    config, database = stack_config(
        url("REDIS_URL"), url("AMQP_URL"), admin_url, "bench"
    )
    config = dataclasses.replace(
        config, token_env={**config.token_env, **LOAD_SETTINGS}
    )
    removed = removed_afterwards(
        admin_url, database, config.amqp_url, config.bus_prefix
    )
    # The stack stops first, so no consumer declares the names again.
    with removed, start_stack(config) as running:
        assert config.log_dir is not None
        bench = BenchStack(running, config.log_dir)
        pin(bench.pid("token-service"))
        yield bench
