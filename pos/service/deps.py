"""What every route needs: the service state (writer, readers, the token cache), the terminal behind a
token, the manager behind a staff session, and the one way to run a change on the writer."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Depends, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError

from pos.domain.offline_time import SKEW
from pos.service import ledger, staff
from pos.service.admin import token_hash
from pos.service.engine import Db
from pos.service.ledger import ServiceError, Terminal
from pos.service.schema import open_db
from pos.service.staff import StaffSession
from pos.service.writer import Writer

M = TypeVar("M", bound=BaseModel)
SELF_PARSED: dict[str, type[BaseModel]] = {}  # bodies that routes read themselves; api.py publishes their schemas


def fast_json(content: Any, status: int = 200) -> Response:
    """Large answers (uploads, catalog pages) serialised by orjson, skipping FastAPI's generic encoder."""
    return Response(orjson.dumps(content), status_code=status, media_type="application/json")


def read_body(model: type[M], raw: bytes) -> M:
    """A request body validated straight from its bytes (pydantic's own JSON parser, one pass), for the routes
    on the counter's hot path; refused as FastAPI refuses a body: not JSON 400, a field wrong 422 naming it."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None


def self_parsed(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI of a route that reads its token and its ``model`` body itself (:func:`read_body`), as FastAPI
    publishes ``body: model`` with :data:`TerminalDep`: the token header, the body's schema, the 422."""
    SELF_PARSED[model.__name__] = model
    schema = {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Authorization"}
    invalid = {"description": "Validation Error",
               "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}}}
    return {"parameters": [{"name": "authorization", "in": "header", "required": False, "schema": schema}],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}},
            "responses": {"422": invalid}}


def refuse(err: ServiceError) -> None:
    """An operation that only refuses: run on the writer so the refusal is audited."""
    raise err


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


TOKEN_TTL = 5.0


class Service:
    """The state behind the app: the writer and one read connection per worker thread."""

    def __init__(self, db: str | Path, *, synchronous: str = "FULL", group_commit: bool = True,
                 shop: str = "Our shop", upgrade: bool = True, writer_threads: int | None = None,
                 single_manager: bool = False, clock_skew: timedelta = SKEW) -> None:
        self.db = db  # a file path, or a postgresql:// URL
        self.shop = shop  # the shop's name in push e-mails
        self.single_manager = single_manager  # four eyes waived: a manager may approve their own campaign
        self.clock_skew = clock_skew  # how far a till's clock may be off its anchor (pos.domain.offline_time)
        open_db(db, synchronous=synchronous, upgrade=upgrade).close()  # schema checked before any request
        self.writer = Writer(db, synchronous=synchronous, group_commit=group_commit, threads=writer_threads,
                             on_lost=self.lost_connection)
        self._local = threading.local()
        self._generation = 0  # bumped when a connection to the database is found dead
        self._tokens: dict[str, tuple[Terminal | None, float]] = {}

    def reader(self) -> Db:
        db: Db | None = getattr(self._local, "db", None)
        if db is None or not db.alive or self._local.generation != self._generation:
            if db is not None:  # lost (the database restarted, failed over): replaced
                db.close()
            db = self._local.db = open_db(self.db, upgrade=False)
            self._local.generation = self._generation
        return db

    def lost_connection(self) -> None:
        """A connection was found dead: every thread's reader opens a new one at its next request."""
        self._generation += 1

    def terminal(self, token: str) -> Terminal | None:
        """The terminal a token belongs to; answers are kept for TOKEN_TTL seconds, so a withdrawn
        token stops working within that time without a database read on every request."""
        digest = token_hash(token)
        now = time.monotonic()
        hit = self._tokens.get(digest)
        if hit is not None and hit[1] > now:
            return hit[0]
        row = self.reader().conn.execute(
            "SELECT id, store_id FROM terminals WHERE token_hash=? AND active", (digest,)
        ).fetchone()
        terminal = Terminal(row[0], row[1]) if row else None
        if len(self._tokens) > 10_000:
            self._tokens.clear()
        self._tokens[digest] = (terminal, now + TOKEN_TTL)
        return terminal


def bearer(service: Service, authorization: str | None) -> Terminal:
    """The terminal behind an ``Authorization: Bearer …`` header; every endpoint but /healthz needs one."""
    if not authorization or not authorization.startswith("Bearer "):
        raise ServiceError(401, "auth.missing", "Send the terminal's token as 'Authorization: Bearer …'.")
    terminal = service.terminal(authorization.removeprefix("Bearer ").strip())
    if terminal is None:
        raise ServiceError(401, "auth.invalid", "This terminal token is not known or was withdrawn.")
    return terminal


async def authenticated(request: Request, authorization: Annotated[str | None, Header()] = None) -> Terminal:
    """The terminal behind the bearer token, as a dependency."""
    return bearer(request.app.state.service, authorization)


TerminalDep = Annotated[Terminal, Depends(authenticated)]


async def manager(request: Request, terminal: TerminalDep,
                  x_staff_session: Annotated[str | None, Header()] = None) -> StaffSession:
    """The manager logged in at this terminal (``X-Staff-Session`` from ``POST /v1/sessions``)."""
    service = request.app.state.service
    if not x_staff_session:
        raise ServiceError(401, "session.missing", "Log in as a manager first (send X-Staff-Session).")
    session = staff.session_of(service.reader(), x_staff_session, terminal, datetime.now(UTC))
    if session is None:
        raise ServiceError(401, "session.invalid", "This staff session is unknown, expired, or from another terminal.")
    if session.role != "manager":
        refusal = ServiceError(403, "role.manager_required", "Only a manager may do this.",
                               {"action": "role.refused", "actor": session.staff_id, "terminal": terminal,
                                "subject": str(request.url.path)})
        await asyncio.wrap_future(service.writer.submit(ledger.guarded(lambda db: refuse(refusal), datetime.now(UTC))))
        raise refusal
    return session


ManagerDep = Annotated[StaffSession, Depends(manager)]


async def get_service(request: Request) -> Service:
    """The service behind the app (async: a plain function would be run on a worker thread, a hop per request)."""
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]


async def write(service: Service, op: Any, *, solo: bool = False) -> Any:
    """Run a change on the writer (group commit; ``solo``: in a transaction of its own on PostgreSQL, for a
    change that takes many locks); a refusal it returns is raised here."""
    result = await asyncio.wrap_future(service.writer.submit(ledger.guarded(op, datetime.now(UTC)), solo=solo))
    if isinstance(result, ServiceError):
        raise result
    return result


async def decide(service: Service, call: Any) -> Any:
    """Run a change that guards itself (a :class:`~pos.service.runs.RedeemCall`, which may run together with
    others of its kind) on the writer; a refusal it returns is raised here."""
    result = await asyncio.wrap_future(service.writer.submit(call))
    if isinstance(result, ServiceError):
        raise result
    return result


async def same_store(service: Service, terminal: Terminal, store_id: str) -> None:
    """A terminal acts for its own store only; another store is refused, and audited."""
    if store_id != terminal.store_id:
        refusal = ServiceError(403, "store.mismatch", f"This terminal belongs to store {terminal.store_id}, not {store_id}.",
                               {"action": "store.mismatch", "terminal": terminal, "subject": store_id})
        await write(service, lambda db: refuse(refusal))
