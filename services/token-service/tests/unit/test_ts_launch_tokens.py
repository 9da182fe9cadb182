"""Launch token signing and verification (DESIGN §4, case C-07)."""

import base64
import json
import re
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from token_service.adapters.outbound.pyjwt_launch_tokens import (
    KeyRingError,
    PyJwtLaunchTokens,
)
from token_service.domain.errors import LaunchTokenExpired, LaunchTokenInvalid

KEY_A = b"a" * 32
KEY_B = b"b" * 64
NOW = datetime(2026, 5, 12, 10, 30, tzinfo=UTC)
EXPIRES = NOW + timedelta(seconds=600)


def tokens(active: str = "a", leeway_s: int = 0) -> PyJwtLaunchTokens:
    return PyJwtLaunchTokens(
        {"a": KEY_A, "b": KEY_B}, active, "tilt-pos", "tilt-pos-launch", leeway_s
    )


def b64(data: dict[str, object]) -> str:
    raw = json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "jti": "j1",
        "iat": int(NOW.timestamp()),
        "exp": int(EXPIRES.timestamp()),
        "iss": "tilt-pos",
        "aud": "tilt-pos-launch",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def test_signed_token_verifies_and_carries_only_the_five_claims() -> None:
    """A token round-trips; its payload holds exactly jti, iat, exp, iss, aud."""
    token = tokens().sign("j1", NOW, EXPIRES)

    verified = tokens().verify(token, NOW)

    assert verified.jti == "j1"
    assert verified.expires_at == EXPIRES
    payload = jwt.decode(token, options={"verify_signature": False})
    assert set(payload) == {"jti", "iat", "exp", "iss", "aud"}
    assert jwt.get_unverified_header(token)["kid"] == "a"
    assert re.fullmatch(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*", token)


def test_keys_rotate_a_token_of_the_old_key_still_verifies() -> None:
    """Every key of the ring verifies, whichever key now signs."""
    old = tokens(active="a").sign("j1", NOW, EXPIRES)

    assert tokens(active="b").verify(old, NOW).jti == "j1"


def test_c07_alg_none_is_invalid() -> None:
    """The same claims with header alg none and no signature are rejected."""
    forged = f"{b64({'alg': 'none', 'kid': 'a', 'typ': 'JWT'})}.{b64(claims())}."

    with pytest.raises(LaunchTokenInvalid):
        tokens().verify(forged, NOW)


def test_c07_token_signed_with_a_guessed_key_is_invalid() -> None:
    """HS256 under a key not in the ring fails on the signature."""
    forged = jwt.encode(claims(), b"guess" * 8, algorithm="HS256", headers={"kid": "a"})

    with pytest.raises(LaunchTokenInvalid):
        tokens().verify(forged, NOW)


def test_unknown_kid_is_invalid() -> None:
    """A kid outside the ring is rejected before any key is tried."""
    forged = jwt.encode(claims(), KEY_A, algorithm="HS256", headers={"kid": "zz"})

    with pytest.raises(LaunchTokenInvalid):
        tokens().verify(forged, NOW)


def test_other_algorithms_are_invalid() -> None:
    """HS512 with a genuine key is still refused: only HS256 is accepted."""
    other = jwt.encode(claims(), KEY_B, algorithm="HS512", headers={"kid": "b"})

    with pytest.raises(LaunchTokenInvalid):
        tokens().verify(other, NOW)


@pytest.mark.parametrize(
    "change",
    [
        {"aud": "elsewhere"},
        {"iss": "someone"},
        {"jti": None},
        {"exp": None},
        {"iat": None},
    ],
)
def test_wrong_or_missing_claims_are_invalid(change: dict[str, object]) -> None:
    """Wrong audience or issuer, or a missing claim: invalid even with a real key."""
    token = jwt.encode(claims(**change), KEY_A, algorithm="HS256", headers={"kid": "a"})

    with pytest.raises(LaunchTokenInvalid):
        tokens().verify(token, NOW)


def test_expired_token_is_expired_not_invalid() -> None:
    """A genuine token past exp is reported as expired."""
    token = tokens().sign("j1", NOW, EXPIRES)

    with pytest.raises(LaunchTokenExpired):
        tokens().verify(token, EXPIRES)
    assert tokens().verify(token, EXPIRES - timedelta(seconds=1)).jti == "j1"


def test_leeway_extends_expiry() -> None:
    """A configured leeway accepts a token that just expired."""
    token = tokens().sign("j1", NOW, EXPIRES)

    assert tokens(leeway_s=5).verify(token, EXPIRES + timedelta(seconds=4)).jti == "j1"


def test_forged_and_expired_token_is_invalid() -> None:
    """A bad signature wins over an expiry: forged is always invalid."""
    forged = jwt.encode(claims(), b"guess" * 8, algorithm="HS256", headers={"kid": "a"})

    with pytest.raises(LaunchTokenInvalid):
        tokens().verify(forged, EXPIRES + timedelta(days=1))


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "a.b", "....", "é.é.é"])
def test_malformed_tokens_are_invalid(garbage: str) -> None:
    """Anything that is not a JWS is invalid, never an unexpected error."""
    with pytest.raises(LaunchTokenInvalid):
        tokens().verify(garbage, NOW)


def test_short_keys_and_missing_active_kid_are_refused_at_start() -> None:
    """A key under 32 bytes or an active kid outside the ring cannot start."""
    with pytest.raises(KeyRingError):
        PyJwtLaunchTokens({"a": b"short"}, "a", "i", "a")
    with pytest.raises(KeyRingError):
        PyJwtLaunchTokens({"a": KEY_A}, "b", "i", "a")
