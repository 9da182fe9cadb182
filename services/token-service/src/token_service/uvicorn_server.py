"""How the token service is served: its port bound first, then uvicorn on that socket.

uvicorn binds only after the app's lifespan has started, and by then the
adapters' background AMQP connections can keep the process alive after it
gives up. Binding first lets a taken port stop start-up before anything
connects, with one `service_start_failed` event and exit code 1.
"""

import contextlib
import socket
from typing import Any, Final

import structlog

log = structlog.get_logger(__name__)
# The code uvicorn itself exits with when its server did not start.
START_FAILURE: Final = 1


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host:port` as uvicorn binds one; raises OSError."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def serve(app: Any, host: str, port: int) -> None:
    """Serve `app` until stopped; exit 1 if the port cannot be bound or the app
    does not start. The benchmark's ceiling is served this way too."""
    import uvicorn

    try:
        sock = listening_socket(host, port)
    except OSError as exc:
        log.error(
            "service_start_failed",
            listen=f"{host}:{port}",
            error_type=type(exc).__name__,
            error=str(exc),
        )
        raise SystemExit(START_FAILURE) from None

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        workers=1,
        log_config=None,
        access_log=False,
        proxy_headers=True,
    )
    server = uvicorn.Server(config)
    # Ctrl-C is a normal stop, as under `uvicorn.run`.
    with sock, contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])

    if not server.started:
        raise SystemExit(START_FAILURE)
