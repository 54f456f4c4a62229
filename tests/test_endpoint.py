"""How the endpoint client classifies failures (unit tests with httpx.MockTransport)."""

from __future__ import annotations

import httpx
import pytest

from pos.terminal.endpoint import Endpoint, Refused, UnknownOutcome, Unreachable

ARGS = {"nonce": "n-000001", "code": "X", "staff_id": "alice", "store_id": "S001", "amount": None}


def endpoint(handler) -> Endpoint:
    return Endpoint("http://service.test", "tok", transport=httpx.MockTransport(handler))


def raising(exc_type):
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc_type("boom", request=request)
    return handler


@pytest.mark.parametrize("exc", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
def test_not_sent_is_unreachable(exc) -> None:
    with pytest.raises(Unreachable):
        endpoint(raising(exc)).redeem(**ARGS)


@pytest.mark.parametrize("exc", [httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError, httpx.ReadError])
def test_maybe_sent_is_unknown_outcome(exc) -> None:
    with pytest.raises(UnknownOutcome):
        endpoint(raising(exc)).redeem(**ARGS)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_unknown_outcome(status: int) -> None:
    with pytest.raises(UnknownOutcome):
        endpoint(lambda r: httpx.Response(status, text="oops")).redeem(**ARGS)


def test_refusals_carry_the_stable_code() -> None:
    ep = endpoint(lambda r: httpx.Response(403, json={"error": {"code": "store.mismatch", "message": "other store"}}))
    with pytest.raises(Refused) as err:
        ep.redeem(**ARGS)
    assert (err.value.status, err.value.code) == (403, "store.mismatch")


def test_a_refusal_without_our_error_shape_is_still_reported() -> None:
    with pytest.raises(Refused) as err:
        endpoint(lambda r: httpx.Response(418, text="teapot")).redeem(**ARGS)
    assert err.value.code == "http.418"


def test_token_is_sent_and_lookup_404_is_none() -> None:
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(404, json={"error": {"code": "redemption.not_found", "message": "no"}})

    assert endpoint(handler).lookup("n-000001") is None
    assert seen == ["Bearer tok"]


def test_default_timeout_is_short() -> None:
    ep = Endpoint("http://service.test", "tok")
    assert ep.timeout.read == 2.0 and ep.timeout.connect == 1.0


def closing_first(times: int):
    """A service that closes the kept-alive connection without an answer ``times`` times, then answers."""
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.method)
        if len(sent) <= times:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        return httpx.Response(200, json={"campaigns": []})

    return handler, sent


def test_a_read_on_a_connection_the_service_closed_is_asked_once_more() -> None:
    handler, sent = closing_first(1)
    assert endpoint(handler).campaigns("session") == {"campaigns": []}
    assert sent == ["GET", "GET"]
    handler, sent = closing_first(2)
    with pytest.raises(UnknownOutcome):
        endpoint(handler).campaigns("session")
    assert sent == ["GET", "GET"]  # once more, not again and again


def test_a_write_on_a_connection_the_service_closed_is_not_sent_again_here() -> None:
    handler, sent = closing_first(1)
    with pytest.raises(UnknownOutcome):  # the counter asks again with the same nonce, which any host answers once
        endpoint(handler).redeem(**ARGS)
    assert sent == ["POST"]


def test_every_client_of_the_process_checks_certificates_with_one_context_loaded_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import ssl

    from pos.terminal.endpoint import tls_context

    loads = []
    real = ssl.create_default_context
    monkeypatch.setattr(ssl, "create_default_context", lambda *a, **kw: loads.append(kw) or real(*a, **kw))
    tls_context.cache_clear()
    try:
        with Endpoint("https://a.test", "tok"), Endpoint("https://b.test", "tok"), Endpoint("http://c.test", "tok"):
            pass
        assert len(loads) == 1  # three clients, one load of the certificates
        context = tls_context()
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname  # shared, and still strict
    finally:
        tls_context.cache_clear()
