"""Composition root of the provisioning service: wires adapters to use cases.

`build` is what tests call with fakes; `main` is the `provisioning-service`
console script: it runs until SIGTERM or SIGINT, then stops consuming, lets
in-flight messages finish and closes its connections.
"""

import asyncio
import signal
import sys

import aio_pika
import asyncpg
import structlog
from aio_pika.abc import AbstractRobustConnection

from provisioning_service.adapters.inbound.aio_pika_directory_responder import (
    AioPikaDirectoryResponder,
)
from provisioning_service.adapters.inbound.aio_pika_launch_consumer import (
    AioPikaLaunchConsumer,
)
from provisioning_service.adapters.inbound.aio_pika_shutdown import bounded
from provisioning_service.adapters.outbound.asyncpg_directory import (
    AsyncpgDirectoryReader,
)
from provisioning_service.adapters.outbound.asyncpg_provisioning_store import (
    AsyncpgProvisioningStore,
)
from provisioning_service.application.ports import DirectoryReader, ProvisioningStore
from provisioning_service.application.provision_launch import ProvisionLaunch
from provisioning_service.application.read_directory import ReadDirectory
from provisioning_service.settings import Settings, read_settings
from tilt_shared.bus import BusNames
from tilt_shared.logging import configure_logging
from tilt_shared.settings import SettingsError

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
    ) -> None:
        self.names = names
        self._settings = settings
        self._consumer = consumer
        self._responder = responder
        self._pool = pool
        self._connection: AbstractRobustConnection | None = None

    async def start(self) -> None:
        self._connection = await aio_pika.connect_robust(
            self._settings.amqp_url.reveal()
        )
        await self._consumer.start(self._connection)
        await self._responder.start(self._connection)
        log.info(
            "service_started",
            exchange=self.names.exchange,
            queue=self.names.provisioning_queue,
        )

    async def stop(self) -> None:
        await self._responder.stop()
        await self._consumer.stop()
        if self._connection is not None:
            await bounded("close_connection", self._connection.close())
        if self._pool is not None:
            await self._pool.close()
        log.info("service_stopped")


async def build(
    settings: Settings,
    *,
    store: ProvisioningStore | None = None,
    directory: DirectoryReader | None = None,
) -> Service:
    """Wire the service; a missing `store` or `directory` uses PostgreSQL."""
    pool: asyncpg.Pool | None = None
    if store is None or directory is None:
        pool = await asyncpg.create_pool(
            settings.database_url.reveal(),
            min_size=settings.pool_min,
            max_size=settings.pool_max,
            command_timeout=settings.db_timeout_s,
        )
        store = store or AsyncpgProvisioningStore(pool)
        directory = directory or AsyncpgDirectoryReader(pool)

    names = BusNames.with_prefix(settings.bus_prefix)
    consumer = AioPikaLaunchConsumer(
        ProvisionLaunch(store),
        names,
        prefetch=settings.prefetch,
        max_retries=settings.max_retries,
    )
    responder = AioPikaDirectoryResponder(ReadDirectory(directory), names)
    return Service(settings, names, consumer, responder, pool)


async def serve(settings: Settings) -> int:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)

    try:
        service = await build(settings)
        await service.start()
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
    sys.exit(asyncio.run(serve(settings)))


if __name__ == "__main__":
    main()
