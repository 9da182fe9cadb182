"""The settings `make run` leaves for the operators' Make targets."""

from pathlib import Path

import pytest

from cognito_emulator.bootstrap import PoolInfo
from tilt_devstack.__main__ import write_operator_env
from tilt_devstack.processes import ProcessGroup
from tilt_devstack.run_config import run_config
from tilt_devstack.stack import Partner, RunningStack

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


def a_second_stack() -> RunningStack:
    config = run_config(
        redis_url="redis://127.0.0.1:6379/0",
        amqp_url=AMQP_URL,
        database_url="postgresql://postgres@127.0.0.1:5432/other",
        token_port=8005,
        cognito_port=9235,
        secrets={"signing_keys": "dev-1:key", "password_key": "key"},
    )
    pool = PoolInfo(
        pool_id="us-east-1_pool",
        issuer="http://127.0.0.1:9235/us-east-1_pool",
        jwks_url="http://127.0.0.1:9235/us-east-1_pool/.well-known/jwks.json",
        token_url="http://127.0.0.1:9235/oauth2/token",
        service_client_id="service",
        service_client_secret="secret",
        region="us-east-1",
        endpoint_url="http://127.0.0.1:9235",
    )
    return RunningStack(config, pool, ProcessGroup(), Partner("", "", ""))


def test_operators_announce_changes_on_their_own_stacks_bus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make partner-suspend` in a second stack's clone reaches that stack only."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".dev").mkdir()

    write_operator_env(a_second_stack())

    lines = (tmp_path / ".dev" / "operator.env").read_text().splitlines()
    assert "PROVISIONING_BUS_PREFIX=other." in lines
    assert f"PROVISIONING_AMQP_URL={AMQP_URL}" in lines
    assert (
        "PROVISIONING_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/other" in lines
    )
