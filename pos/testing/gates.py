"""An httpx transport that holds chosen requests until a test lets them go.

It forces an interleaving instead of hoping for one: a test holds, say, the counter's
``POST /v1/redemptions`` *after the service has answered* (the answer is on the wire, the terminal has
not read it), runs a sync meanwhile, then releases the answer — or turns it into a lost answer.
Everything else passes straight through to the real service. No sleeps: the test waits on
:meth:`Hold.wait_arrived`, an event set by the request itself.

    gate = GateTransport()
    hold = gate.hold("POST", "/v1/redemptions", at="answer")
    ... start the counter in a thread ...
    hold.wait_arrived()
    ... the concurrent step ...
    hold.release()            # or hold.release(lose=True): the terminal sees a read timeout
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import httpx

from pos.terminal.endpoint import tls_context

WAIT = 30.0  # seconds a held request or a waiting test gives up after (a failed test, never a pass)


@dataclass
class Hold:
    method: str
    path: str
    at: str  # "request": before it is sent; "answer": after the service answered
    times: int = 1
    arrived: threading.Event = field(default_factory=threading.Event)
    _go: threading.Event = field(default_factory=threading.Event)
    _lose: bool = False
    _refuse: bool = False
    seen: int = 0

    def matches(self, request: httpx.Request) -> bool:
        return self.times > 0 and request.method == self.method and request.url.path.startswith(self.path)

    def wait_arrived(self, timeout: float = WAIT) -> None:
        if not self.arrived.wait(timeout):
            raise TimeoutError(f"{self.method} {self.path} never arrived at the gate")

    def release(self, *, lose: bool = False, refuse: bool = False) -> None:
        """Let it go on. ``lose``: the answer is dropped (a read timeout after the service acted);
        ``refuse``: a held request is never sent (the connection was refused)."""
        self._lose, self._refuse = lose, refuse
        self._go.set()

    def _wait(self) -> None:
        self.arrived.set()
        if not self._go.wait(WAIT):
            raise httpx.ReadTimeout("held at the gate and never released", request=None)


class GateTransport(httpx.HTTPTransport):
    def __init__(self) -> None:
        super().__init__(verify=tls_context())
        self.holds: list[Hold] = []
        self._lock = threading.Lock()

    def hold(self, method: str, path: str, *, at: str = "answer", times: int = 1) -> Hold:
        if at not in ("request", "answer"):
            raise ValueError("at is 'request' or 'answer'")
        hold = Hold(method, path, at, times)
        with self._lock:
            self.holds.append(hold)
        return hold

    def _take(self, request: httpx.Request) -> Hold | None:
        with self._lock:
            for hold in self.holds:
                if hold.matches(request):
                    hold.times -= 1
                    hold.seen += 1
                    return hold
        return None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        hold = self._take(request)
        if hold is not None and hold.at == "request":
            hold._wait()
            if hold._refuse:
                raise httpx.ConnectError("refused at the gate", request=request)
        response = super().handle_request(request)
        if hold is not None and hold.at == "answer":
            response.read()
            hold._wait()
            if hold._lose:
                response.close()
                raise httpx.ReadTimeout("answer lost at the gate", request=request)
        return response
