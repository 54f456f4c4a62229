"""A TCP proxy on loopback that injects network faults between a terminal and the service.

    with FaultProxy(service_port) as proxy:
        endpoint = Endpoint(proxy.url, token)
        proxy.fault = "cut_after_send"

Faults (applied to each request as it passes):

``pass``            forward both ways
``delay``           hold the request for ``proxy.delay`` seconds, then forward it; with ``hold=True``,
                    hold it until :meth:`FaultProxy.release` (a test then knows the client did not wait)
``blackhole``       swallow the request; never answer (the service never sees it)
``reset``           answer the request with a TCP reset (the service never sees it)
``http500``         answer ``500 Internal Server Error`` (the service never sees it)
``cut_after_send``  forward the request, wait for the service's answer, then reset the client's
                    connection instead of passing it on (the service did it; the client cannot know)
``refuse``          stop listening: new connections are refused, open ones are reset

Runs its own event loop in a daemon thread; counts what it did in ``proxy.injected``, the requests it is
holding right now in ``proxy.holding``, and the service's answers it has read in ``proxy.answers``;
:meth:`FaultProxy.wait_for` blocks until such a count says what a test waits for (no sleeping).
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


class _Link:
    """One client connection's requests forwarded to the service and answers read back (reads, roughly)."""

    def __init__(self) -> None:
        self.sent = self.got = 0
        self.change = asyncio.Event()

    async def answered(self, within: float = 30.0) -> None:
        try:
            async with asyncio.timeout(within):
                while self.got < self.sent:
                    self.change.clear()
                    await self.change.wait()
        except TimeoutError:
            pass


class FaultProxy:
    def __init__(self, target_port: int, *, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.fault = "pass"
        self.delay = 3.0
        self.hold = False  # "delay" until release() rather than for self.delay seconds
        self.injected: Counter[str] = Counter()
        self.holding = 0  # requests held (delay, blackhole) at this moment
        self.answers = 0  # answers read from the service
        self._changed = threading.Condition()
        self._released: asyncio.Event | None = None
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

    def release(self) -> None:
        """Let every request held by ``delay`` with ``hold=True`` go on to the service."""
        def go() -> None:
            if self._released is not None:
                self._released.set()  # wakes the held; the next held wait for the next release
                self._released = None
        self._loop.call_soon_threadsafe(go)

    def wait_for(self, condition: Any, timeout: float = 30.0) -> None:
        """Block until ``condition(proxy)`` holds (checked whenever the proxy's counts change)."""
        with self._changed:
            if not self._changed.wait_for(lambda: condition(self), timeout):
                raise TimeoutError(f"the proxy never reached the awaited state (holding {self.holding}, "
                                   f"answers {self.answers}, injected {dict(self.injected)})")

    def _count(self, name: str, step: int) -> None:
        with self._changed:
            setattr(self, name, getattr(self, name) + step)
            self._changed.notify_all()

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
        link = _Link()
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    if upstream is not None:  # the client has gone: a request already forwarded still gets its answer
                        await link.answered()
                    break
                fault = self.fault
                if fault != "pass":
                    self.injected[fault] += 1
                if fault in ("blackhole", "delay"):
                    await self._hold(fault)
                if fault in ("reset", "refuse"):  # a link that is down takes its open connections with it
                    _reset(writer)
                    return
                if fault == "http500":
                    writer.write(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    await writer.drain()
                    writer.close()
                    return
                if fault == "cut_after_send":
                    # forward it, let the service answer, and never let the answer through
                    up_reader, up_writer = await asyncio.open_connection(*self.target)
                    up_writer.write(data)
                    await up_writer.drain()
                    await self._rest_of_request(reader, data, up_writer)
                    await up_reader.read(65536)
                    self._count("answers", 1)
                    up_writer.close()
                    _reset(writer)
                    return
                if upstream is None:
                    upstream = await asyncio.open_connection(*self.target)
                    asyncio.get_running_loop().create_task(self._answers(upstream[0], writer, link))
                link.sent += 1
                upstream[1].write(data)
                await upstream[1].drain()
        except (ConnectionError, asyncio.CancelledError, OSError):
            pass
        finally:
            if upstream is not None:
                upstream[1].close()
            if not writer.is_closing():
                writer.close()

    async def _hold(self, fault: str) -> None:
        """A swallowed request (blackhole) waits for ever; a delayed one its delay, or its release."""
        self._count("holding", 1)
        try:
            if fault == "blackhole":
                await asyncio.sleep(3600)
            elif self.hold:
                if self._released is None:
                    self._released = asyncio.Event()
                await self._released.wait()
            else:
                await asyncio.sleep(self.delay)
        finally:
            self._count("holding", -1)

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

    async def _answers(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, link: _Link) -> None:
        """The service's answers, passed back to the client (counted even when the client has gone)."""
        try:
            while data := await src.read(65536):
                self._count("answers", 1)
                link.got += 1
                link.change.set()
                if not dst.is_closing():
                    dst.write(data)
                    await dst.drain()
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass
        finally:
            if not dst.is_closing():
                dst.close()
