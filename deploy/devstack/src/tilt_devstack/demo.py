"""`make demo`: plays the partner and the browser once against a running stack."""

import json
from pathlib import Path
from urllib.parse import urlsplit

import httpx


def _step(number: int, what: str, response: httpx.Response) -> None:
    print(f"{number}. {what}: {response.status_code} {response.reason_phrase}")


def request_partner_token(credentials: dict[str, str]) -> httpx.Response:
    """The partner's client-credentials exchange at the Cognito token endpoint."""
    return httpx.post(
        credentials["token_url"],
        data={"grant_type": "client_credentials", "scope": credentials["scope"]},
        auth=(credentials["client_id"], credentials["client_secret"]),
        timeout=10,
    )


def run_demo(credentials_file: Path) -> int:
    credentials = json.loads(credentials_file.read_text())
    api = credentials["api_base_url"]

    token_response = request_partner_token(credentials)
    _step(1, "partner token from the Cognito token endpoint", token_response)
    access_token = token_response.json()["access_token"]

    mint = httpx.post(
        f"{api}/pos/v1/launch-tokens",
        headers={"Authorization": f"Bearer {access_token}"},
        json={
            "external_user_id": "demo-cashier-1",
            "display_name": "Dana Demo",
            "location_id": credentials["location_id"],
            "role_slug": "location_cashier",
        },
        timeout=10,
    )
    _step(2, "mint a launch link", mint)
    if mint.status_code != 201:
        print(mint.text)
        return 1
    launch_url = mint.json()["launch_url"]
    print(f"   expires_at {mint.json()['expires_at']}")
    print(f"   launch_url {urlsplit(launch_url).path}?token=<{len(launch_url)} chars>")

    with httpx.Client(base_url=api, timeout=15) as browser:
        opened = browser.get(launch_url)
        _step(3, "the browser opens the link", opened)
        print(f"   Location: {opened.headers.get('location')}")
        sale = browser.get("/sale")
        _step(4, "the browser follows to /sale", sale)
        print("   " + _signed_in_line(sale.text))

    with httpx.Client(timeout=15) as other_browser:
        again = other_browser.get(launch_url)
        _step(5, "the same link opened a second time, in another browser", again)

    statuses = (opened.status_code, sale.status_code, again.status_code)
    ok = statuses == (303, 200, 410)
    print("demo passed" if ok else "demo FAILED")
    return 0 if ok else 1


def _signed_in_line(html: str) -> str:
    shown = "Dana Demo" in html
    return "page shows Dana Demo" if shown else "page does NOT show the name"
