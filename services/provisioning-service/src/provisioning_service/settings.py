"""The provisioning service's settings, read from PROVISIONING_* variables."""

from collections.abc import Mapping
from typing import Annotated, Final, Literal

import msgspec

from tilt_shared.settings import Secret, load_settings

PREFIX: Final = "PROVISIONING_"
DEFAULT_DATABASE_URL: Final = "postgresql://postgres@127.0.0.1:5432/tilt"
DEFAULT_AMQP_URL: Final = "amqp://guest:guest@127.0.0.1:5672/"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    # URLs may carry passwords: wrapped so that repr and logs never show them.
    database_url: Secret = Secret(DEFAULT_DATABASE_URL)
    amqp_url: Secret = Secret(DEFAULT_AMQP_URL)
    bus_prefix: str = ""
    prefetch: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 32
    max_retries: Annotated[int, msgspec.Meta(ge=0, le=100)] = 5
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    pool_min: Annotated[int, msgspec.Meta(ge=0, le=100)] = 1
    pool_max: Annotated[int, msgspec.Meta(ge=1, le=100)] = 10
    db_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=60)] = 5.0
    # The HTTP side (/healthz, /readyz, /metrics); port 0 takes any free one.
    http_host: str = "127.0.0.1"
    http_port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 8081
    otel_enabled: bool = False
    otel_exporter: Literal["otlp", "console"] = "otlp"
    otel_endpoint: str = ""

    def __post_init__(self) -> None:
        if self.pool_min > self.pool_max:
            raise ValueError(
                f"expected POOL_MIN <= POOL_MAX, got {self.pool_min} > {self.pool_max}"
            )


class OperatorSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What the operators' CLI needs besides the database; never the consumer."""

    database_url: Secret = Secret(DEFAULT_DATABASE_URL)
    # Directory changes are announced on the bus the token services listen to.
    amqp_url: Secret = Secret(DEFAULT_AMQP_URL)
    bus_prefix: str = ""
    # Empty means AWS itself; a URL points at a local emulator.
    cognito_endpoint_url: str = ""
    cognito_region: str = "us-east-1"
    cognito_user_pool_id: str = ""


def read_operator_settings(
    environ: Mapping[str, str] | None = None,
) -> OperatorSettings:
    """Raises `tilt_shared.settings.SettingsError` with a one-line reason."""
    return load_settings(OperatorSettings, PREFIX, environ)


def read_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Raises `tilt_shared.settings.SettingsError` with a one-line reason."""
    return load_settings(Settings, PREFIX, environ)
