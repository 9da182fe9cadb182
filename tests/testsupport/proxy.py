"""A TCP proxy that fault tests put between a component and a real service.

It runs its own event loop in a daemon thread, so both synchronous tests
(processes over HTTP) and asynchronous ones (on the session loop) can cut
and restore it. `cut()` drops every open connection and stops listening, so
new connections are refused the way a dead server refuses them; `restore()`
listens again on the same port.
"""

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager, suppress
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from testsupport.stack import free_port

CHUNK: Final = 65536
DEFAULT_PORTS: Final = {"redis": 6379, "amqp": 5672, "postgresql": 5432, "http": 80}


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `upstream_host`:`upstream_port`."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self.accepted = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def url(self, upstream_url: str) -> str:
        """`upstream_url` with its host and port replaced by this proxy's."""
        parts = urlsplit(upstream_url)
        credentials = parts.netloc.rpartition("@")[0]
        netloc = f"127.0.0.1:{self.port}"
        if credentials:
            netloc = f"{credentials}@{netloc}"
        return urlunsplit(parts._replace(netloc=netloc))

    def start(self) -> None:
        self._thread.start()
        self.restore()

    def close(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def cut(self) -> None:
        """Refuse new connections and drop every open one, in both directions."""
        self._call(self._cut())

    def restore(self) -> None:
        """Accept connections again on the same port."""
        self._call(self._listen())

    @contextmanager
    def down(self) -> Iterator[None]:
        """Cut on entry, restore on exit, whatever happens inside."""
        self.cut()
        try:
            yield
        finally:
            self.restore()

    def drop_connections(self) -> None:
        """Drop every open connection but keep accepting new ones."""
        self._call(self._drop())

    def _call(self, coroutine: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._accept, "127.0.0.1", self.port, reuse_address=True
            )

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        await self._drop()

    async def _drop(self) -> None:
        for writer in list(self._writers):
            transport = writer.transport
            # An abort sends RST at once, like a cut cable or a killed peer.
            transport.abort()
        self._writers.clear()
        await asyncio.sleep(0)

    async def _accept(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        self.accepted += 1
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                *self.upstream
            )
        except OSError:
            client_writer.transport.abort()
            return
        self._writers.update((client_writer, upstream_writer))
        await asyncio.gather(
            self._pipe(client_reader, upstream_writer),
            self._pipe(upstream_reader, client_writer),
        )
        self._writers.difference_update((client_writer, upstream_writer))

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(CHUNK):
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            with suppress(OSError, RuntimeError):
                writer.close()


@contextmanager
def tcp_proxy(upstream_url: str) -> Iterator[TcpProxy]:
    """A started proxy in front of the host and port of `upstream_url`."""
    parts = urlsplit(upstream_url)
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    proxy = TcpProxy(parts.hostname or "127.0.0.1", port)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.close()
