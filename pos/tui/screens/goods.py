"""A promotion's goods (a batch of SKUs typed or read from a CSV file) and binding a coupon to the SKUs
of a channel plan. The service checks every rule; its refusals are shown with their codes."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Button, DataTable, Input, Label

from pos.domain.amounts import parse_amount
from pos.tui.i18n import _
from pos.tui.jobs import work
from pos.tui.screens.form import FormModal


def read_batch(text: str) -> list[dict[str, Any]]:
    """``SKU price [promo] [seq=N] [num=N] [gift]`` entries separated by ';', or the path of a CSV file with
    the columns sku, price, promo_price, seq, num, bind (prices in yuan). ValueError names what is wrong."""
    path = Path(text.strip()).expanduser()
    rows: list[dict[str, str]] = []
    if text.strip().endswith(".csv"):
        try:
            with path.open(encoding="utf-8-sig", newline="") as fh:
                rows = list(csv.DictReader(fh))
        except OSError as exc:
            raise ValueError(f"{path}: {exc.strerror}") from exc
    else:
        for entry in filter(None, (e.strip() for e in text.split(";"))):
            words = entry.split()
            if len(words) < 2:
                raise ValueError(f"{entry!r}: write SKU and price")
            row = {"sku": words[0], "price": words[1]}
            for w in words[2:]:
                if w == "gift":
                    row["bind"] = "gift"
                elif "=" in w:
                    key, _sep, value = w.partition("=")
                    row[key] = value
                else:
                    row["promo_price"] = w
            rows.append(row)
    out = []
    for row in rows:
        item: dict[str, Any] = {"sku": row["sku"].strip(), "price": parse_amount(row["price"]) or 0,
                                "bind": (row.get("bind") or "main").strip() or "main"}
        if row.get("promo_price"):
            item["promo_price"] = parse_amount(row["promo_price"])
        for key in ("seq", "num"):
            if row.get(key):
                item[key] = int(row[key])
        out.append(item)
    return out


class GoodsForm(FormModal):
    def __init__(self, campaign: dict[str, Any]) -> None:
        super().__init__()
        self.campaign = campaign

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="form"):
            yield Label(_("Goods of {id}", id=self.campaign["id"]), classes="section-title")
            yield DataTable(id="skus", zebra_stripes=True)
            yield Label(_("Add: SKU price [promotion price] [seq=N] [num=N] [gift]; … or a CSV file"),
                        classes="field-label")
            yield Input(placeholder="A100 20.00 18.90; G1 5.00 1.00 num=2 gift", id="batch")
            yield from self.buttons()

    def on_mount(self) -> None:
        self.query_one("#skus", DataTable).add_columns(_("SKU"), _("Price"), _("Promotion price"), _("Place"),
                                                       _("Given"), _("Bind"))
        self.reload()

    @work(exclusive=True, group="load")
    async def reload(self) -> None:
        page = await self.send(lambda office, session: office.skus(session, self.campaign["id"], size=100))
        if page is None:
            return
        table = self.query_one("#skus", DataTable)
        table.clear()
        for s in page["skus"]:
            table.add_row(s["sku"], f"{s['price'] / 100:.2f}",
                          f"{s['promo_price'] / 100:.2f}" if s["promo_price"] else "", str(s["seq"] or ""),
                          str(s["num"] or ""), _(s["bind"]))

    @on(Button.Pressed, "#save")
    @on(Input.Submitted, "#batch")
    def save_pressed(self) -> None:
        self.save()

    @work(exclusive=True, group="save")
    async def save(self) -> None:
        try:
            batch = read_batch(self.query_one("#batch", Input).value)
        except (ValueError, KeyError) as exc:
            self.query_one("#form-error", Label).update(_("Cannot read the goods: {error}", error=str(exc)))
            return
        added = await self.send(lambda office, session: office.add_skus(session, self.campaign["id"], batch))
        if added is not None:
            self.query_one("#batch", Input).value = ""
            self.query_one("#form-error", Label).update(_("{n} added; {total} in all.", n=added["added"],
                                                          total=added["total"]))
            self.reload()


class BindForm(FormModal):
    def __init__(self, campaign: dict[str, Any]) -> None:
        super().__init__()
        self.campaign = campaign

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="form"):
            yield Label(_("Bind {id} to a channel plan", id=self.campaign["id"]), classes="section-title")
            yield Label(_("Plan"), classes="field-label")
            yield Input(placeholder="plan-1", id="plan")
            yield Label(_("SKUs (comma separated)"), classes="field-label")
            yield Input(placeholder="A100, A200", id="skus")
            yield from self.buttons()

    @on(Button.Pressed, "#save")
    def save_pressed(self) -> None:
        self.save()

    @work(exclusive=True, group="save")
    async def save(self) -> None:
        plan = self.query_one("#plan", Input).value.strip()
        skus = [s.strip() for s in self.query_one("#skus", Input).value.split(",") if s.strip()]
        done = await self.send(lambda office, session: office.bind_coupon(session, plan, self.campaign["id"], skus))
        if done is not None:
            self.dismiss(done)
