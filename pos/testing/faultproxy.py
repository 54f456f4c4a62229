"""A TCP proxy on loopback that injects network faults between a terminal and the service.

    with FaultProxy(service_port) as proxy:
        endpoint = Endpoint(proxy.url, token)
        proxy.fault = "cut_after_send"

Faults (applied to each request as it passes):

``pass``            forward both ways
``delay``           hold the request for ``proxy.delay`` seconds, then forward it
``blackhole``       swallow the request; never answer (the service never sees it)
``reset``           answer the request with a TCP reset (the service never sees it)
``http500``         answer ``500 Internal Server Error`` (the service never sees it)
``cut_after_send``  forward the request, wait for the service's answer, then reset the client's
                    connection instead of passing it on (the service did it; the client cannot know)
``refuse``          stop listening: new connections are refused, open ones are reset

Runs its own event loop in a daemon thread; counts what it did in ``proxy.injected``.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from collections import Counter
from typing import Any

FAULTS = ("pass", "delay", "blackhole", "reset", "http500", "cut_after_send", "refuse")


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class FaultProxy:
    def __init__(self, target_port: int, *, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.fault = "pass"
        self.delay = 3.0
        self.injected: Counter[str] = Counter()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(5)
        return self

    def stop(self) -> None:
        async def close() -> None:
            if self._server:
                self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set(self, fault: str, **options: Any) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {', '.join(FAULTS)}")
        for k, v in options.items():
            setattr(self, k, v)
        was_refusing = self.fault == "refuse"
        self.fault = fault
        if fault == "refuse" and not was_refusing:
            asyncio.run_coroutine_threadsafe(self._close_listener(), self._loop).result(5)
        elif was_refusing and fault != "refuse":
            asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(5)

    async def _close_listener(self) -> None:
        if self._server:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", self.port or 0, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                fault = self.fault
                if fault != "pass":
                    self.injected[fault] += 1
                if fault == "blackhole":
                    await asyncio.sleep(3600)
                if fault in ("reset", "refuse"):  # a link that is down takes its open connections with it
                    _reset(writer)
                    return
                if fault == "http500":
                    writer.write(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    await writer.drain()
                    writer.close()
                    return
                if fault == "delay":
                    await asyncio.sleep(self.delay)
                if fault == "cut_after_send":
                    # forward it, let the service answer, and never let the answer through
                    up_reader, up_writer = await asyncio.open_connection(*self.target)
                    up_writer.write(data)
                    await up_writer.drain()
                    await self._rest_of_request(reader, data, up_writer)
                    await up_reader.read(65536)
                    up_writer.close()
                    _reset(writer)
                    return
                if upstream is None:
                    upstream = await asyncio.open_connection(*self.target)
                    asyncio.get_running_loop().create_task(self._pipe(upstream[0], writer))
                upstream[1].write(data)
                await upstream[1].drain()
        except (ConnectionError, asyncio.CancelledError, OSError):
            pass
        finally:
            if upstream is not None:
                upstream[1].close()
            if not writer.is_closing():
                writer.close()

    async def _rest_of_request(self, reader: asyncio.StreamReader, head: bytes, up_writer: asyncio.StreamWriter) -> None:
        """Forward the rest of a request body that did not come in the first read."""
        header, _, body = head.partition(b"\r\n\r\n")
        length = 0
        for line in header.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        while len(body) < length:
            more = await reader.read(65536)
            if not more:
                break
            body += more
            up_writer.write(more)
        await up_writer.drain()

    @staticmethod
    async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass
        finally:
            if not dst.is_closing():
                dst.close()
