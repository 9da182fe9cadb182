"""What `make run` configures: the default stack as ever, a second one apart."""

import pytest

from tilt_devstack.run_config import database_name, run_config
from tilt_devstack.stack import StackConfig

SERVER = "postgresql://postgres@127.0.0.1:5432"


def config_on(database_url: str) -> StackConfig:
    return run_config(
        redis_url="redis://127.0.0.1:6379/0",
        amqp_url="amqp://guest:guest@127.0.0.1:5672/",
        database_url=database_url,
        token_port=8000,
        cognito_port=9229,
        secrets={"signing_keys": "dev-1:key", "password_key": "key"},
    )


def test_the_default_stack_keeps_its_well_known_ports_and_unprefixed_names() -> None:
    """A newcomer's `make run` is unchanged: 8000, 9229, no prefixes."""
    config = config_on(f"{SERVER}/tilt")

    assert (config.token_url, config.emulator_url) == (
        "http://127.0.0.1:8000",
        "http://127.0.0.1:9229",
    )
    assert (config.redis_prefix, config.bus_prefix) == ("", "")


def test_a_stack_on_another_database_has_bus_and_redis_names_of_its_own() -> None:
    """Its provisioning can no longer consume the first stack's launches."""
    first = config_on(f"{SERVER}/tilt")

    second = config_on(f"{SERVER}/other")

    assert (second.redis_prefix, second.bus_prefix) == ("other:", "other.")
    assert second.redis_prefix != first.redis_prefix
    assert second.bus_prefix != first.bus_prefix


@pytest.mark.parametrize(
    ("url", "name"),
    [
        (f"{SERVER}/tilt_dev?sslmode=disable", "tilt_dev"),
        (f"{SERVER}/my%20db", "my db"),
        ("postgresql://ada@127.0.0.1:5432", "ada"),
    ],
)
def test_the_database_name_is_read_as_postgresql_reads_it(url: str, name: str) -> None:
    """Query and escapes aside; a URL naming no database means the user's."""
    assert database_name(url) == name
