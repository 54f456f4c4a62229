"""The redemption service's HTTP API (FastAPI; the OpenAPI document is at ``/openapi.json``): the app
factory, its error handlers and the push loop; the routes are in :mod:`pos.service.routes`.

Business refusals are answers, not errors: a redeem that is refused comes back 200 with a verdict
whose ``reason`` says why. HTTP errors are for requests the service will not consider at all, and
always carry ``{"error": {"code", "message"}}`` with a stable code.
"""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

import pos
from pos.domain.offline_time import SKEW
from pos.service import ledger, pushes
from pos.service.deps import SELF_PARSED, Service, error
from pos.service.engine import is_postgres
from pos.service.ledger import RulesRefused, ServiceError
from pos.service.pushes import Smtp
from pos.service.routes import campaigns, counter, office
from pos.service.routes import pushes as pushes_routes

KEEP_KEYS = timedelta(hours=48)  # how long an idempotency key answers with its first answer (at least 24 h)


def app_from_env() -> FastAPI:
    """The app for ``uvicorn --factory`` worker processes, configured by ``pos serve`` through the environment."""
    smtp = os.environ.get("POS_SMTP")
    return create_app(os.environ["POS_SERVICE_DB"], synchronous=os.environ.get("POS_SERVICE_SYNCHRONOUS", "FULL"),
                      group_commit=os.environ.get("POS_SERVICE_GROUP_COMMIT", "1") == "1",
                      smtp=Smtp.parse(smtp, sender=os.environ.get("POS_SMTP_FROM", "coupons@localhost"),
                                      shop=os.environ.get("POS_SHOP", "Our shop")) if smtp else None,
                      push_every=float(os.environ.get("POS_PUSH_EVERY", "30")), shop=os.environ.get("POS_SHOP", "Our shop"),
                      keep_keys=timedelta(hours=float(os.environ.get("POS_KEEP_KEYS_HOURS", "48"))),
                      upgrade=os.environ.get("POS_SERVICE_UPGRADE", "1") == "1",
                      single_manager=os.environ.get("POS_SINGLE_MANAGER", "0") == "1",
                      clock_skew=timedelta(seconds=int(os.environ.get("POS_CLOCK_SKEW", "300"))))


def pusher(service: Service, smtp: Smtp, every: float, stop: threading.Event) -> None:
    """Deliver due coupon pushes every ``every`` seconds until ``stop`` is set."""
    import logging

    log = logging.getLogger("pos.pushes")
    while not stop.wait(every):
        now = datetime.now(UTC)
        try:
            def submit(fn: Callable[[Any], Any], t: datetime = now) -> Any:
                return service.writer.call(ledger.guarded(fn, t))

            for done in pushes.deliver(submit, smtp, now):
                log.warning("push %s: %s", done["id"], done)
        except Exception:  # a delivery round that fails is retried next round; the service stays up
            log.exception("push delivery failed")


def key_keeper(service: Service, keep: timedelta, every: float, stop: threading.Event) -> None:
    """Forget idempotency keys older than ``keep``, at start and every ``every`` seconds (see ledger.expire_keys)."""
    import logging

    log = logging.getLogger("pos.keys")
    while True:
        try:
            service.writer.call(ledger.guarded(lambda db: ledger.expire_keys(db, datetime.now(UTC), keep),
                                               datetime.now(UTC)))
        except Exception:  # retried next round; the service stays up
            log.exception("expiring idempotency keys failed")
        if stop.wait(every):
            return


def _freeze_startup_objects() -> bool:
    """In a process that is the service (its event loop in the main thread: ``pos serve``, each of its workers),
    move what the app is made of (modules, routes, schemas: hundreds of thousands of objects, alive as long as
    the process) out of the collector's way: each of its full passes over them stopped every request in flight
    for 50-70 ms, about once a second under load, which was the service's p99. A service run from a thread of
    another program (the tests) leaves that program's collector alone."""
    if threading.current_thread() is not threading.main_thread():
        return False
    gc.collect()
    gc.freeze()
    return True


def create_app(db_path: str | Path, *, synchronous: str = "FULL", group_commit: bool = True, smtp: Smtp | None = None,
               push_every: float = 30.0, shop: str = "Our shop", keep_keys: timedelta = KEEP_KEYS,
               upgrade: bool = True, single_manager: bool = False, clock_skew: timedelta = SKEW) -> FastAPI:
    service = Service(db_path, synchronous=synchronous, group_commit=group_commit, shop=shop, upgrade=upgrade,
                      single_manager=single_manager, clock_skew=clock_skew)
    if keep_keys < timedelta(hours=24):
        raise ValueError("idempotency keys are kept at least 24 hours")
    app = FastAPI(title="pos redemption service", version=pos.__version__,
                  lifespan=_lifespan(service, keep_keys, smtp, push_every),
                  description="Voucher redemption: online redeem, cancel, offline upload, catalog for terminals.")
    app.state.service = service
    _handle_errors(app, service, db_path)
    for area in (counter, campaigns, office, pushes_routes):
        app.include_router(area.router)
    _publish_self_parsed(app)
    app.add_middleware(HotRoutes, routes={("POST", "/v1/redemptions"): counter.redeem}, handlers=app.exception_handlers)
    app.add_middleware(RefuseNul)
    return app


def _lifespan(service: Service, keep_keys: timedelta, smtp: Smtp | None,
              push_every: float) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The service's life: the writer and the background threads (keys, pushes) from start to stop."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        service.writer.start()
        stop = threading.Event()
        threads = [threading.Thread(target=key_keeper, args=(service, keep_keys, 3600.0, stop), name="keys", daemon=True)]
        if smtp is not None:
            threads.append(threading.Thread(target=pusher, args=(service, smtp, push_every, stop), name="pusher",
                                            daemon=True))
        for thread in threads:
            thread.start()
        steady = _freeze_startup_objects()
        try:
            yield
        finally:
            if steady:
                gc.unfreeze()
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
            service.writer.stop()

    return lifespan


def _handle_errors(app: FastAPI, service: Service, db_path: str | Path) -> None:
    """Every error as ``{"error": {"code", "message"}}`` with a stable code."""

    @app.exception_handler(ServiceError)
    async def _service_error(_: Request, exc: ServiceError) -> JSONResponse:
        if isinstance(exc, RulesRefused):
            return JSONResponse({"error": {"code": exc.code, "message": exc.message,
                                           "problems": [p.to_dict() for p in exc.problems]}}, status_code=exc.status)
        return error(exc.status, exc.code, exc.message)

    if is_postgres(str(db_path)):
        from psycopg import OperationalError

        @app.exception_handler(OperationalError)
        async def _database_gone(_: Request, exc: Exception) -> JSONResponse:
            service.lost_connection()  # the next requests open new connections
            return error(503, "database.unavailable", "The database could not be reached; try again.")

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        if first.get("type") == "json_invalid":  # not JSON at all: the request, not a field, is wrong
            return error(400, "http.400", "The body is not valid JSON.")
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return error(422, "request.invalid", f"{where or 'request'}: {first.get('msg', 'invalid')}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error(exc.status_code, f"http.{exc.status_code}", str(exc.detail))


class RefuseNul:
    """A request with a NUL character in its path or query string is refused (422 ``request.invalid``) before any
    route sees it. PostgreSQL cannot store or compare a NUL in text (psycopg raises: a 500) where SQLite can; no
    till or manager has a reason to send one, and both engines answer alike. Bodies are the models' to refuse,
    field by field (``models.Strict``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and ("\x00" in scope["path"] or b"%00" in scope["query_string"]
                                        or b"\x00" in scope["query_string"]):
            await error(422, "request.invalid", "The path or query may not hold a NUL character.")(scope, receive, send)
            return
        await self.app(scope, receive, send)


class HotRoutes:
    """The counter's hot route (a redeem) served straight from its endpoint function, ahead of FastAPI's routing,
    middleware and dependency machinery, which cost more than the redemption itself; the endpoint reads its own
    token and body (deps.bearer, deps.read_body), and a refusal gets the answer the app's handlers give it.
    Every other request, and the OpenAPI document, go through FastAPI as usual."""

    def __init__(self, app: ASGIApp, routes: dict[tuple[str, str], Callable[[Request], Awaitable[Response]]],
                 handlers: dict[Any, Callable[..., Any]]) -> None:
        self.app = app
        self.routes = routes
        self.handlers = handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = (self.routes.get((scope["method"], scope["path"]))
                    if scope["type"] == "http" and not scope.get("root_path") else None)
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await endpoint(request)
        except Exception as exc:
            handler = next((self.handlers[c] for c in type(exc).__mro__ if c in self.handlers), None)
            if handler is None:
                raise
            response = await handler(request, exc)
        await response(scope, receive, send)


def _publish_self_parsed(app: FastAPI) -> None:
    """The OpenAPI document names the bodies of the routes that read their own (deps.read_body) among its
    schemas, as it names those FastAPI reads."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = generate()
            schemas = doc.setdefault("components", {}).setdefault("schemas", {})
            for name, model in SELF_PARSED.items():
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(schema.pop("$defs", {}))
                schemas[name] = schema
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]
