"""A broker that accepts TCP and never answers: a stuck balancer, a half-dead node."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest_asyncio


@dataclass
class SilentBroker:
    """Accepts connections and never says a word; notes when each one ends."""

    port: int = 0
    accepted: asyncio.Event = field(default_factory=asyncio.Event)
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    async def hold(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.accepted.set()
        while await reader.read(1024):
            pass
        self.ended.set()
        writer.close()


@pytest_asyncio.fixture(loop_scope="session")
async def silent() -> AsyncIterator[SilentBroker]:
    broker = SilentBroker()
    server = await asyncio.start_server(broker.hold, "127.0.0.1", 0)
    broker.port = server.sockets[0].getsockname()[1]
    yield broker
    server.close()
