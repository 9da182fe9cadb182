"""`POST /oauth2/token`: Cognito's client-credentials grant, which moto lacks.

Checks follow RFC 6749 (sections 2.3.1, 4.4 and 5.2) and Cognito's answers:
`400 invalid_request | unsupported_grant_type | unauthorized_client |
invalid_scope`, `401 invalid_client`.
"""

import hmac
import json
from urllib.parse import unquote_plus

from werkzeug.wrappers import Request, Response

from cognito_emulator.clients import find_client
from cognito_emulator.signing import TokenSigner

# RFC 6749 §5.1: token responses must not be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(Exception):
    """An error answer of the token endpoint, with its RFC 6749 code."""

    def __init__(self, code: str, status: int = 400, basic: bool = False) -> None:
        super().__init__(code)
        self.code = code
        self.status = status
        self.basic = basic

    def response(self) -> Response:
        headers = dict(NO_STORE)
        if self.status == 401 and self.basic:
            headers["WWW-Authenticate"] = 'Basic realm="cognito-emulator"'
        return Response(
            json.dumps({"error": self.code}),
            status=self.status,
            headers=headers,
            mimetype="application/json",
        )


def _credentials(request: Request) -> tuple[str, str, bool]:
    """The client id, secret, and whether they came by HTTP Basic."""
    form_id = request.form.get("client_id")
    form_secret = request.form.get("client_secret")
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        if form_secret is not None:
            # RFC 6749 §2.3: a client uses one authentication method only.
            raise OAuthError("invalid_request")
        # RFC 6749 §2.3.1: both parts are form-encoded before Basic encoding.
        client_id = unquote_plus(auth.username or "")
        secret = unquote_plus(auth.password or "")
        if form_id is not None and form_id != client_id:
            raise OAuthError("invalid_request")
        return client_id, secret, True
    if not form_id:
        raise OAuthError("invalid_client", status=401)
    return form_id, form_secret or "", False


def _granted_scopes(requested: str | None, allowed: tuple[str, ...]) -> list[str]:
    if requested is None or not requested.strip():
        granted = list(allowed)
    else:
        granted = list(dict.fromkeys(requested.split()))
        if not set(granted) <= set(allowed):
            raise OAuthError("invalid_scope")
    if not granted:
        raise OAuthError("invalid_scope")
    return granted


def issue_token(request: Request, signer: TokenSigner) -> Response:
    """Answers one token request; never raises."""
    try:
        return _issue(request, signer)
    except OAuthError as error:
        return error.response()


def _issue(request: Request, signer: TokenSigner) -> Response:
    grant_type = request.form.get("grant_type")
    if not grant_type:
        raise OAuthError("invalid_request")
    if grant_type != "client_credentials":
        raise OAuthError("unsupported_grant_type")

    client_id, secret, basic = _credentials(request)
    client = find_client(signer.region, client_id)
    if (
        client is None
        or client.secret is None
        or not hmac.compare_digest(client.secret.encode(), secret.encode())
    ):
        raise OAuthError("invalid_client", status=401, basic=basic)

    if not client.oauth_enabled or "client_credentials" not in client.oauth_flows:
        raise OAuthError("unauthorized_client")
    scopes = _granted_scopes(request.form.get("scope"), client.oauth_scopes)

    token, expires_in = signer.access_token(client.pool_id, client.client_id, scopes)
    body = {"access_token": token, "token_type": "Bearer", "expires_in": expires_in}
    return Response(json.dumps(body), headers=NO_STORE, mimetype="application/json")
