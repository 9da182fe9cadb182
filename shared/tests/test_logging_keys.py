"""Every key the services log is on the allow-list, so none is silently blanked.

The allow-list replaces the value of any other key with a marker: that keeps
a secret bound by mistake out of the logs, but it also blanks a key someone
added on purpose and forgot to allow (a directory epoch, a shutdown step),
and nothing else would notice. This reads the services' source instead.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

from tilt_shared.logging import SAFE_KEYS

ROOT = Path(__file__).resolve().parents[2]
SOURCES = (
    "shared/src",
    "services/token-service/src",
    "services/provisioning-service/src",
)
LEVELS = frozenset({"debug", "info", "warning", "error", "exception", "critical"})
BINDERS = frozenset({"bind_contextvars", "bound_contextvars", "bind"})


def test_every_logged_key_is_allow_listed() -> None:
    blanked = sorted(
        f"{place}: {key}" for place, key in _logged_keys() if key not in SAFE_KEYS
    )

    assert blanked == [], "logged, then redacted by the allow-list"


def test_the_scan_sees_the_services_log_calls() -> None:
    keys = {key for _, key in _logged_keys()}

    assert {"correlation_id", "pos_user_id", "dependency", "reason"} <= keys


def _logged_keys() -> Iterator[tuple[str, str]]:
    for source in SOURCES:
        for path in sorted((ROOT / source).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for call in ast.walk(tree):
                if isinstance(call, ast.Call) and _is_logging(call):
                    place = f"{path.relative_to(ROOT)}:{call.lineno}"
                    for keyword in call.keywords:
                        if keyword.arg is not None:
                            yield place, keyword.arg


def _is_logging(call: ast.Call) -> bool:
    function = call.func
    if not isinstance(function, ast.Attribute):
        return False
    if function.attr in BINDERS:
        return True
    return (
        function.attr in LEVELS
        and isinstance(function.value, ast.Name)
        and function.value.id in {"log", "logger"}
    )
