"""Starts the stack's processes, waits until they are ready, and stops them all."""

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx


class ProcessFailed(RuntimeError):
    """A process of the stack exited or never became ready."""


@dataclass
class ProcessGroup:
    """Child processes started together and stopped together (SIGTERM, then SIGKILL)."""

    log_dir: Path | None = None
    echo: bool = False
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, argv: list[str], env: Mapping[str, str]) -> None:
        stdout: int | IO[bytes] = subprocess.PIPE
        if self.log_dir is not None and not self.echo:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            stdout = (self.log_dir / f"{name}.log").open("ab")
        child = subprocess.Popen(
            argv,
            env={**os.environ, **env},
            stdout=stdout,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.children[name] = child
        if not isinstance(stdout, int):
            stdout.close()  # the child holds its own descriptor
        if stdout == subprocess.PIPE:
            threading.Thread(
                target=self._relay, args=(name, child), daemon=True
            ).start()

    def _relay(self, name: str, child: subprocess.Popen[bytes]) -> None:
        assert child.stdout is not None
        for line in child.stdout:
            if self.echo:
                sys.stdout.write(f"{name:>13} | {line.decode(errors='replace')}")
                sys.stdout.flush()

    def wait_http(self, name: str, url: str, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            child = self.children[name]
            if child.poll() is not None:
                raise ProcessFailed(f"{name} exited with code {child.returncode}")
            try:
                if httpx.get(url, timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise ProcessFailed(f"{name} was not ready at {url} after {timeout_s:.0f} s")

    def check_alive(self) -> None:
        for name, child in self.children.items():
            if child.poll() is not None:
                raise ProcessFailed(f"{name} exited with code {child.returncode}")

    def stop(self, name: str, timeout_s: float = 10.0) -> None:
        child = self.children.pop(name)
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
            try:
                child.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()

    def stop_all(self) -> None:
        for name in reversed(list(self.children)):
            self.stop(name)
