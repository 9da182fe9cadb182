"""Replays a Dockerfile's install steps without a Docker engine, then probes the result.

`python deploy/checks/image_dry_run.py services/token-service/Dockerfile` copies
what each `COPY` names into a scratch root, runs each `RUN uv …` step there,
and checks the runtime stage: files copied from the build context exist, every
module of the image's package imports, and its command starts far enough to
check its settings. What it cannot prove: the base image, `useradd`, layer
caching, and anything fetched by Docker itself.
"""

import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[2]
# The uv image the Dockerfiles copy from; here the developer's uv stands in.
UV_STAGE_PATH: Final = "/usr/local/bin/uv"


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) pairs, with continuation lines joined."""
    steps: list[tuple[str, str]] = []
    pending = ""
    for raw in dockerfile.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pending = (pending + " " + line.removesuffix("\\")).strip()
        if line.endswith("\\"):
            continue
        keyword, _, arguments = pending.partition(" ")
        steps.append((keyword.upper(), arguments.strip()))
        pending = ""
    return steps


def replay(dockerfile: Path, scratch: Path) -> tuple[Path, Path]:
    """Runs the COPY and `uv` steps; returns the build and runtime workdirs."""
    stage = ""
    workdir = scratch
    facts: dict[str, str] = {}
    for keyword, arguments in instructions(dockerfile):
        if keyword == "FROM":
            stage = arguments.split(" AS ")[-1].strip().lower()
        elif keyword == "WORKDIR":
            workdir = scratch / stage / arguments.lstrip("/")
            workdir.mkdir(parents=True, exist_ok=True)
            facts[f"{stage}_workdir"] = str(workdir)
        elif keyword == "COPY":
            _copy(shlex.split(arguments), scratch, stage, workdir)
        elif keyword == "RUN" and arguments.startswith("uv "):
            print(f"[{stage}] {arguments}", flush=True)
            subprocess.run(shlex.split(arguments), cwd=workdir, check=True)
    return Path(facts["build_workdir"]), Path(facts["runtime_workdir"])


def _copy(words: list[str], scratch: Path, stage: str, workdir: Path) -> None:
    options = [word for word in words if word.startswith("--")]
    *sources, target = [word for word in words if not word.startswith("--")]
    if any(option.startswith("--from=") for option in options):
        if sources == [UV_STAGE_PATH] or "--from=build" not in options:
            return  # a tool image: the local uv stands in for it
        for source in sources:
            built = scratch / "build" / source.lstrip("/")
            if not built.exists():
                raise SystemExit(f"expected {source} in the build stage")
        return  # the runtime stage reuses the build stage's files in place
    absolute = target.startswith("/")
    destination = scratch / stage / target.lstrip("/") if absolute else workdir / target
    for source in sources:
        origin = ROOT / source
        if not origin.exists():
            raise SystemExit(f"COPY {source}: not in the build context")
        into = destination / origin.name if target.endswith("/") else destination
        into.parent.mkdir(parents=True, exist_ok=True)
        if origin.is_dir():
            shutil.copytree(origin, into, dirs_exist_ok=True)
        else:
            shutil.copy2(origin, into)


# Per image: its package, and commands that must answer with the given exit code
# (2 = the service read its settings and refused them: it was found and started).
MIGRATION_HEADS: Final = (
    "from alembic.config import Config; from alembic.script import ScriptDirectory; "
    "from provisioning_service.migrate import alembic_ini; "
    "print(ScriptDirectory.from_config(Config(str(alembic_ini()))).get_heads())"
)
Probe = tuple[list[str], dict[str, str], int]
IMAGES: Final[dict[str, tuple[str, list[Probe]]]] = {
    "services/token-service/Dockerfile": (
        "token_service",
        [(["token-service"], {}, 2)],
    ),
    "services/provisioning-service/Dockerfile": (
        "provisioning_service",
        [
            (["provisioning-service"], {"PROVISIONING_PREFETCH": "0"}, 2),
            (["python", "-m", "provisioning_service.cli", "--help"], {}, 0),
            (["python", "-c", MIGRATION_HEADS], {}, 0),
        ],
    ),
    "deploy/cognito-emulator/Dockerfile": (
        "cognito_emulator",
        [
            (["python", "-m", "cognito_emulator", "--help"], {}, 0),
            (["python", "-m", "cognito_emulator.bootstrap", "--help"], {}, 0),
        ],
    ),
}


def probe(venv: Path, runtime_dir: Path, package: str, probes: list[Probe]) -> None:
    """Every module imports from the venv; each command answers as expected."""
    python = str(venv / "bin" / "python")
    walk = (
        f"import importlib, pkgutil, {package}; "
        f"assert '/site-packages/' in {package}.__file__, {package}.__file__; "
        f"[importlib.import_module(m.name) for m in "
        f"pkgutil.walk_packages({package}.__path__, '{package}.')]"
    )
    subprocess.run([python, "-c", walk], check=True, cwd=runtime_dir)

    path = f"{venv / 'bin'}:/usr/bin:/bin"
    for command, extra_env, expected in probes:
        done = subprocess.run(
            command,
            cwd=runtime_dir,
            env={"PATH": path, **extra_env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:]
        print(f"  {shlex.join(command)[:70]} -> {done.returncode} {last}", flush=True)
        if done.returncode != expected:
            raise SystemExit(f"expected exit {expected}: {done.stderr.strip()}")


def main(argv: list[str]) -> int:
    for name in argv or list(IMAGES):
        package, probes = IMAGES[name]
        print(f"== {name}", flush=True)
        with tempfile.TemporaryDirectory(prefix="image-dry-run-") as scratch:
            build_dir, runtime_dir = replay(ROOT / name, Path(scratch))
            probe(build_dir / ".venv", runtime_dir, package, probes)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
