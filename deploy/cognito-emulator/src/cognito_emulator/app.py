"""The emulator's WSGI front: its own routes first, then moto's server app."""

import json
import threading
from collections import Counter
from collections.abc import Iterable
from typing import Any, Final

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    create_backend_app,
)
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from cognito_emulator.oauth import issue_token
from cognito_emulator.signing import TokenSigner

TARGET_PREFIX: Final = "AWSCognitoIdentityProviderService."
SIGN_IN_OPERATIONS: Final = frozenset({"AdminInitiateAuth", "InitiateAuth"})

ROUTES: Final = Map(
    [
        Rule("/oauth2/token", endpoint="token", methods=["POST"]),
        Rule("/.well-known/jwks.json", endpoint="jwks", methods=["GET"]),
        Rule("/<pool_id>/.well-known/jwks.json", endpoint="jwks", methods=["GET"]),
        Rule("/_emulator/health", endpoint="health", methods=["GET"]),
        Rule("/_emulator/calls", endpoint="calls", methods=["GET"]),
        Rule("/_emulator/calls/reset", endpoint="reset", methods=["POST"]),
    ]
)


class CallCounter:
    """Cognito API calls by operation, safe across server threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def record(self, operation: str) -> None:
        with self._lock:
            self._counts[operation] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


def _json(body: object) -> Response:
    return Response(json.dumps(body), mimetype="application/json")


def _aws_error(code: str, message: str) -> Response:
    """An error in the AWS JSON 1.1 protocol, as botocore parses it."""
    return Response(
        json.dumps({"__type": code, "message": message}),
        status=400,
        headers={"x-amzn-ErrorType": code},
        mimetype="application/x-amz-json-1.1",
    )


class EmulatorApp:
    """Serves the token endpoint, the merged JWKS and the call counter.

    Every other request goes to moto unchanged; a request that carries an
    `X-Amz-Target` header is counted under its operation name first.
    """

    def __init__(self, signer: TokenSigner) -> None:
        self.signer = signer
        self.calls = CallCounter()
        self.moto = DomainDispatcherApplication(create_backend_app)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        adapter = ROUTES.bind_to_environ(environ)
        try:
            endpoint, arguments = adapter.match()
        except HTTPException:
            return self._to_moto(environ, start_response)

        request = Request(environ)
        response = self._dispatch(str(endpoint), dict(arguments), request)
        return response(environ, start_response)

    def _to_moto(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        operation = self._count(environ)
        try:
            answer: Iterable[bytes] = self.moto(environ, start_response)
        except KeyError:
            # Moto looks refresh tokens up without a default and answers 500
            # (which botocore retries); Cognito refuses an unknown one outright.
            if operation not in SIGN_IN_OPERATIONS:
                raise
            refused = _aws_error("NotAuthorizedException", "Invalid Refresh Token")
            return refused(environ, start_response)
        return answer

    def _dispatch(
        self, endpoint: str, arguments: dict[str, str], request: Request
    ) -> Response:
        if endpoint == "token":
            return issue_token(request, self.signer)
        if endpoint == "jwks":
            return self._jwks(request.environ, arguments.get("pool_id"))
        if endpoint == "calls":
            return _json(self.calls.snapshot())
        if endpoint == "reset":
            self.calls.reset()
            return _json({})
        return _json({"status": "ok"})

    def _count(self, environ: dict[str, Any]) -> str | None:
        target: str = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target:
            return None
        operation = target.removeprefix(TARGET_PREFIX)
        self.calls.record(operation)
        return operation

    def _jwks(self, environ: dict[str, Any], pool_id: str | None) -> Response:
        """Only the emulator's own key: moto's fixed key has its private half
        inside the moto package, so publishing it would let anyone forge
        partner tokens that the token service accepts."""
        return _json({"keys": [self.signer.public_jwk()]})
