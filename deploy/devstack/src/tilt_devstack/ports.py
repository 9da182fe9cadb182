"""Checks, before a stack starts anything, that every port it will listen on is free.

Without it, a second `make run` failed late and confusingly: its emulator
could not bind, while the first stack's emulator answered the health check.
"""

import errno
import socket
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Listener:
    """A port the stack will listen on, what listens there, and how to move it."""

    port: int
    wanted_by: str
    setting: str


class PortUnavailable(RuntimeError):
    """A port the stack needs cannot be listened on; the message says what to set."""


def ensure_free(host: str, listeners: Sequence[Listener]) -> None:
    """Raises `PortUnavailable` for the first port shared, taken or forbidden."""
    for index, listener in enumerate(listeners):
        for earlier in listeners[:index]:
            if earlier.port == listener.port:
                raise PortUnavailable(
                    f"port {listener.port} is wanted by both {earlier.wanted_by} "
                    f"and {listener.wanted_by}: set {listener.setting} to another port"
                )

        reason = _why_not_bindable(host, listener.port)
        if reason is not None:
            raise PortUnavailable(
                f"port {listener.port} on {host} is {reason}, and "
                f"{listener.wanted_by} listens there: set {listener.setting} "
                "to a free port"
            )


def _why_not_bindable(host: str, port: int) -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # The servers set it too, so a port held only by connections in
        # TIME_WAIT counts as free, as it is for them.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return "in use (another `make run`?)"
            return f"not available ({exc.strerror})"
    return None
