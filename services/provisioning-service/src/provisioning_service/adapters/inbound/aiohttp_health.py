"""The provisioning service's HTTP side, on aiohttp: /healthz, /readyz, /metrics.

It serves operators and probes only, never the product. `/readyz` answers
503 while PostgreSQL or RabbitMQ is unreachable; each check is bounded by
`CHECK_TIMEOUT_S` so a hung dependency cannot hang the probe.
"""

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Final

import structlog
from aiohttp import web

CHECK_TIMEOUT_S: Final = 2.0
NO_STORE: Final = {"Cache-Control": "no-store"}

Probe = Callable[[], Awaitable[bool]]
Exposition = Callable[[], tuple[bytes, str]]
log = structlog.get_logger(__name__)


async def _passes(probe: Probe) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            return await probe()
    except Exception:  # readiness reports any failure as "not ready"
        return False


def health_app(probes: Mapping[str, Probe], exposition: Exposition) -> web.Application:
    """The aiohttp application; `probes` name each dependency /readyz checks."""

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"}, headers=NO_STORE)

    async def readyz(request: web.Request) -> web.Response:
        names = list(probes)
        results = await asyncio.gather(*(_passes(probes[name]) for name in names))
        checks = dict(zip(names, results, strict=True))
        ready = all(results)
        body = {"status": "ready" if ready else "not_ready", "checks": checks}
        return web.json_response(body, status=200 if ready else 503, headers=NO_STORE)

    async def metrics(request: web.Request) -> web.Response:
        body, content_type = exposition()
        return web.Response(
            body=body, headers={**NO_STORE, "Content-Type": content_type}
        )

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    return app


class HealthServer:
    """Runs `health_app` on the service's own event loop; `port` 0 picks one."""

    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self._runner = web.AppRunner(app, access_log=None)
        self._host = host
        self._port = port
        self.port = port

    async def start(self) -> None:
        """Raises OSError when the port cannot be bound."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        sockets = self._runner.addresses
        if sockets:
            self.port = int(sockets[0][1])
        log.info("http_side_started", host=self._host, port=self.port)

    async def stop(self) -> None:
        await self._runner.cleanup()
