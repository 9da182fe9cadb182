"""Checks of docker-compose.yml that its JSON schema cannot express.

The schema itself is checked by check-jsonschema's vendored compose-spec
(`make lint`); this adds the stack's own rules: every `depends_on` target
exists, only the public services publish ports, every long-running service
has a health check, and every build names a Dockerfile that exists.
"""

import sys
from pathlib import Path
from typing import Any, Final

import yaml

ROOT: Final = Path(__file__).resolve().parents[2]
# The browser and partners reach the token service; partners also reach the
# emulator's token endpoint. Nothing else leaves the compose network.
PUBLISHING: Final = frozenset({"token-service", "cognito"})


def problems(compose: dict[str, Any]) -> list[str]:
    services: dict[str, dict[str, Any]] = compose.get("services", {})
    found: list[str] = []
    for name, service in services.items():
        depends = service.get("depends_on", {})
        for target in depends if isinstance(depends, list) else depends.keys():
            if target not in services:
                found.append(f"{name}: depends_on {target!r}, which is not a service")
        if service.get("ports") and name not in PUBLISHING:
            found.append(f"{name}: publishes ports; only {sorted(PUBLISHING)} may")
        one_shot = service.get("restart", "no") == "no"
        if not one_shot and "healthcheck" not in service:
            found.append(f"{name}: long-running but has no healthcheck")
        dockerfile = service.get("build", {}).get("dockerfile")
        if dockerfile and not (ROOT / dockerfile).is_file():
            found.append(f"{name}: build.dockerfile {dockerfile} does not exist")
    return found


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else ROOT / "docker-compose.yml"
    found = problems(yaml.safe_load(path.read_text()))
    for problem in found:
        print(f"{path.name}: {problem}", file=sys.stderr)
    if not found:
        print(f"{path.name}: depends_on, ports, healthchecks, Dockerfiles ok")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
