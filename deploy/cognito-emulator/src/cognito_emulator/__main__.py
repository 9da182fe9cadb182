"""`python -m cognito_emulator`: serves the emulator until SIGINT or SIGTERM."""

import argparse
import logging
import signal
import sys
import threading
from types import FrameType

from cognito_emulator.server import DEFAULT_REGION, build_server

log = logging.getLogger("cognito_emulator")


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cognito_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9229)
    parser.add_argument("--region", default=DEFAULT_REGION)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = _arguments(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
    # One line per request from werkzeug would drown the one line that matters.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    server, _ = build_server(arguments.host, arguments.port, arguments.region)

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever to return, so it cannot run on
        # the thread that is serving.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    url = f"http://{arguments.host}:{server.server_port}"
    log.info("cognito_emulator_started url=%s region=%s", url, arguments.region)
    server.serve_forever()
    server.server_close()
    log.info("cognito_emulator_stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
