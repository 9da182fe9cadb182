"""Helpers to read a service's settings from prefixed environment variables.

Each service declares one frozen Struct of its settings and builds it in its
composition root with `load_settings`; nothing reads the environment at
import time. A wrong value stops start-up with a one-line reason.
"""

import os
from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec


class Secret(str):
    """A string whose repr never shows its value (passwords, keys, secrets)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Secret('**********')"

    def reveal(self) -> str:
        return str.__str__(self)


class SettingsError(ValueError):
    """Configuration that cannot start the service; the message says which."""


S = TypeVar("S", bound=msgspec.Struct)


def load_settings(
    kind: type[S], prefix: str, environ: Mapping[str, str] | None = None
) -> S:
    """Build `kind` from variables named `<prefix><FIELD>` (upper case).

    Values are strings in the environment and are converted by msgspec
    (`str_values` mode), so "5.0" becomes a float and "true" a bool.
    """
    source = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    for field in msgspec.structs.fields(kind):
        name = f"{prefix}{field.encode_name.upper()}"
        if name in source:
            raw[field.encode_name] = source[name]
    try:
        return msgspec.convert(raw, kind, strict=False, dec_hook=_dec_hook)
    except msgspec.ValidationError as exc:
        raise SettingsError(f"{prefix}*: {_with_env_name(str(exc), prefix)}") from exc


def _dec_hook(kind: type, value: Any) -> Any:
    if kind is Secret and isinstance(value, str):
        return Secret(value)
    raise NotImplementedError(f"cannot read {kind!r} from the environment")


def _with_env_name(message: str, prefix: str) -> str:
    # msgspec says "at `$.field_name`"; operators know the variable instead.
    marker = "at `$."
    if marker not in message:
        return message
    head, _, tail = message.partition(marker)
    field, _, rest = tail.partition("`")
    field = field.split(".")[0].split("[")[0]
    return f"{head}in {prefix}{field.upper()}{rest}"
