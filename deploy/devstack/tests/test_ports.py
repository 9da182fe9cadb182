"""The check of a stack's ports, made before it starts anything."""

import pytest

from testsupport.stack import free_port as stack_free_port
from tilt_devstack.ports import Listener, PortUnavailable, ensure_free

HOST = "127.0.0.1"


@pytest.fixture
def free_port() -> int:
    return stack_free_port()


def test_a_taken_port_is_refused_naming_what_wants_it_and_the_setting(
    taken_port: int, free_port: int
) -> None:
    """The message says which port, what would listen there and what moves it."""
    wanted = [
        Listener(free_port, "the token service", "PORT"),
        Listener(taken_port, "the Cognito emulator", "COGNITO_PORT"),
    ]

    with pytest.raises(PortUnavailable) as refused:
        ensure_free(HOST, wanted)

    assert str(refused.value) == (
        f"port {taken_port} on {HOST} is in use (another `make run`?), and the "
        "Cognito emulator listens there: set COGNITO_PORT to a free port"
    )


def test_free_ports_pass(free_port: int) -> None:
    """A port nothing listens on is no reason to stop."""
    ensure_free(HOST, [Listener(free_port, "the token service", "PORT")])


def test_one_port_wanted_twice_is_refused(free_port: int) -> None:
    """Two listeners given the same free port would still collide at start."""
    wanted = [
        Listener(free_port, "the token service", "PORT"),
        Listener(free_port, "the Cognito emulator", "COGNITO_PORT"),
    ]

    with pytest.raises(PortUnavailable, match="wanted by both the token service"):
        ensure_free(HOST, wanted)
