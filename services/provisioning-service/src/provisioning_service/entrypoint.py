"""Composition root of the provisioning service: wires adapters to use cases.

`build` is what tests call with fakes; `main` is the `provisioning-service`
console script: it runs until SIGTERM or SIGINT, then stops consuming, lets
in-flight messages finish and closes its connections. Its HTTP side serves
/healthz, /readyz and /metrics; tracing is on only with PROVISIONING_OTEL_ENABLED.
"""

import asyncio
import signal
import sys

import aio_pika
import asyncpg
import structlog
import uvloop
from aio_pika.abc import AbstractRobustConnection
from opentelemetry.sdk.trace import TracerProvider

from provisioning_service.adapters.inbound.aio_pika_directory_responder import (
    AioPikaDirectoryResponder,
)
from provisioning_service.adapters.inbound.aio_pika_launch_consumer import (
    AioPikaLaunchConsumer,
)
from provisioning_service.adapters.inbound.aio_pika_shutdown import bounded
from provisioning_service.adapters.inbound.aiohttp_health import (
    HealthServer,
    health_app,
)
from provisioning_service.adapters.outbound.asyncpg_directory import (
    AsyncpgDirectoryReader,
)
from provisioning_service.adapters.outbound.asyncpg_pool import create_pool
from provisioning_service.adapters.outbound.asyncpg_provisioning_store import (
    AsyncpgProvisioningStore,
)
from provisioning_service.adapters.outbound.prometheus_metrics import (
    PrometheusMetrics,
)
from provisioning_service.application.ports import DirectoryReader, ProvisioningStore
from provisioning_service.application.provision_launch import ProvisionLaunch
from provisioning_service.application.read_directory import ReadDirectory
from provisioning_service.settings import Settings, read_settings
from tilt_shared.amqp import connect_robustly
from tilt_shared.bus import BusNames
from tilt_shared.logging import configure_logging
from tilt_shared.settings import SettingsError
from tilt_shared.telemetry import tracer_of, tracer_provider

log = structlog.get_logger(__name__)


class Service:
    """The running service: one robust AMQP connection, one database pool."""

    def __init__(
        self,
        settings: Settings,
        names: BusNames,
        consumer: AioPikaLaunchConsumer,
        responder: AioPikaDirectoryResponder,
        pool: asyncpg.Pool | None,
        metrics: PrometheusMetrics | None = None,
    ) -> None:
        self.names = names
        self.metrics = metrics or PrometheusMetrics()
        self._settings = settings
        self._consumer = consumer
        self._responder = responder
        self._pool = pool
        self._connection: AbstractRobustConnection | None = None
        self._http: HealthServer | None = None
        # Built by `build` from the settings; shut down last so spans are sent.
        self.tracing: TracerProvider | None = None

    async def start(self) -> None:
        self._connection = await connect_robustly(self._settings.amqp_url.reveal())
        await self._consumer.start(self._connection)
        await self._responder.start(self._connection)
        log.info(
            "service_started",
            exchange=self.names.exchange,
            queue=self.names.provisioning_queue,
        )

    async def start_http(self, host: str, port: int) -> None:
        """Serve /healthz, /readyz and /metrics; raises OSError if `port` is taken."""
        probes = {"postgresql": self._postgresql_ready, "rabbitmq": self._amqp_ready}
        app = health_app(probes, self.metrics.exposition)
        self._http = HealthServer(app, host, port)
        await self._http.start()

    @property
    def http_port(self) -> int | None:
        """The HTTP side's bound port, once started."""
        return self._http.port if self._http is not None else None

    async def _postgresql_ready(self) -> bool:
        if self._pool is None:
            return True  # built with in-memory stores: nothing to reach
        return bool(await self._pool.fetchval("SELECT 1") == 1)

    async def _amqp_ready(self) -> bool:
        connection = self._connection
        return (
            connection is not None
            and not connection.is_closed
            and connection.connected.is_set()
        )

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.stop()
        await self._responder.stop()
        await self._consumer.stop()
        if self._connection is not None:
            await bounded("close_connection", self._connection.close())
        if self._pool is not None:
            await self._pool.close()
        if self.tracing is not None:
            self.tracing.shutdown()
        log.info("service_stopped")


async def build(
    settings: Settings,
    *,
    store: ProvisioningStore | None = None,
    directory: DirectoryReader | None = None,
    tracing: TracerProvider | None = None,
) -> Service:
    """Wire the service; a missing `store` or `directory` uses PostgreSQL.

    `tracing` overrides the provider the settings would build (tests).
    """
    pool: asyncpg.Pool | None = None
    if store is None or directory is None:
        pool = await create_pool(settings)
        store = store or AsyncpgProvisioningStore(pool)
        directory = directory or AsyncpgDirectoryReader(pool)

    names = BusNames.with_prefix(settings.bus_prefix)
    metrics = PrometheusMetrics()
    provider = tracing or _tracer_provider(settings)
    consumer = AioPikaLaunchConsumer(
        ProvisionLaunch(store),
        names,
        prefetch=settings.prefetch,
        max_retries=settings.max_retries,
        metrics=metrics,
        tracer=tracer_of(provider, "provisioning_service"),
    )
    responder = AioPikaDirectoryResponder(ReadDirectory(directory), names)
    service = Service(settings, names, consumer, responder, pool, metrics)
    service.tracing = None if tracing else provider
    return service


def _tracer_provider(settings: Settings) -> TracerProvider | None:
    if not settings.otel_enabled:
        return None
    return tracer_provider(
        "provisioning-service", settings.otel_exporter, settings.otel_endpoint
    )


async def serve(settings: Settings) -> int:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)

    try:
        service = await build(settings)
        await service.start()
        await service.start_http(settings.http_host, settings.http_port)
    except (OSError, asyncpg.PostgresError, aio_pika.exceptions.AMQPError) as exc:
        log.error("service_start_failed", error_type=type(exc).__name__, error=str(exc))
        return 1

    await stopping.wait()
    await service.stop()
    return 0


def main() -> None:
    try:
        settings = read_settings()
    except SettingsError as exc:
        print(f"provisioning-service: {exc}", file=sys.stderr)
        sys.exit(2)
    configure_logging("provisioning-service", settings.log_level)
    sys.exit(uvloop.run(serve(settings)))


if __name__ == "__main__":
    main()
