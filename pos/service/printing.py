"""Printable vouchers: one QR image per voucher and a sheet to print and cut — for a whole campaign
(``pos vouchers export``) or for one voucher printed again from the back office."""

from __future__ import annotations

import html
from pathlib import Path

import segno

from pos.domain import Campaign, display, money
from pos.service.admin import voucher_payload
from pos.service.engine import Db


def _campaign(db: Db, campaign_id: str) -> Campaign:
    row = db.conn.execute("SELECT body FROM campaigns WHERE id=?", (campaign_id,)).fetchone()
    if row is None:
        raise KeyError(f"no campaign {campaign_id!r}")
    return Campaign.from_json(row[0])


def offer(campaign: Campaign) -> str:
    """What the voucher gives, as its card says it: "30.00 off when you spend 500.00"."""
    d = campaign.discount
    text = (f"{d.percent_off}% off" + (f", at most {money(d.cap)}" if d.cap else "") if d.percent_off is not None
            else f"{money(d.amount_off or 0)} off")
    return text + (f" when you spend {money(d.min_spend)}" if d.min_spend else "")


def _card(campaign: Campaign, code: str, qr: segno.QRCode) -> str:
    return (f'<div class="card"><div class="qr">{qr.svg_inline(scale=3, border=2)}</div>'
            f'<p class="name">{html.escape(campaign.name)}</p><p>{html.escape(offer(campaign))}</p>'
            f'<p class="code">{display(code)}</p></div>')


def sheet(campaign: Campaign, cards: list[str]) -> str:
    """A page of cards to print and cut."""
    return ("<!doctype html><meta charset='utf-8'><title>" + html.escape(campaign.name) + "</title><style>"
            "body{font-family:sans-serif;margin:1cm} .card{display:inline-block;width:6.5cm;margin:.2cm;padding:.3cm;"
            "border:1px dashed #999;text-align:center;break-inside:avoid} .code{font:bold 14pt monospace;letter-spacing:1px}"
            ".name{font-weight:bold;margin:.2cm 0 0}</style>" + "".join(cards))


def export_vouchers(db: Db, campaign_id: str, out: Path, *, only_unused: bool = False) -> int:
    campaign = _campaign(db, campaign_id)
    where = " AND redeemed_nonce IS NULL AND status='issued'" if only_unused else ""
    codes = [r[0] for r in db.conn.execute(f"SELECT code FROM vouchers WHERE campaign_id=?{where} ORDER BY code",
                                           (campaign_id,))]
    out.mkdir(parents=True, exist_ok=True)
    cards = []
    for code in codes:
        qr = segno.make(voucher_payload(db, code), error="m")
        qr.save(str(out / f"{code}.png"), scale=6, border=4)
        cards.append(_card(campaign, code, qr))
    (out / "sheet.html").write_text(sheet(campaign, cards), encoding="utf-8")
    return len(codes)


def one_voucher(db: Db, code: str) -> tuple[bytes, str]:
    """One voucher printed again: its QR image (PNG, as ``pos vouchers export`` writes it) and its sheet."""
    import io

    (campaign_id,) = db.conn.execute("SELECT campaign_id FROM vouchers WHERE code=?", (code,)).fetchone()
    campaign = _campaign(db, campaign_id)
    qr = segno.make(voucher_payload(db, code), error="m")
    image = io.BytesIO()
    qr.save(image, kind="png", scale=6, border=4)
    return image.getvalue(), sheet(campaign, [_card(campaign, code, qr)])
