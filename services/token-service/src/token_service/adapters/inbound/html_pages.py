"""The browser pages: short, plain, accessible HTML with one shared stylesheet.

Every value is escaped; no page ever carries a launch token (C-15).
"""

from collections.abc import Iterable
from html import escape
from typing import Final

from token_service.domain.session import SESSION_LIFETIME

STYLESHEET: Final = """\
body{font-family:system-ui,sans-serif;max-width:36rem;margin:0 auto;padding:0 1rem 3rem;
line-height:1.5;color:#1b1b1b;background:#fff}
header{border-bottom:3px solid #0b6e4f;margin-bottom:1.5rem;padding:1rem 0 .5rem}
.product{margin:0;font-weight:700;letter-spacing:.04em;color:#0b6e4f}
h1{font-size:1.5rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}
dt{font-weight:600}
dd{margin:0;overflow-wrap:anywhere}
.code{font-family:monospace;color:#555}
button{font-size:1rem;padding:.5rem 1rem;color:#fff;background:#0b6e4f;border:0;
border-radius:.25rem;cursor:pointer}
button:focus-visible{outline:3px solid #f2a900;outline-offset:2px}
"""
NEW_LINK: Final = "Ask your back-office system for a new link."


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>"
        '<link rel="stylesheet" href="/static/pos.css"></head>'
        '<body><header><p class="product">Tilt POS</p></header>'
        f"<main>{body}</main></body></html>\n"
    )


def message_page(
    heading: str,
    lines: Iterable[str],
    code: str | None = None,
    link: tuple[str, str] | None = None,
) -> str:
    """A page that says what happened, what to do, and the stable code;
    `link` is an optional (path, text) to offer as the next step."""
    text = "".join(f"<p>{escape(line)}</p>" for line in lines)
    if link is not None:
        href, label = link
        text += f'<p><a href="{escape(href, quote=True)}">{escape(label)}</a></p>'
    shown = f'<p class="code">Code: {escape(code)}</p>' if code else ""
    return _page(heading, f"<h1>{escape(heading)}</h1>{text}{shown}")


def continue_page() -> str:
    """Shown to link previews and prefetchers: only a human's click redeems.

    The form has no action, so it posts back to the launch URL the browser
    already holds: the token never has to be written into the page (C-15).
    """
    body = (
        "<h1>Continue to Tilt POS</h1>"
        "<p>Select the button to sign in to the Tilt POS.</p>"
        '<form method="post">'
        '<button type="submit">Continue to Tilt POS</button></form>'
    )
    return _page("Continue to Tilt POS", body)


def sale_page(
    display_name: str,
    location_id: str,
    role_slug: str,
    permissions: Iterable[str],
    csrf_token: str,
) -> str:
    items = "".join(f"<li>{escape(p)}</li>" for p in permissions)
    body = (
        "<h1>Sale</h1>"
        f'<p>Signed in as <strong id="display-name">{escape(display_name)}'
        "</strong>.</p>"
        "<dl>"
        f'<dt>Location</dt><dd id="location">{escape(location_id)}</dd>'
        f'<dt>Role</dt><dd id="role">{escape(role_slug)}</dd>'
        "</dl>"
        f'<h2>Permissions</h2><ul id="permissions">{items}</ul>'
        '<form method="post" action="/logout">'
        '<input type="hidden" name="csrf_token" '
        f'value="{escape(csrf_token, quote=True)}">'
        '<button type="submit">Sign out</button></form>'
    )
    return _page("Tilt POS: sale", body)


def signed_out_page() -> str:
    return message_page(
        "You are signed out",
        ["Open a new launch link from your back-office system to sign in again."],
    )


def sale_unavailable_page() -> str:
    """The sale page when the session store failed: the session is not lost."""
    return message_page(
        "Tilt POS is briefly unavailable",
        ["You are still signed in. Reload this page in a moment."],
        "service_unavailable",
    )


def sign_out_unfinished_page() -> str:
    """Sign-out when the session store failed: the cookie goes, the session stays."""
    hours = int(SESSION_LIFETIME.total_seconds() // 3600)
    return message_page(
        "Sign-out not completed",
        [
            "This browser no longer holds your session: nobody can continue it here.",
            "The Tilt POS could not close the session on its side just now;"
            f" it closes by itself {hours} hours after you signed in.",
        ],
        "service_unavailable",
    )
