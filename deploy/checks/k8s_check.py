"""Validates deploy/k8s offline: every manifest, the rendered overlays, our rules.

Each manifest of the base and of each overlay is checked against the
Kubernetes OpenAPI schemas bundled in `kubernetes-validate` (strict: unknown
fields fail). When a `kubectl` with kustomize is on PATH, every overlay is
also rendered and the result checked; without one that step says so and is
skipped. Our rules: no Secret is ever in git, every Deployment has probes on
/healthz and /readyz, resource requests and limits, a read-only root file
system and a non-root user, plus its own HorizontalPodAutoscaler and
PodDisruptionBudget.
"""

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Final

import kubernetes_validate
import yaml

ROOT: Final = Path(__file__).resolve().parents[2]
K8S: Final = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION: Final = "1.31.0"  # the oldest version the manifests target


def documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def schema_errors(docs: list[dict[str, Any]], where: str) -> list[str]:
    found = []
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            name = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
            found.append(f"{where}: {name}: {exc.message}")
    return found


def _container_problems(name: str, container: dict[str, Any]) -> list[str]:
    found = []
    probes = {
        "livenessProbe": "/healthz",
        "readinessProbe": "/readyz",
    }
    for probe, path in probes.items():
        if container.get(probe, {}).get("httpGet", {}).get("path") != path:
            found.append(f"{name}: {probe} must GET {path}")
    resources = container.get("resources", {})
    if not {"requests", "limits"} <= resources.keys():
        found.append(f"{name}: needs resource requests and limits")
    security = container.get("securityContext", {})
    if security.get("readOnlyRootFilesystem") is not True:
        found.append(f"{name}: root file system must be read-only")
    return found


def rule_errors(docs: list[dict[str, Any]], where: str) -> list[str]:
    kinds: dict[str, set[str]] = {}
    for doc in docs:
        kinds.setdefault(doc["kind"], set()).add(doc["metadata"]["name"])
    found = [f"{where}: a Secret is in git" for doc in docs if doc["kind"] == "Secret"]
    for doc in docs:
        if doc["kind"] != "Deployment":
            continue
        name = doc["metadata"]["name"]
        pod = doc["spec"]["template"]["spec"]
        if pod.get("securityContext", {}).get("runAsNonRoot") is not True:
            found.append(f"{where}: {name}: pod must set runAsNonRoot")
        for container in pod["containers"]:
            found += [f"{where}: {p}" for p in _container_problems(name, container)]
        for kind in ("HorizontalPodAutoscaler", "PodDisruptionBudget"):
            if name not in kinds.get(kind, set()):
                found.append(f"{where}: {name}: no {kind}")
    return found


def manifest_files() -> list[Path]:
    """Every manifest of the base and overlays; kustomize patches are partial."""
    files = []
    for path in sorted(K8S.rglob("*.yaml")):
        patches = yaml.safe_load((path.parent / "kustomization.yaml").read_text())
        partial = {entry["path"] for entry in patches.get("patches", [])}
        if path.name != "kustomization.yaml" and path.name not in partial:
            files.append(path)
    return files


def rendered(directory: Path) -> str | None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return None
    return subprocess.run(
        [kubectl, "kustomize", str(directory)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def main() -> int:
    found: list[str] = []
    base: list[dict[str, Any]] = []
    for path in manifest_files():
        docs = documents(path.read_text())
        found += schema_errors(docs, str(path.relative_to(ROOT)))
        if path.parent.name == "base":
            base += docs
    found += rule_errors(base, "deploy/k8s/base")

    for overlay in [K8S / "base", *sorted((K8S / "overlays").iterdir())]:
        text = rendered(overlay)
        if text is None:
            print(f"{overlay.name}: no kubectl on PATH, rendering skipped")
            continue
        where = f"rendered {overlay.relative_to(K8S)}"
        docs = documents(text)
        found += schema_errors(docs, where) + rule_errors(docs, where)
        print(f"{where}: {len(docs)} resources")

    for problem in found:
        print(problem, file=sys.stderr)
    if not found:
        print(f"deploy/k8s: schemas (Kubernetes {KUBERNETES_VERSION}) and rules ok")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
