"""What the operators' CLI accepts as a human name or a partner id.

Names are text people read, in any script, held to the characters a
launch's display name may hold (the domain's rule; a surrogate here is an
argv byte that did not decode). Ids are opaque keys that end up in URLs,
logs and terminals, so they are held to a small ASCII alphabet. Both rules
refuse rather than repair: the operator sees what was wrong.
"""

import re
import unicodedata
from typing import Final

from provisioning_service.domain.launch import FORBIDDEN_CATEGORIES, NAME_JOINERS

NAME_MAX: Final = 200
# Cognito app client ids are 1-128 characters of `[\w+]+` (Cognito API
# Reference, UserPoolClientType.ClientId); '.' and '-' are kept for ids an
# operator registers by hand (DESIGN §3: partner_id = app client id).
PARTNER_ID_MAX: Final = 128
PARTNER_ID: Final = re.compile(rf"[A-Za-z0-9._+-]{{1,{PARTNER_ID_MAX}}}")
SHOWN_MAX: Final = 40


class InputRefused(ValueError):
    """An operator's value broke its rule; the message says which and why."""


def checked_name(value: str) -> str:
    """`value` trimmed and NFC-normalized, or `InputRefused`."""
    name = unicodedata.normalize("NFC", value.strip())
    if not 1 <= len(name) <= NAME_MAX:
        raise InputRefused(f"expected 1-{NAME_MAX} characters, got {len(name)}")
    for position, ch in enumerate(name):
        if unicodedata.category(ch) in FORBIDDEN_CATEGORIES and ch not in NAME_JOINERS:
            raise InputRefused(
                "expected no control or invisible characters, got "
                f"U+{ord(ch):04X} at position {position}"
            )
    return name


def checked_partner_id(value: str) -> str:
    """`value` unchanged when it is a well-formed partner id, else `InputRefused`."""
    if PARTNER_ID.fullmatch(value) is None:
        raise InputRefused(
            f"expected 1-{PARTNER_ID_MAX} of the characters A-Z a-z 0-9 . _ + - "
            f"(an app client id), got {shown(value)}"
        )
    return value


def printable_id(value: str) -> str:
    """A stored id as is when well-formed, else escaped by `shown` (older rows)."""
    return value if PARTNER_ID.fullmatch(value) else shown(value)


def shown(value: str) -> str:
    """`value` quoted with every non-ASCII or control character escaped, cut short."""
    cut = value if len(value) <= SHOWN_MAX else value[:SHOWN_MAX]
    return ascii(cut) + ("..." if cut != value else "")
