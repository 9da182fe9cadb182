"""Command line of the development stack: `run` (make run) and `demo` (make demo)."""

import argparse
import json
import os
import shlex
import signal
import sys
import time
from pathlib import Path

from tilt_devstack.demo import run_demo
from tilt_devstack.dependencies import DEPENDENCIES, MissingDependency, resolve
from tilt_devstack.processes import ProcessFailed
from tilt_devstack.stack import RunningStack, StackConfig, start_stack

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


def _write_operator_env(stack: RunningStack) -> None:
    """Settings the operators' Make targets source: valid while `make run` is up."""
    env = {
        "PROVISIONING_DATABASE_URL": stack.config.database_url,
        "PROVISIONING_COGNITO_ENDPOINT_URL": stack.pool.endpoint_url,
        "PROVISIONING_COGNITO_REGION": stack.pool.region,
        "PROVISIONING_COGNITO_USER_POOL_ID": stack.pool.pool_id,
    }
    path = DEV_DIR / "operator.env"
    path.write_text("".join(f"{k}={shlex.quote(v)}\n" for k, v in env.items()))
    path.chmod(0o600)


def run(args: argparse.Namespace) -> int:
    compose_file = str(Path("docker-compose.yml").resolve())
    try:
        redis_url, amqp_url, database_url = (
            resolve(dependency, compose_file) for dependency in DEPENDENCIES
        )
    except MissingDependency as exc:
        print(f"make run: {exc}", file=sys.stderr)
        return 1
    secrets = _dev_secrets()
    config = StackConfig(
        redis_url=redis_url,
        amqp_url=amqp_url,
        database_url=database_url,
        token_port=args.port,
        emulator_port=args.emulator_port,
        signing_keys=secrets["signing_keys"],
        password_key=secrets["password_key"],
        echo=True,
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        with start_stack(config) as stack:
            credentials_file = DEV_DIR / "credentials.json"
            credentials_file.write_text(
                json.dumps(stack.credentials(), indent=2) + "\n"
            )
            credentials_file.chmod(0o600)
            _write_operator_env(stack)
            print(
                f"\nTilt POS launch links is running.\n"
                f"  token service  {config.token_url} (partner API, /launch, /sale)\n"
                f"  Cognito emulator {config.emulator_url} (token endpoint "
                f"{stack.pool.token_url})\n"
                f"  demo partner credentials in {credentials_file}\n"
                f"  try it: make demo        stop: Ctrl-C\n",
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


def main() -> None:
    parser = argparse.ArgumentParser(prog="tilt-devstack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="run the whole product locally")
    run_parser.add_argument(
        "--port", type=int, default=int(os.environ.get("PORT", 8000))
    )
    run_parser.add_argument("--emulator-port", type=int, default=9229)
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
    sys.exit(run_demo(args.credentials))


if __name__ == "__main__":
    main()
