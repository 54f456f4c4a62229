"""The terminal's client for the redemption service.

It tells apart the two ways a call can fail, because the counter must treat them differently:
:class:`Unreachable` — the request certainly never reached the service (safe to go offline);
:class:`UnknownOutcome` — it may have been carried out (ask again with the same key, never anew).
"""

from __future__ import annotations

import ssl
from functools import cache
from typing import Any

import httpx
import orjson

DEFAULT_TIMEOUT = 2.0


@cache
def tls_context() -> ssl.SSLContext:
    """The certificates a service over https is checked against, loaded once per process: each load reads the
    whole CA bundle (about 20 ms of CPU), which every new client paid again. As httpx's default, it honours
    ``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` — read at the first client, so a change to them needs a restart."""
    return httpx.create_ssl_context()


class EndpointError(Exception):
    pass


class Unreachable(EndpointError):
    """The service could not be reached; nothing was sent."""


class UnknownOutcome(EndpointError):
    """The request may or may not have been carried out (timeout after sending, reset, 5xx)."""


class Refused(EndpointError):
    """The service would not consider the request (bad token, wrong store, invalid input…)."""

    def __init__(self, status: int, code: str, message: str, problems: list[dict[str, str]] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.problems = problems or []  # for a refused campaign: one {code, field, message} per broken rule


def service_urls(text: str) -> list[str]:
    """``"http://a:8765, http://b:8765"`` → the service hosts, in the order to try them."""
    urls = [u.strip().rstrip("/") for u in text.split(",") if u.strip()]
    if not urls:
        raise ValueError("no service URL")
    return urls


class Endpoint:
    """The client for one service, or for several hosts of it sharing one database (a comma-separated
    list). A host that cannot be connected to — the request certainly never left — is skipped for the
    next one at once, and the one that answered is tried first from then on. A request that may have
    been carried out is never re-sent to another host here: the counter asks again with the same nonce,
    which any host answers with the first answer."""

    def __init__(self, base_url: str, token: str, *, timeout: float = DEFAULT_TIMEOUT, bulk_timeout: float = 60.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.timeout = httpx.Timeout(timeout, connect=min(1.0, timeout))
        self.bulk_timeout = bulk_timeout  # an upload batch or a catalog page: more work per request
        self.urls = service_urls(base_url)
        self.current = self.urls[0]
        # an idle connection is dropped well before the service drops it (uvicorn: after 5 s), so that a request
        # is not sent on a connection the service is closing at that moment
        self.client = httpx.Client(transport=transport, timeout=self.timeout, limits=httpx.Limits(keepalive_expiry=2.0),
                                   verify=tls_context(),
                                   headers={"Authorization": f"Bearer {token}", "User-Agent": "pos-terminal"})

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Endpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        try:
            return self.client.request(method, url, **kw)
        except httpx.RemoteProtocolError:
            if method != "GET":
                raise
            # the service (or a proxy) closed a kept-alive connection as the request went out: a read changes
            # nothing, so it is asked once more, on a new connection
            return self.client.request(method, url, **kw)

    def _send(self, method: str, url: str, **kw: Any) -> httpx.Response:
        """The first host that takes the connection; :class:`Unreachable` when none does."""
        hosts = [self.current, *(u for u in self.urls if u != self.current)]
        failures = []
        for host in hosts:
            try:
                response = self._request(method, host + url, **kw)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                failures.append(f"{host}: {exc}")
                continue
            except httpx.TransportError as exc:  # read timeout, reset, protocol error: it may have happened
                self.current = host
                raise UnknownOutcome(f"no answer from the service: {exc.__class__.__name__}") from exc
            self.current = host
            return response
        raise Unreachable("cannot reach the service: " + "; ".join(failures))

    def _call(self, method: str, url: str, *, timeout: float | httpx.Timeout | None = None, **kw: Any) -> httpx.Response:
        response = self._send(method, url, timeout=timeout or self.timeout, **kw)
        if response.status_code >= 500:
            raise UnknownOutcome(f"the service failed: HTTP {response.status_code}")
        if response.status_code >= 400:
            problems: list[dict[str, str]] = []
            try:
                err = response.json()["error"]
                code, message = str(err["code"]), str(err["message"])
                problems = list(err.get("problems") or [])
            except (ValueError, KeyError, TypeError, AttributeError):
                code, message = f"http.{response.status_code}", response.text[:200]
            raise Refused(response.status_code, code, message, problems)
        try:
            return response
        finally:
            response.read()

    def _json(self, method: str, url: str, **kw: Any) -> dict[str, Any]:
        answer = self._call(method, url, **kw).json()
        if not isinstance(answer, dict):
            raise UnknownOutcome(f"the service answered {method} {url} with something other than an object")
        return answer

    def _items(self, key: str, method: str, url: str, **kw: Any) -> list[dict[str, Any]]:
        items = self._json(method, url, **kw).get(key)
        if not isinstance(items, list):
            raise UnknownOutcome(f"the service's answer to {method} {url} has no list {key!r}")
        return items

    def redeem(self, *, nonce: str, code: str, staff_id: str, store_id: str, amount: int | None,
               items: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"nonce": nonce, "code": code, "staff_id": staff_id, "store_id": store_id, "amount": amount}
        if items:
            body["items"] = items
        return self._json("POST", "/v1/redemptions", json=body)

    def lookup(self, nonce: str) -> dict[str, Any] | None:
        try:
            return self._json("GET", f"/v1/redemptions/{nonce}")
        except Refused as err:
            if err.status == 404:
                return None
            raise

    def cancel(self, nonce: str, *, staff_id: str) -> dict[str, Any]:
        return self._json("POST", f"/v1/redemptions/{nonce}/cancel", json={"staff_id": staff_id})

    def upload(self, store_id: str, items: list[dict[str, Any]], *, timeout: float | None = None) -> list[dict[str, Any]]:
        return self.upload_json(store_id, [orjson.dumps(item) for item in items], timeout=timeout)

    def upload_json(self, store_id: str, items: list[bytes | str], *,
                    timeout: float | None = None) -> list[dict[str, Any]]:
        """An upload of items that are JSON text already (the outbox keeps them so): joined, not parsed again."""
        raw = [item.encode() if isinstance(item, str) else item for item in items]
        body = b'{"store_id":' + orjson.dumps(store_id) + b',"items":[' + b",".join(raw) + b"]}"
        response = self._call("POST", "/v1/uploads", content=body, timeout=timeout or self.bulk_timeout,
                              headers={"Content-Type": "application/json"})
        results = orjson.loads(response.content)["results"]
        assert isinstance(results, list)
        return results

    def catalog(self, since: int, *, limit: int = 10_000, timeout: float | None = None) -> dict[str, Any]:
        response = self._call("GET", "/v1/catalog", params={"since": since, "limit": limit},
                              timeout=timeout or self.bulk_timeout)
        delta = orjson.loads(response.content)
        assert isinstance(delta, dict)
        return delta

    def login(self, staff_id: str, pin: str) -> dict[str, Any]:
        """A staff session for this terminal: ``{"session", "expires_at", "staff": {id, name, role}}``."""
        return self._json("POST", "/v1/sessions", json={"staff_id": staff_id, "pin": pin})

    def set_verifier(self, session: str, staff_id: str, *, all_stores: bool = False, stores: list[str] | None = None,
                     active: bool = True) -> dict[str, Any]:
        return self._json("PUT", f"/v1/verifiers/{staff_id}", headers={"X-Staff-Session": session},
                          json={"all_stores": all_stores, "stores": stores or [], "active": active})

    def issue_vouchers(self, session: str, campaign_id: str, count: int, customer_id: str | None = None,
                       affiliate_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"count": count, "customer_id": customer_id}
        if affiliate_id:
            body["affiliate_id"] = affiliate_id
        return self._json("POST", f"/v1/campaigns/{campaign_id}/vouchers", headers={"X-Staff-Session": session},
                          json=body)

    # -- back office (a manager's session) ---------------------------------------------------------
    def _as(self, session: str) -> dict[str, str]:
        return {"X-Staff-Session": session}

    def campaigns(self, session: str, *, status: str | None = None, kind: str | None = None, offset: int = 0,
                  limit: int = 20) -> dict[str, Any]:
        params = {k: v for k, v in {"status": status, "kind": kind, "offset": offset, "limit": limit}.items()
                  if v is not None}
        return self._json("GET", "/v1/campaigns", headers=self._as(session), params=params)

    def campaign(self, session: str, campaign_id: str) -> dict[str, Any]:
        return self._json("GET", f"/v1/campaigns/{campaign_id}", headers=self._as(session))

    def save_campaign(self, session: str, body: dict[str, Any], *, new: bool) -> dict[str, Any]:
        if new:
            return self._json("POST", "/v1/campaigns", headers=self._as(session), json=body)
        return self._json("PUT", f"/v1/campaigns/{body['id']}", headers=self._as(session), json=body)

    def campaign_step(self, session: str, campaign_id: str, action: str, *, reason: str | None = None) -> dict[str, Any]:
        """A lifecycle step; ``reason`` is required to reject, kept in the audit for the others."""
        body = None if reason is None else {"reason": reason}
        return self._json("POST", f"/v1/campaigns/{campaign_id}/{action}", headers=self._as(session), json=body)

    def staff(self, session: str) -> list[dict[str, Any]]:
        return self._items("staff", "GET", "/v1/staff", headers=self._as(session))

    def add_staff(self, session: str, *, staff_id: str, name: str, role: str, pin: str) -> dict[str, Any]:
        return self._json("POST", "/v1/staff", headers=self._as(session),
                          json={"id": staff_id, "name": name, "role": role, "pin": pin})

    def report(self, session: str, *, days: int = 30, tz: str | None = None) -> dict[str, Any]:
        """Redemptions per day; the days are the manager's store's unless ``tz`` names another zone."""
        params: dict[str, Any] = {"days": days}
        if tz:
            params["tz"] = tz
        return self._json("GET", "/v1/reports/redemptions", headers=self._as(session), params=params)

    def give_voucher(self, session: str, code: str, to_customer: str) -> dict[str, Any]:
        return self._json("POST", f"/v1/vouchers/{code}/give", headers=self._as(session),
                          json={"to_customer": to_customer})

    def add_skus(self, session: str, campaign_id: str, skus: list[dict[str, Any]]) -> dict[str, Any]:
        return self._json("POST", f"/v1/campaigns/{campaign_id}/skus", headers=self._as(session),
                          json={"skus": skus})

    def skus(self, session: str, campaign_id: str, *, page: int = 1, size: int = 100) -> dict[str, Any]:
        return self._json("GET", f"/v1/campaigns/{campaign_id}/skus", headers=self._as(session),
                          params={"page": page, "size": size})

    def remove_sku(self, session: str, campaign_id: str, sku: str) -> dict[str, Any]:
        return self._json("DELETE", f"/v1/campaigns/{campaign_id}/skus/{sku}", headers=self._as(session))

    def campaign_report(self, session: str, campaign_id: str, *, csv: bool = False) -> Any:
        r = self._call("GET", f"/v1/campaigns/{campaign_id}/report", headers=self._as(session),
                       params={"format": "csv" if csv else "json"})
        return r.text if csv else r.json()

    def bind_coupon(self, session: str, plan: str, campaign_id: str, skus: list[str]) -> dict[str, Any]:
        return self._json("POST", f"/v1/channels/{plan}/bindings", headers=self._as(session),
                          json={"campaign_id": campaign_id, "skus": skus})

    def bindings(self, session: str, plan: str | None = None) -> list[dict[str, Any]]:
        params = {"plan": plan} if plan else {}
        return self._items("bindings", "GET", "/v1/channels/bindings", headers=self._as(session), params=params)

    def pushes(self, session: str) -> list[dict[str, Any]]:
        return self._items("pushes", "GET", "/v1/pushes", headers=self._as(session))

    def preview_push(self, session: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._json("POST", "/v1/pushes/preview", headers=self._as(session), json=body)

    def schedule_push(self, session: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._json("POST", "/v1/pushes", headers=self._as(session), json=body)

    def cancel_push(self, session: str, push_id: int) -> dict[str, Any]:
        return self._json("POST", f"/v1/pushes/{push_id}/cancel", headers=self._as(session))

    def push_deliveries(self, session: str, push_id: int) -> list[dict[str, Any]]:
        return self._items("deliveries", "GET", f"/v1/pushes/{push_id}/deliveries", headers=self._as(session))

    def push_template(self, session: str, fmt: str = "xlsx") -> bytes:
        return self._call("GET", "/v1/push-template", headers=self._as(session), params={"format": fmt}).content

    def push_orders(self, session: str, content: bytes, filename: str) -> dict[str, Any]:
        return self._json("POST", "/v1/push-orders", headers={**self._as(session), "Content-Type": "application/octet-stream"},
                          params={"filename": filename}, content=content)

    def health(self) -> bool:
        try:
            self._call("GET", "/healthz")
        except EndpointError:
            return False
        return True

    def unlock_staff(self, session: str, staff_id: str) -> dict[str, Any]:
        """Clear a staff member's wrong-PIN count and lockout (a manager's session)."""
        return self._json("POST", f"/v1/staff/{staff_id}/unlock", headers=self._as(session))

    def reset_pin(self, session: str, staff_id: str, pin: str) -> dict[str, Any]:
        """Give a staff member a new PIN, which also clears their lockout (a manager's session)."""
        return self._json("PUT", f"/v1/staff/{staff_id}/pin", headers=self._as(session), json={"pin": pin})

    def stores(self, session: str) -> list[dict[str, Any]]:
        """The chain's stores with their time zones (a manager's session)."""
        return self._items("items", "GET", "/v1/stores", headers=self._as(session))

    def set_store_zone(self, session: str, store_id: str, timezone: str) -> dict[str, Any]:
        return self._json("PUT", f"/v1/stores/{store_id}/timezone", headers=self._as(session), json={"timezone": timezone})

    # -- a voucher looked up (any member of staff), revoked or printed again (a manager) -------------------
    def voucher(self, session: str, code: str) -> dict[str, Any]:
        """One voucher's status, campaign and history; ``actions`` are what this session may do with it."""
        return self._json("GET", f"/v1/vouchers/{code}", headers=self._as(session))

    def revoke_voucher(self, session: str, code: str, reason: str) -> dict[str, Any]:
        return self._json("POST", f"/v1/vouchers/{code}/revoke", headers=self._as(session), json={"reason": reason})

    def print_voucher(self, session: str, code: str) -> tuple[bytes, str]:
        """A voucher's QR image (PNG) and its printable sheet (HTML), to print it again."""
        import base64

        answer = self._json("POST", f"/v1/vouchers/{code}/print", headers=self._as(session))
        try:
            return base64.b64decode(answer["png"], validate=True), str(answer["html"])
        except (KeyError, ValueError) as exc:
            raise UnknownOutcome(f"the service's answer to printing {code} has no image: {exc}") from exc

    # -- staff: edit, deactivate, reactivate (a manager's session) --------------------------------------
    def update_staff(self, session: str, staff_id: str, *, name: str, role: str, pin: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name, "role": role}
        if pin:
            body["pin"] = pin
        return self._json("PUT", f"/v1/staff/{staff_id}", headers=self._as(session), json=body)

    def set_staff_active(self, session: str, staff_id: str, active: bool) -> dict[str, Any]:
        step = "reactivate" if active else "deactivate"
        return self._json("POST", f"/v1/staff/{staff_id}/{step}", headers=self._as(session))

    # -- conflicts of uploads (a manager's session) ------------------------------------------------------
    def conflicts(self, session: str, *, state: str = "open", limit: int = 200) -> dict[str, Any]:
        """``{"items": [...], "open": n}``: conflicts newest first, ``open``, ``settled`` or ``all``."""
        return self._json("GET", "/v1/conflicts", headers=self._as(session), params={"state": state, "limit": limit})

    def settle_conflict(self, session: str, conflict_id: int, note: str = "") -> dict[str, Any]:
        return self._json("POST", f"/v1/conflicts/{conflict_id}/settle", headers=self._as(session),
                          json={"note": note} if note else None)
