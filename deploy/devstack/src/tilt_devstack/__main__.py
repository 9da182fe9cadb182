"""Command line of the development stack: `run` (make run) and `demo` (make demo)."""

import argparse
import json
import os
import shlex
import signal
import sys
import time
from pathlib import Path

import httpx

from tilt_devstack.demo import run_demo
from tilt_devstack.dependencies import DEPENDENCIES, MissingDependency, resolve
from tilt_devstack.ports import PortUnavailable, ensure_free
from tilt_devstack.processes import ProcessFailed
from tilt_devstack.run_config import (
    DEFAULT_COGNITO_PORT,
    DEFAULT_TOKEN_PORT,
    listeners,
    run_config,
)
from tilt_devstack.stack import (
    HOST,
    RunningStack,
    StackConfig,
    provisioning_env,
    start_stack,
)

DEV_DIR = Path(".dev")


def _dev_secrets() -> dict[str, str]:
    """Keys kept across runs, so links minted before a restart still verify."""
    from tilt_devstack.stack import new_key

    path = DEV_DIR / "secrets.json"
    if path.exists():
        return dict(json.loads(path.read_text()))
    secrets = {"signing_keys": f"dev-1:{new_key()}", "password_key": new_key()}
    DEV_DIR.mkdir(exist_ok=True)
    path.write_text(json.dumps(secrets))
    path.chmod(0o600)
    return secrets


def write_operator_env(stack: RunningStack) -> None:
    """Settings the operators' Make targets source: valid while `make run` is up."""
    env = {
        # The broker and bus prefix too: a change announced under another
        # stack's names would reach that stack's token services, not this one's.
        **provisioning_env(stack.config),
        "PROVISIONING_COGNITO_ENDPOINT_URL": stack.pool.endpoint_url,
        "PROVISIONING_COGNITO_REGION": stack.pool.region,
        "PROVISIONING_COGNITO_USER_POOL_ID": stack.pool.pool_id,
    }
    path = DEV_DIR / "operator.env"
    path.write_text("".join(f"{k}={shlex.quote(v)}\n" for k, v in env.items()))
    path.chmod(0o600)


def _names_line(config: StackConfig) -> str:
    if not config.bus_prefix:
        return ""
    return (
        f"  queues and exchanges {config.bus_prefix}…, Redis keys "
        f"{config.redis_prefix}… (from the database's name)\n"
    )


def run(args: argparse.Namespace) -> int:
    compose_file = str(Path("docker-compose.yml").resolve())
    try:
        # First: resolving may start containers, and nothing may start when
        # the stack cannot listen where it must.
        ensure_free(HOST, listeners(args.port, args.cognito_port))
        redis_url, amqp_url, database_url = (
            resolve(dependency, compose_file) for dependency in DEPENDENCIES
        )
    except (PortUnavailable, MissingDependency) as exc:
        print(f"make run: {exc}", file=sys.stderr)
        return 1

    config = run_config(
        redis_url=redis_url,
        amqp_url=amqp_url,
        database_url=database_url,
        token_port=args.port,
        cognito_port=args.cognito_port,
        secrets=_dev_secrets(),
    )
    # A background job starts with SIGINT ignored, and `kill` sends SIGTERM:
    # both stop the stack as Ctrl-C does, cleaning up and saying so.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, signal.default_int_handler)
    try:
        with start_stack(config) as stack:
            credentials_file = DEV_DIR / "credentials.json"
            credentials_file.write_text(
                json.dumps(stack.credentials(), indent=2) + "\n"
            )
            credentials_file.chmod(0o600)
            write_operator_env(stack)
            print(
                f"\nTilt POS launch links is running.\n"
                f"  token service  {config.token_url} (partner API, /launch, /sale)\n"
                f"  Cognito emulator {config.emulator_url} (token endpoint "
                f"{stack.pool.token_url})\n"
                f"{_names_line(config)}"
                f"  demo partner credentials in {credentials_file}\n"
                f"  try it: make demo        stop: Ctrl-C or kill {os.getpid()}\n",
                flush=True,
            )
            while True:
                stack.processes.check_alive()
                time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nstopped everything make run started")
        return 0
    except ProcessFailed as exc:
        print(f"make run: {exc}", file=sys.stderr)
        return 1


def _port(text: str) -> int:
    if not (text.isdigit() and 1 <= int(text) <= 65535):
        raise argparse.ArgumentTypeError(f"expected a port 1-65535, got {text!r}")
    return int(text)


def main() -> None:
    parser = argparse.ArgumentParser(prog="tilt-devstack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="run the whole product locally")
    run_parser.add_argument(
        "--port",
        type=_port,
        default=os.environ.get("PORT", str(DEFAULT_TOKEN_PORT)),
        help=f"the token service's port (default: $PORT, else {DEFAULT_TOKEN_PORT})",
    )
    run_parser.add_argument(
        "--cognito-port",
        type=_port,
        default=os.environ.get("COGNITO_PORT", str(DEFAULT_COGNITO_PORT)),
        help=(
            "the Cognito emulator's port "
            f"(default: $COGNITO_PORT, else {DEFAULT_COGNITO_PORT})"
        ),
    )
    demo_parser = commands.add_parser("demo", help="play a partner and a browser once")
    demo_parser.add_argument(
        "--credentials", type=Path, default=DEV_DIR / "credentials.json"
    )
    args = parser.parse_args()
    if args.command == "run":
        sys.exit(run(args))
    if not args.credentials.exists():
        print("make demo: no .dev/credentials.json; start `make run` first")
        sys.exit(1)
    try:
        sys.exit(run_demo(args.credentials))
    except httpx.TransportError as exc:
        # The credentials outlive the stack that wrote them.
        print(f"make demo: the stack does not answer ({exc}); is `make run` up?")
        sys.exit(1)


if __name__ == "__main__":
    main()
