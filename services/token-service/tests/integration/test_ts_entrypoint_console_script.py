"""The `token-service` console script: exit 1 when it cannot serve, 0 when stopped."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from token_fakes import make_settings

from testsupport.stack import free_port

pytestmark = pytest.mark.integration
SCRIPT = Path(sys.executable).with_name("token-service")
# Far above a normal start-up (about a second); a hang is what this guards.
EXIT_WITHIN_S = 15


def script_env(redis_url: str, amqp_url: str, prefix: str, port: int) -> dict[str, str]:
    """Valid settings on the real Redis and RabbitMQ, serving on `port`."""
    settings = make_settings()
    return {
        "PATH": os.environ.get("PATH", ""),
        "TOKEN_SERVICE_HOST": "127.0.0.1",
        "TOKEN_SERVICE_PORT": str(port),
        "TOKEN_SERVICE_REDIS_URL": redis_url,
        "TOKEN_SERVICE_REDIS_PREFIX": prefix,
        "TOKEN_SERVICE_AMQP_URL": amqp_url,
        "TOKEN_SERVICE_BUS_PREFIX": prefix,
        "TOKEN_SERVICE_SIGNING_KEYS": settings.signing_keys.reveal(),
        "TOKEN_SERVICE_ACTIVE_KID": settings.active_kid,
        "TOKEN_SERVICE_COGNITO_PASSWORD_KEY": settings.cognito_password_key.reveal(),
        "TOKEN_SERVICE_PARTNER_ISSUER": settings.partner_issuer,
        "TOKEN_SERVICE_PARTNER_JWKS_URL": settings.partner_jwks_url,
        "TOKEN_SERVICE_COGNITO_USER_POOL_ID": settings.cognito_user_pool_id,
        "TOKEN_SERVICE_COGNITO_CLIENT_ID": settings.cognito_client_id,
    }


def start(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - our own console script, fixed arguments
        [str(SCRIPT)], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )


def wait_for_exit(
    process: subprocess.Popen[bytes],
) -> tuple[int | None, list[dict[str, Any]]]:
    """The script's exit code (None if it was still running) and its JSON events."""
    try:
        output, _ = process.communicate(timeout=EXIT_WITHIN_S)
        code: int | None = process.returncode
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        code = None

    events = [json.loads(line) for line in output.splitlines() if line.startswith(b"{")]
    return code, events


def test_a_taken_port_stops_the_service_with_a_start_failure(
    redis_url: str, amqp_url: str, unique_prefix: str
) -> None:
    """Another process holds the port: exit 1 at once, `service_start_failed`
    logged, and nothing reported as started."""
    with socket.create_server(("127.0.0.1", 0)) as holder:
        port = holder.getsockname()[1]
        env = script_env(redis_url, amqp_url, unique_prefix, port)

        code, events = wait_for_exit(start(env))

    failures = [e for e in events if e["event"] == "service_start_failed"]
    assert code == 1, f"exit code {code} (None: still running after the deadline)"
    assert len(failures) == 1, events
    assert failures[0]["listen"] == f"127.0.0.1:{port}"
    assert failures[0]["error_type"] == "OSError"
    assert "service_started" not in {e["event"] for e in events}


def test_a_free_port_is_served_until_sigint_then_the_lifespan_closes(
    redis_url: str, amqp_url: str, unique_prefix: str
) -> None:
    """The pre-bound socket is the one served; SIGINT still runs the shutdown
    that closes the broker client, and the script exits 0."""
    port = free_port()
    process = start(script_env(redis_url, amqp_url, unique_prefix, port))
    try:
        ready = wait_until_ready(f"http://127.0.0.1:{port}/readyz")
    finally:
        process.send_signal(signal.SIGINT)

    code, events = wait_for_exit(process)

    names = [e["event"] for e in events]
    assert ready
    assert code == 0, names
    assert names.index("service_started") < names.index("broker_channel_closed")


def wait_until_ready(url: str) -> bool:
    deadline = time.monotonic() + EXIT_WITHIN_S
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return True
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.1)
    return False
