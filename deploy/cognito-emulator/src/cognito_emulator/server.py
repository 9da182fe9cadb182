"""Runs the emulator on one port: in a thread for tests, or blocking for `make run`."""

import threading
from dataclasses import dataclass, field

from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.serving import BaseWSGIServer, make_server

from cognito_emulator.app import EmulatorApp
from cognito_emulator.signing import TokenSigner

DEFAULT_REGION = "us-east-1"


@dataclass
class EmulatorHandle:
    """A running emulator: its base URL, and how to stop it."""

    url: str
    region: str
    app: EmulatorApp
    server: BaseWSGIServer
    thread: threading.Thread | None = field(default=None)

    def calls(self) -> dict[str, int]:
        return self.app.calls.snapshot()

    def reset_calls(self) -> None:
        self.app.calls.reset()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self.thread is not None:
            self.thread.join(timeout=5)


def build_server(
    host: str, port: int, region: str
) -> tuple[BaseWSGIServer, EmulatorApp]:
    """A bound, not yet serving, threaded server; port 0 picks a free one."""
    app = EmulatorApp(TokenSigner(region=region))
    server = make_server(
        host, port, app, threaded=True, request_handler=MotoRequestHandler
    )
    return server, app


def start_emulator(
    host: str = "127.0.0.1", port: int = 0, region: str = DEFAULT_REGION
) -> EmulatorHandle:
    """Starts the emulator in a daemon thread and returns once it accepts requests."""
    server, app = build_server(host, port, region)
    thread = threading.Thread(
        target=server.serve_forever, name="cognito-emulator", daemon=True
    )
    thread.start()
    url = f"http://{host}:{server.server_port}"
    return EmulatorHandle(url=url, region=region, app=app, server=server, thread=thread)
