"""The bootstrap command: pool, partner client and the compose stack's env file."""

import json
import stat
from pathlib import Path

import httpx
import pytest

from cognito_emulator import bootstrap
from cognito_emulator.stack_env import read_env_file
from testsupport.cognito import CognitoStack

pytestmark = pytest.mark.integration


def _run(
    cognito: CognitoStack, env_file: Path, capsys: pytest.CaptureFixture[str]
) -> dict[str, object]:
    exit_code = bootstrap.main(
        [
            "--endpoint",
            cognito.endpoint_url,
            "--public-endpoint",
            "http://localhost:9229",
            "--name",
            "compose-test",
            "--env-file",
            str(env_file),
        ]
    )
    assert exit_code == 0
    printed: dict[str, object] = json.loads(capsys.readouterr().out)
    return printed


def test_printed_partner_gets_a_token(
    cognito: CognitoStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The partner the bootstrap prints can exchange its credentials at once."""
    printed = _run(cognito, tmp_path / "stack.env", capsys)

    partner = printed["partner"]
    assert isinstance(partner, dict)
    assert partner["token_url"] == "http://localhost:9229/oauth2/token"
    token = cognito.partner_token(partner["client_id"], partner["client_secret"])
    assert token.count(".") == 2


def test_env_file_is_private_complete_and_keeps_keys_on_rerun(
    cognito: CognitoStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A second run makes a new pool but keeps the generated keys and location."""
    env_file = tmp_path / "state" / "stack.env"

    _run(cognito, env_file, capsys)
    first = read_env_file(env_file)
    _run(cognito, env_file, capsys)
    second = read_env_file(env_file)

    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    for kept in (
        "TOKEN_SERVICE_SIGNING_KEYS",
        "TOKEN_SERVICE_COGNITO_PASSWORD_KEY",
        "DEMO_LOCATION_ID",
    ):
        assert second[kept] == first[kept]
    assert (
        second["TOKEN_SERVICE_COGNITO_USER_POOL_ID"]
        != first["TOKEN_SERVICE_COGNITO_USER_POOL_ID"]
    )
    assert second["TOKEN_SERVICE_ACTIVE_KID"] == "compose-1"
    jwks = httpx.get(second["TOKEN_SERVICE_PARTNER_JWKS_URL"], timeout=5)
    assert jwks.status_code == 200
