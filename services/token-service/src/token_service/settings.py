"""The token service's settings, read once from `TOKEN_SERVICE_*` variables."""

import base64
import binascii
from typing import Final
from urllib.parse import urlsplit

import msgspec

from tilt_shared.settings import Secret, SettingsError
from tilt_shared.telemetry import EXPORTERS

PREFIX: Final = "TOKEN_SERVICE_"
# HMAC-SHA256 keys shorter than the hash output weaken it (RFC 2104 §3).
MIN_KEY_BYTES: Final = 32


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = ""
    # Connections per process. A caller finding all of them busy queues for
    # one up to `redis_pool_timeout_s`; a burst of opens waits, never fails.
    redis_max_connections: int = 100
    redis_pool_timeout_s: float = 2.0
    # Bounds each connect and each reply: a Redis that stopped answering
    # fails a request within about pool + connect + reply timeouts.
    redis_socket_timeout_s: float = 2.0
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    bus_prefix: str = ""
    public_base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    signing_keys: Secret = Secret("")
    active_kid: str = ""
    token_issuer: str = "tilt-pos"  # noqa: S105 - a claim value, not a secret
    token_audience: str = "tilt-pos-launch"  # noqa: S105 - a claim value, not a secret
    launch_ttl_s: int = 600
    expiry_leeway_s: int = 0
    provisioning_timeout_s: float = 5.0
    partner_issuer: str = ""
    partner_jwks_url: str = ""
    partner_scope: str = "tilt/pos:launch"
    cognito_endpoint_url: str | None = None
    cognito_region: str = "us-east-1"
    cognito_user_pool_id: str = ""
    cognito_client_id: str = ""
    cognito_client_secret: Secret = Secret("")
    cognito_password_key: Secret = Secret("")
    cookie_secure: bool = True
    log_level: str = "INFO"
    # The directory copy follows provisioning's events; a snapshot this often
    # repairs a change whose event was lost (a broker outage mid-publish).
    directory_resync_s: float = 30.0
    # Per partner: far above one back office launching its users, low enough
    # that a runaway client cannot fill Redis; load tests raise it.
    mint_rate_per_s: float = 50.0
    mint_burst: int = 500
    otel_enabled: bool = False
    otel_exporter: str = "otlp"
    otel_endpoint: str = ""

    @property
    def public_origin(self) -> str:
        parts = urlsplit(self.public_base_url)
        return f"{parts.scheme}://{parts.netloc}"


def decode_key(value: str, name: str) -> bytes:
    """A base64url secret (padding optional) as bytes; raises `SettingsError`."""
    try:
        return base64.urlsafe_b64decode((value + "=" * (-len(value) % 4)).encode())
    except (binascii.Error, ValueError) as exc:
        raise SettingsError(f"{PREFIX}{name}: expected base64url") from exc


def check_settings(settings: Settings) -> None:
    """Stop start-up with a one-line reason when a setting cannot work."""
    ring = parse_key_ring(settings.signing_keys.reveal())
    if settings.active_kid not in ring:
        raise SettingsError(
            f"{PREFIX}ACTIVE_KID: expected one of the SIGNING_KEYS kids, "
            f"got {settings.active_kid!r}"
        )
    password_key = decode_key(
        settings.cognito_password_key.reveal(), "COGNITO_PASSWORD_KEY"
    )
    if len(password_key) < MIN_KEY_BYTES:
        raise SettingsError(
            f"{PREFIX}COGNITO_PASSWORD_KEY: expected at least {MIN_KEY_BYTES} bytes, "
            f"got {len(password_key)}"
        )
    if urlsplit(settings.public_base_url).scheme not in ("http", "https"):
        raise SettingsError(f"{PREFIX}PUBLIC_BASE_URL: expected an http(s) URL")
    for name in (
        "partner_issuer",
        "partner_jwks_url",
        "cognito_user_pool_id",
        "cognito_client_id",
    ):
        if not getattr(settings, name):
            raise SettingsError(f"{PREFIX}{name.upper()}: expected a value")
    if settings.mint_rate_per_s <= 0 or settings.mint_burst < 1:
        raise SettingsError(
            f"{PREFIX}MINT_RATE_PER_S/MINT_BURST: expected > 0 and >= 1"
        )
    if settings.otel_exporter not in EXPORTERS:
        raise SettingsError(
            f"{PREFIX}OTEL_EXPORTER: expected one of {EXPORTERS}, "
            f"got {settings.otel_exporter!r}"
        )
    if settings.launch_ttl_s <= 0 or settings.provisioning_timeout_s <= 0:
        raise SettingsError(
            f"{PREFIX}LAUNCH_TTL_S/PROVISIONING_TIMEOUT_S: expected > 0"
        )
    if settings.redis_max_connections < 1:
        raise SettingsError(f"{PREFIX}REDIS_MAX_CONNECTIONS: expected >= 1")
    if settings.redis_pool_timeout_s <= 0 or settings.redis_socket_timeout_s <= 0:
        raise SettingsError(
            f"{PREFIX}REDIS_POOL_TIMEOUT_S/REDIS_SOCKET_TIMEOUT_S: expected > 0"
        )
    if settings.directory_resync_s < 1:
        raise SettingsError(f"{PREFIX}DIRECTORY_RESYNC_S: expected >= 1")


def parse_key_ring(spec: str) -> dict[str, bytes]:
    """Read `kid1:<base64url key>,kid2:<…>`; kids unique, keys at least 32 bytes."""
    ring: dict[str, bytes] = {}
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        kid, sep, encoded = entry.partition(":")
        if not sep or not kid:
            raise SettingsError(
                f"{PREFIX}SIGNING_KEYS: expected entries like 'kid:<base64url key>'"
            )
        if kid in ring:
            raise SettingsError(f"{PREFIX}SIGNING_KEYS: kid {kid!r} is listed twice")
        key = decode_key(encoded, "SIGNING_KEYS")
        if len(key) < MIN_KEY_BYTES:
            raise SettingsError(
                f"{PREFIX}SIGNING_KEYS: key {kid!r} has {len(key)} bytes, "
                f"expected at least {MIN_KEY_BYTES}"
            )
        ring[kid] = key
    if not ring:
        raise SettingsError(f"{PREFIX}SIGNING_KEYS: expected at least one key")
    return ring
