"""Coupon pushes: scheduling (the rules are :mod:`pos.domain.pushes`), order-number files, and delivery
by e-mail through an SMTP server at the scheduled time.

Delivery is at most once per customer and push: a recipient is written to ``deliveries`` as
``sending`` before the message goes out and ``sent`` after; a crash between the two leaves the
recipient marked ``sending`` (reported, never sent twice). Customers who opted out or have no
verified address are recorded as ``skipped`` with the reason.
"""

from __future__ import annotations

import csv
import io
import json
import re
import smtplib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from typing import Any

from pos.domain import Campaign, format_time, parse_time
from pos.domain.campaigns import CampaignError, effective_status
from pos.domain.problems import Problem
from pos.domain.pushes import (
    PushKind,
    PushRequest,
    PushStatus,
    cancel_refusal,
    message,
    send_at,
    validate_push,
    week_of,
)
from pos.service.engine import Db
from pos.service.ledger import RulesRefused, ServiceError, Terminal, audit

ORDER_NO = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
FILE_MAX = 5 * 1024 * 1024
TEMPLATE_ROWS = ["Order No.", "262749754", "262749886"]
_WEEK = timedelta(days=7)


# -- order-number files ---------------------------------------------------------------------------------
def read_order_numbers(content: bytes, filename: str) -> list[str]:
    """Order numbers from column A of a CSV or Excel (.xlsx) file; a header row is skipped, blanks ignored."""
    if len(content) > FILE_MAX:
        raise ServiceError(413, "push.file.too_large", "The file is larger than 5 MB.")
    name = filename.lower()
    cells: list[Any] = []
    if name.endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
            raise ServiceError(422, "push.file.invalid", f"Not an Excel workbook: {exc.__class__.__name__}.") from exc
        sheet = book.worksheets[0]
        cells = [row[0] if row else None for row in sheet.iter_rows(min_col=1, max_col=1, values_only=True)]
        book.close()
    elif name.endswith((".csv", ".txt")):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ServiceError(422, "push.file.invalid", "The CSV file is not UTF-8 text.") from exc
        cells = [row[0] if row else None for row in csv.reader(io.StringIO(text))]
    else:
        raise ServiceError(422, "push.file.invalid", "Upload a .csv or .xlsx file (the template has the layout).")
    out: list[str] = []
    for i, cell in enumerate(cells):
        if cell is None or str(cell).strip() == "":
            continue
        value = str(int(cell)) if isinstance(cell, float) and cell.is_integer() else str(cell).strip()
        if i == 0 and not ORDER_NO.match(value):
            continue  # the header ("Order No.")
        if not ORDER_NO.match(value):
            raise ServiceError(422, "push.file.invalid", f"Row {i + 1}: {value[:40]!r} is not an order number.")
        if value not in out:
            out.append(value)
    if not out:
        raise ServiceError(422, "push.orders.invalid", "The file has no order numbers in column A.")
    return out


def template_csv() -> bytes:
    return ("\n".join(TEMPLATE_ROWS) + "\n").encode()


def template_xlsx() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in TEMPLATE_ROWS:
        sheet.append([row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def mask(text: str) -> str:
    return text[:3] + "*" * max(0, len(text) - 3)


def order_buyers(db: Db, orders: list[str], now: datetime) -> dict[str, Any]:
    """Who bought the listed orders (masked), with their purchases in the last week; unknown numbers apart."""
    known, unknown = [], []
    for no in orders:
        row = db.conn.execute("SELECT customer_id FROM orders WHERE order_no=?", (no,)).fetchone()
        if row is None:
            unknown.append(no)
            continue
        since = format_time(now.replace(microsecond=0) - _WEEK)
        n, total = db.conn.execute("SELECT count(*), CAST(coalesce(sum(amount), 0) AS BIGINT) FROM orders WHERE customer_id=? "
                                   "AND ordered_at >= ?", (row[0], since)).fetchone()
        known.append({"order_no": no, "customer": mask(row[0]), "week_orders": n, "week_amount": total})
    return {"orders": known, "unknown": unknown}


# -- scheduling -------------------------------------------------------------------------------------------
def _campaign(db: Db, campaign_id: str) -> Campaign | None:
    row = db.conn.execute("SELECT body FROM campaigns WHERE id=?", (campaign_id,)).fetchone()
    return Campaign.from_json(row[0]) if row else None


def parse_request(body: dict[str, Any]) -> PushRequest:
    def day(v: Any) -> date | None:
        return date.fromisoformat(v) if v else None

    try:
        return PushRequest(PushKind(body["kind"]), body["campaign_id"], date.fromisoformat(body["send_date"]),
                           time.fromisoformat(body["send_time"]), day(body.get("followed_from")),
                           day(body.get("followed_to")), tuple(body.get("orders") or ()), tuple(body.get("items") or ()))
    except (KeyError, ValueError, TypeError) as exc:
        raise ServiceError(422, "push.invalid", f"The push cannot be read: {exc}") from exc


def recipients(db: Db, req: PushRequest) -> list[tuple[str, str, str | None, bool, bool]]:
    """(customer id, name, e-mail, verified, opted out) of everyone the push is meant for."""
    cols = "c.id, c.name, c.email, c.email_verified, c.opted_out"
    if req.kind is PushKind.ADVERTISING:
        sql = f"SELECT {cols} FROM customers c WHERE c.followed_at IS NOT NULL"
        args: list[Any] = []
        if req.followed_from and req.followed_to:
            sql += " AND c.followed_at >= ? AND c.followed_at < ?"  # whole days, both ends included
            args += [req.followed_from.isoformat(), (req.followed_to + timedelta(days=1)).isoformat()]
        rows = db.conn.execute(sql + " ORDER BY c.id", args).fetchall()
    else:  # the buyers of the listed orders (none listed, as a preview may ask: `IN ()`, no one, on either engine)
        marks = ",".join("?" * len(req.orders))
        rows = db.conn.execute(f"SELECT DISTINCT {cols} FROM orders o JOIN customers c ON c.id = o.customer_id "
                               f"WHERE o.order_no IN ({marks}) ORDER BY c.id", req.orders).fetchall()
    return [(r[0], r[1], r[2], bool(r[3]), bool(r[4])) for r in rows]


def _busy_weeks(db: Db) -> list[str]:
    return [r[0] for r in db.conn.execute("SELECT week FROM pushes WHERE status != 'cancelled'")]


def preview(db: Db, body: dict[str, Any], now: datetime, shop: str) -> dict[str, Any]:
    """What the push would send and to how many, with every rule it breaks; nothing is stored."""
    req = parse_request(body)
    campaign = _campaign(db, req.campaign_id)
    problems = validate_push(req, _as_of(campaign, now), now=now, busy_weeks=_busy_weeks(db))
    people = recipients(db, req)
    out: dict[str, Any] = {"problems": [p.to_dict() for p in problems],
                           "recipients": sum(1 for p in people if p[2] and p[3] and not p[4]),
                           "skipped": sum(1 for p in people if not (p[2] and p[3] and not p[4]))}
    if campaign is not None:
        out["subject"], out["body"] = message(campaign, shop=shop, items=req.items, store_names=_stores(db))
    if req.kind is PushKind.COMPENSATION:
        out["unknown_orders"] = [o for o in req.orders if not db.conn.execute(
            "SELECT 1 FROM orders WHERE order_no=?", (o,)).fetchone()]
    return out


def _as_of(c: Campaign | None, now: datetime) -> Campaign | None:
    """The campaign with the status it has now (an approved campaign is active from its begin)."""
    if c is None:
        return None
    return replace(c, status=effective_status(c, now))


def _stores(db: Db) -> dict[str, str]:
    return dict(db.conn.execute("SELECT id, name FROM stores").fetchall())


def schedule(db: Db, terminal: Terminal, actor: str, body: dict[str, Any], now: datetime) -> dict[str, Any]:
    req = parse_request(body)
    campaign = _campaign(db, req.campaign_id)
    refused = {"action": "push.refused", "actor": actor, "terminal": terminal, "subject": req.campaign_id}
    problems = validate_push(req, _as_of(campaign, now), now=now, busy_weeks=_busy_weeks(db))
    if req.kind is PushKind.COMPENSATION and not problems:
        unknown = [o for o in req.orders if not db.conn.execute("SELECT 1 FROM orders WHERE order_no=?", (o,)).fetchone()]
        if unknown:
            problems.append(Problem("push.orders.unknown", "orders", f"Unknown order numbers: {', '.join(unknown[:10])}."))
    if problems:
        status = 409 if any(p.code == "push.week.taken" for p in problems) else 422
        raise RulesRefused(CampaignError(problems), refused, status)
    assert campaign is not None
    when = send_at(req, campaign.timezone)
    cur = db.conn.execute(
        "INSERT INTO pushes (kind, campaign_id, send_at, week, followed_from, followed_to, orders, items, status, "
        "created_at, created_by) VALUES (?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
        (str(req.kind), req.campaign_id, format_time(when.astimezone(UTC)), week_of(req.send_date),
         req.followed_from.isoformat() if req.followed_from else None,
         req.followed_to.isoformat() if req.followed_to else None, json.dumps(list(req.orders)),
         json.dumps(list(req.items)), str(PushStatus.SCHEDULED), format_time(now), actor))
    push_id = int(cur.fetchone()[0])
    audit(db, now, "push.schedule", actor=actor, terminal=terminal, subject=str(push_id), kind=str(req.kind),
          campaign=req.campaign_id, send_at=format_time(when))
    return get(db, push_id)


def _row(r: tuple[Any, ...]) -> dict[str, Any]:
    keys = ("id", "kind", "campaign_id", "send_at", "week", "followed_from", "followed_to", "orders", "items", "status",
            "created_at", "created_by", "cancelled_at", "sent_at", "sent", "skipped")
    d = dict(zip(keys, r, strict=True))
    d["orders"] = len(json.loads(d["orders"]))
    d["items"] = json.loads(d["items"])
    return d


def get(db: Db, push_id: int) -> dict[str, Any]:
    r = db.conn.execute("SELECT * FROM pushes WHERE id=?", (push_id,)).fetchone()
    if r is None:
        raise ServiceError(404, "push.non.exist", f"No push {push_id}.")
    return _row(r)


def history(db: Db) -> dict[str, Any]:
    return {"pushes": [_row(r) for r in db.conn.execute("SELECT * FROM pushes ORDER BY send_at DESC, id DESC")]}


def cancel(db: Db, terminal: Terminal, actor: str, push_id: int, now: datetime) -> dict[str, Any]:
    push = get(db, push_id)
    refused = {"action": "push.refused", "actor": actor, "terminal": terminal, "subject": str(push_id)}
    if push["status"] != PushStatus.SCHEDULED:
        raise RulesRefused(CampaignError([Problem("push.non.cancel", "status",
                                                 f"This push is {push['status']}; only a scheduled one can be cancelled.")]),
                          refused, 409)
    problem = cancel_refusal(parse_time(push["send_at"]), now)
    if problem is not None:
        raise RulesRefused(CampaignError([problem]), refused, 409)
    if db.execute("UPDATE pushes SET status='cancelled', cancelled_at=? WHERE id=? AND status='scheduled'",
                  (format_time(now), push_id)).rowcount == 0:  # its sending began a moment ago
        raise RulesRefused(CampaignError([Problem("push.non.cancel", "status", "This push is being sent.")]), refused, 409)
    audit(db, now, "push.cancel", actor=actor, terminal=terminal, subject=str(push_id))
    return get(db, push_id)


# -- delivery ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Smtp:
    host: str
    port: int = 25
    sender: str = "coupons@localhost"
    shop: str = "Our shop"
    user: str | None = None
    password: str | None = None
    starttls: bool = False

    @classmethod
    def parse(cls, spec: str, **kw: Any) -> Smtp:
        host, _, port = spec.rpartition(":") if ":" in spec else (spec, "", "25")
        return cls(host or spec, int(port or 25), **kw)


def claim_due(db: Db, now: datetime) -> list[dict[str, Any]]:
    """Mark every due push ``sending`` and return it with its recipients (run on the writer)."""
    due = []
    for r in db.conn.execute("SELECT * FROM pushes WHERE status='scheduled' AND send_at <= ? ORDER BY send_at",
                             (format_time(now),)).fetchall():
        push = _row(r)
        orders = json.loads(r[7])
        req = PushRequest(PushKind(push["kind"]), push["campaign_id"], date.min, time.min,
                          date.fromisoformat(push["followed_from"]) if push["followed_from"] else None,
                          date.fromisoformat(push["followed_to"]) if push["followed_to"] else None, tuple(orders),
                          tuple(push["items"]))
        done = {c for (c,) in db.conn.execute("SELECT customer_id FROM deliveries WHERE push_id=?", (push["id"],))}
        people = [p for p in recipients(db, req) if p[0] not in done]
        # another service process may have claimed it since the SELECT: then it is theirs to send
        if db.execute("UPDATE pushes SET status='sending' WHERE id=? AND status='scheduled'", (push["id"],)).rowcount == 0:
            continue
        due.append({"push": push, "people": people, "campaign": _campaign(db, push["campaign_id"]),
                    "stores": _stores(db)})
    return due


Mark = tuple[str, str | None, str, str | None]  # (customer, e-mail, status, reason)


def record(db: Db, push_id: int, rows: list[Mark], now: datetime,
           *, final: bool) -> None:
    db.conn.executemany("INSERT INTO deliveries (push_id, customer_id, email, status, reason, at) VALUES (?,?,?,?,?,?) "
                        "ON CONFLICT (push_id, customer_id) DO UPDATE SET status=excluded.status, reason=excluded.reason, "
                        "at=excluded.at", [(push_id, c, e, s, why, format_time(now)) for c, e, s, why in rows])
    if final:
        sent, skipped = db.conn.execute(
            "SELECT count(*) FILTER (WHERE status='sent'), count(*) FILTER (WHERE status='skipped') FROM deliveries "
            "WHERE push_id=?", (push_id,)).fetchone()
        db.conn.execute("UPDATE pushes SET status='sent', sent_at=?, sent=?, skipped=? WHERE id=?",
                        (format_time(now), sent or 0, skipped or 0, push_id))
        audit(db, now, "push.sent", actor="pusher", terminal=None, subject=str(push_id), sent=sent or 0,
              skipped=skipped or 0)


def deliver(submit: Callable[[Callable[[Db], Any]], Any], smtp: Smtp, now: datetime) -> list[dict[str, Any]]:
    """Send every push due at ``now``. ``submit`` runs a function on the database's one writer and
    returns its result (the service's writer, or a plain call for the command line)."""
    summary = []
    for job in submit(lambda db: claim_due(db, now)):
        push, campaign = job["push"], job["campaign"]
        skipped = [(c, e, "skipped", "opted_out" if out else "no_verified_address")
                   for c, _, e, ok, out in job["people"] if out or not (e and ok)]
        send = [(c, n, e) for c, n, e, ok, out in job["people"] if e and ok and not out]
        marks: list[Mark] = [*skipped, *((c, e, "sending", None) for c, _, e in send)]
        pid = int(push["id"])

        def begin(db: Db, pid: int = pid, m: list[Mark] = marks) -> None:
            record(db, pid, m, now, final=False)

        submit(begin)
        results: list[Mark] = []
        if send:
            try:
                with smtplib.SMTP(smtp.host, smtp.port, timeout=30) as client:
                    if smtp.starttls:
                        client.starttls()
                    if smtp.user:
                        client.login(smtp.user, smtp.password or "")
                    for customer, name, email in send:
                        subject, body = message(campaign, shop=smtp.shop, items=push["items"], store_names=job["stores"],
                                                customer=name or None)
                        mail = EmailMessage()
                        mail["From"], mail["To"], mail["Subject"] = smtp.sender, email, subject
                        mail["X-Pos-Push"] = str(push["id"])
                        mail.set_content(body)
                        try:
                            client.send_message(mail)
                            results.append((customer, email, "sent", None))
                        except smtplib.SMTPRecipientsRefused:
                            results.append((customer, email, "failed", "refused_by_server"))
            except (OSError, smtplib.SMTPException) as exc:
                # The server is unreachable: the push goes back to scheduled, unsent recipients are retried.
                def retry_later(db: Db, pid: int = pid, r: list[Mark] = results) -> None:
                    record(db, pid, r, now, final=False)
                    db.conn.execute("DELETE FROM deliveries WHERE push_id=? AND status='sending'", (pid,))
                    db.conn.execute("UPDATE pushes SET status='scheduled' WHERE id=?", (pid,))

                submit(retry_later)
                summary.append({"id": push["id"], "error": f"{exc.__class__.__name__}: {exc}"})
                continue
        def finish(db: Db, pid: int = pid, r: list[Mark] = results) -> None:
            record(db, pid, r, now, final=True)

        submit(finish)
        summary.append({"id": push["id"], "sent": sum(1 for r in results if r[2] == "sent"), "skipped": len(skipped)})
    return summary


def deliveries(db: Db, push_id: int) -> dict[str, Any]:
    get(db, push_id)
    rows = db.conn.execute("SELECT customer_id, email, status, reason, at FROM deliveries WHERE push_id=? "
                           "ORDER BY customer_id", (push_id,)).fetchall()
    return {"push_id": push_id, "deliveries": [{"customer": mask(r[0]), "email": r[1] and mask(r[1]), "status": r[2],
                                                "reason": r[3], "at": r[4]} for r in rows]}

