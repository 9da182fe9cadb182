"""The `make run` stack's configuration: its ports, and names of its own per database.

A stack's provisioning consumes the launches on its bus and checks them
against its own database, so two stacks on two databases must never share a
queue: the second one refused and used up the first one's launches. Every
name a stack shares on the machine's RabbitMQ and Redis is therefore prefixed
with its database's name. The default database keeps the unprefixed names a
single `make run` has always had.
"""

import getpass
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote, urlsplit

from tilt_devstack.ports import Listener
from tilt_devstack.stack import StackConfig

DEFAULT_DATABASE: Final = "tilt"
DEFAULT_TOKEN_PORT: Final = 8000
DEFAULT_COGNITO_PORT: Final = 9229


@dataclass(frozen=True)
class Prefixes:
    redis: str
    bus: str


def database_name(database_url: str) -> str:
    """The database a PostgreSQL URL names; without one, libpq takes the user's."""
    parts = urlsplit(database_url)
    named = unquote(parts.path.lstrip("/"))
    return named or unquote(parts.username or "") or getpass.getuser()


def prefixes_for(database_url: str) -> Prefixes:
    name = database_name(database_url)
    if name == DEFAULT_DATABASE:
        return Prefixes(redis="", bus="")
    return Prefixes(redis=f"{name}:", bus=f"{name}.")


def listeners(token_port: int, cognito_port: int) -> tuple[Listener, ...]:
    """The fixed ports of the stack; provisioning's HTTP side takes any free one."""
    return (
        Listener(token_port, "the token service", "PORT (--port)"),
        Listener(cognito_port, "the Cognito emulator", "COGNITO_PORT (--cognito-port)"),
    )


def run_config(
    *,
    redis_url: str,
    amqp_url: str,
    database_url: str,
    token_port: int,
    cognito_port: int,
    secrets: Mapping[str, str],
) -> StackConfig:
    prefixes = prefixes_for(database_url)
    return StackConfig(
        redis_url=redis_url,
        amqp_url=amqp_url,
        database_url=database_url,
        token_port=token_port,
        emulator_port=cognito_port,
        redis_prefix=prefixes.redis,
        bus_prefix=prefixes.bus,
        signing_keys=secrets["signing_keys"],
        password_key=secrets["password_key"],
        echo=True,
    )
