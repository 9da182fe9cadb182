"""One launch followed through both services' JSON logs by its `jti` alone."""

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from testsupport.launches import PartnerClient, browser
from tilt_devstack.stack import RunningStack

pytestmark = pytest.mark.e2e


def log_lines(stack: RunningStack, name: str) -> list[dict[str, Any]]:
    """Every JSON line a process of the stack has written so far."""
    assert stack.config.log_dir is not None
    path = Path(stack.config.log_dir) / f"{name}.log"
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.startswith("{"):
            lines.append(json.loads(raw))
    return lines


def events_of(stack: RunningStack, name: str, jti: str) -> list[dict[str, Any]]:
    return [
        line for line in log_lines(stack, name) if line.get("correlation_id") == jti
    ]


def jti_of(launch_url: str) -> str:
    token = parse_qs(urlsplit(launch_url).query)["token"][0]
    claims = jwt.decode(token, options={"verify_signature": False})
    return str(claims["jti"])


def test_one_launch_is_correlated_across_both_services_by_its_jti(
    stack: RunningStack,
) -> None:
    """Mint and redeem once: both logs carry the jti, on every line of its requests."""
    partner = PartnerClient(stack, stack.demo)
    launch_url = partner.launch_url()
    jti = jti_of(launch_url)
    with browser(stack) as user:
        assert user.get(launch_url).status_code == 303
    # The request line is written after the answer has left: give it a moment.
    deadline = time.monotonic() + 5
    token_events = events_of(stack, "token-service", jti)
    while len(token_events) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
        token_events = events_of(stack, "token-service", jti)

    provisioning_events = events_of(stack, "provisioning", jti)

    token_names = {line["event"] for line in token_events}
    assert {"launch_token_minted", "launch_token_redeemed", "session_issued"} <= (
        token_names
    )
    assert "request_handled" in token_names
    assert "user_provisioned" in {line["event"] for line in provisioning_events}
    assert {line["service"] for line in token_events} == {"token-service"}
    assert {line["service"] for line in provisioning_events} == {"provisioning-service"}
    requests = {line["request_id"] for line in token_events}
    assert len(requests) == 2, "the mint and the redemption"
    for line in log_lines(stack, "token-service"):
        if line.get("request_id") in requests:
            assert line.get("correlation_id") == jti, line
    raw = (Path(stack.config.log_dir or ".") / "token-service.log").read_text()
    assert launch_url.split("token=", 1)[1] not in raw, "the token is never logged"
