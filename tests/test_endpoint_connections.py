"""The till's client on a real loopback socket whose server closes a kept-alive connection after reading the
next request, without answering — what a service does when its idle timeout and the request cross. The server
here is a few lines of socket code, so the moment of the close is forced, not hoped for."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from pos.terminal.endpoint import Endpoint, UnknownOutcome

BODY = b'{"campaigns": []}'
ANSWER = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: keep-alive\r\n"
          b"Content-Length: %d\r\n\r\n%s" % (len(BODY), BODY))


def read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0)
    while len(rest) < length:
        rest += conn.recv(65536)
    return head


@contextmanager
def closing_after_first_answer() -> Iterator[tuple[str, list[list[bytes]]]]:
    """A server: on its first connection it answers one request, reads the next and closes; every later
    connection is answered. Yields its URL and, per connection, the request lines it read."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    seen: list[list[bytes]] = []
    stop = threading.Event()

    def accept() -> socket.socket | None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            conn.settimeout(5)
            return conn
        return None

    def serve() -> None:
        conn = accept()
        if conn is None:
            return
        with conn:
            seen.append([read_request(conn).split(b"\r\n")[0]])
            conn.sendall(ANSWER)
            seen[0].append(read_request(conn).split(b"\r\n")[0])  # read, then closed without an answer
        while (conn := accept()) is not None:
            with conn:
                seen.append([read_request(conn).split(b"\r\n")[0]])
                conn.sendall(ANSWER)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}", seen
    finally:
        stop.set()
        thread.join(5)
        server.close()


def test_a_read_on_a_connection_the_service_closed_is_answered_on_a_new_connection() -> None:
    with closing_after_first_answer() as (url, seen), Endpoint(url, "tok") as endpoint:
        assert endpoint.campaigns("session") == {"campaigns": []}
        assert endpoint.campaigns("session") == {"campaigns": []}  # sent on the kept-alive connection, closed
    assert [len(requests) for requests in seen] == [2, 1]  # the second read asked again, on a new connection
    assert all(line.startswith(b"GET /v1/campaigns") for requests in seen for line in requests)


def test_a_write_on_a_connection_the_service_closed_is_not_sent_again() -> None:
    with closing_after_first_answer() as (url, seen), Endpoint(url, "tok") as endpoint:
        assert endpoint.campaigns("session") == {"campaigns": []}
        with pytest.raises(UnknownOutcome):  # the counter asks again itself, with the same nonce
            endpoint.redeem(nonce="n-000001", code="X", staff_id="alice", store_id="S001", amount=None)
    assert [len(requests) for requests in seen] == [2]
    assert seen[0][1].startswith(b"POST /v1/redemptions")
