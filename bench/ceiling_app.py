"""The ceiling: a trivial JSON endpoint on the token service's framework and server.

Litestar on uvicorn, one worker, the same server flags as
`token_service.entrypoint.main`, so the gap between this and the token
service is the product's own work per request.
"""

import os
from typing import Final

from litestar import Litestar, Response, get, post
from litestar.types import ASGIApp

BODY: Final = {"status": "ok"}


@get("/ceiling")
async def ceiling() -> Response[dict[str, str]]:
    return Response(BODY, headers={"Cache-Control": "no-store"})


@post("/ceiling", status_code=201)
async def ceiling_post() -> Response[dict[str, str]]:
    return Response(BODY, status_code=201, headers={"Cache-Control": "no-store"})


def build_app() -> Litestar:
    return Litestar(
        route_handlers=[ceiling, ceiling_post], debug=False, logging_config=None
    )


def serve(app: ASGIApp, host: str, port: int) -> None:
    """The token service's own server and flags, so the ceiling stays comparable."""
    from token_service.uvicorn_server import serve as serve_like_the_service

    serve_like_the_service(app, host, port)


def main() -> None:
    """Serve on BENCH_PORT."""
    serve(build_app(), "127.0.0.1", int(os.environ.get("BENCH_PORT", "8099")))


if __name__ == "__main__":
    main()
