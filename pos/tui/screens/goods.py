"""A promotion's goods (a batch of SKUs typed or read from a CSV file) and binding a coupon to the SKUs
of a channel plan. The service checks every rule; its refusals are shown with their codes."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.widgets import DataTable, Input

from pos.domain.amounts import AmountError, parse_amount
from pos.domain.promotions import SKU_PATTERN
from pos.tui.i18n import _
from pos.tui.jobs import work
from pos.tui.problems import problem_sentence, with_code
from pos.tui.screens.form import FormModal
from pos.tui.widgets.table import Table


def read_batch(text: str) -> list[dict[str, Any]]:
    """``SKU price [promo] [seq=N] [num=N] [gift]`` entries separated by ';', or the path of a CSV file with
    the columns sku, price, promo_price, seq, num, bind (prices in yuan). ValueError says what is wrong, as a
    sentence in the reader's language."""
    path = Path(text.strip()).expanduser()
    rows: list[dict[str, str]] = []
    if text.strip().endswith(".csv"):
        try:
            with path.open(encoding="utf-8-sig", newline="") as fh:
                rows = list(csv.DictReader(fh))
        except OSError as exc:
            raise ValueError(_("Cannot read {path}: {error}", path=str(path), error=exc.strerror)) from exc
        if rows and not {"sku", "price"} <= set(rows[0]):
            raise ValueError(_("The CSV file needs the columns sku and price."))
    else:
        for entry in filter(None, (e.strip() for e in text.split(";"))):
            words = entry.split()
            if len(words) < 2:
                raise ValueError(_("{entry}: write the SKU and its price.", entry=entry))
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
        sku = (row.get("sku") or "").strip()

        def yuan(value: str, sku: str = sku) -> int | None:
            try:
                return parse_amount(value)
            except AmountError as exc:
                raise ValueError(f"{sku}: {problem_sentence(exc.code, exc.message)}") from exc

        item: dict[str, Any] = {"sku": sku, "price": yuan(row.get("price") or "") or 0,
                                "bind": (row.get("bind") or "main").strip() or "main"}
        if row.get("promo_price"):
            item["promo_price"] = yuan(row["promo_price"])
        for key in ("seq", "num"):
            if row.get(key):
                if not row[key].strip().isdigit():
                    raise ValueError(_("{sku}: {key} is a whole number.", sku=sku, key=key))
                item[key] = int(row[key])
        out.append(item)
    return out


class GoodsForm(FormModal):
    CODE_FIELDS = {"param.error": "batch", "sku.batch.invalid": "batch"}

    def __init__(self, campaign: dict[str, Any]) -> None:
        super().__init__()
        self.campaign = campaign

    def heading(self) -> str:
        return _("Goods of {id}", id=self.campaign["id"])

    def fields(self) -> ComposeResult:
        yield Table(id="skus", zebra_stripes=True)
        yield from self.field("batch", _("Add: SKU price [promotion price] [seq=N] [num=N] [gift]; … or a CSV file"),
                              Input(placeholder="A100 20.00 18.90; G1 5.00 1.00 num=2 gift", id="batch"))

    def on_mount(self) -> None:
        super().on_mount()
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

    def name_of(self, key: str) -> str:
        return _("The goods to add")

    def place(self, field: str) -> str | None:
        """Every SKU, price, place and number is typed in the one field; the campaign's state is the form's."""
        return None if field == "status" else "batch"

    def check_fields(self) -> dict[str, list[str]]:
        text = self.query_one("#batch", Input).value
        if not text.strip():
            return {"batch": [self.required("batch")]}
        try:
            read_batch(text)
        except ValueError as exc:
            return {"batch": [with_code(_("Cannot read the goods: {error}", error=str(exc)), "form.goods.invalid")]}
        return {}

    @on(Input.Submitted, "#batch")
    def submitted(self) -> None:
        self.save()

    @work(exclusive=True, group="save")
    async def save(self) -> None:
        if not self.begin():
            return
        batch = read_batch(self.query_one("#batch", Input).value)
        added = await self.send(lambda office, session: office.add_skus(session, self.campaign["id"], batch))
        if added is not None:
            self.query_one("#batch", Input).value = ""
            self.attempted = False  # an empty field again, ready for the next batch: nothing to say yet
            self.left.discard("batch")
            self.show_errors()
            self.note(_("{n} added; {total} in all.", n=added["added"], total=added["total"]))
            self.reload()


class BindForm(FormModal):
    ALIASES = {"sku": "skus"}

    def __init__(self, campaign: dict[str, Any]) -> None:
        super().__init__()
        self.campaign = campaign

    def heading(self) -> str:
        return _("Bind {id} to a channel plan", id=self.campaign["id"])

    def fields(self) -> ComposeResult:
        yield from self.field("plan", _("Plan"), Input(placeholder="plan-1", id="plan"))
        yield from self.field("skus", _("SKUs (comma separated)"), Input(placeholder="A100, A200", id="skus"))

    def skus(self) -> list[str]:
        return [s.strip() for s in self.query_one("#skus", Input).value.split(",") if s.strip()]

    def check_fields(self) -> dict[str, list[str]]:
        found = {key: [self.required(key)]
                 for key, empty in (("plan", not self.query_one("#plan", Input).value.strip()), ("skus", not self.skus()))
                 if empty}
        bad = [s for s in self.skus() if not SKU_PATTERN.match(s)]
        if bad:
            found["skus"] = [with_code(_("Not a SKU: {skus}. A SKU is letters, digits, '.', '-' or '_'.",
                                         skus=", ".join(bad)), "sku.skuId.invalid")]
        return found

    @work(exclusive=True, group="save")
    async def save(self) -> None:
        if not self.begin():
            return
        plan = self.query_one("#plan", Input).value.strip()
        skus = self.skus()
        done = await self.send(lambda office, session: office.bind_coupon(session, plan, self.campaign["id"], skus))
        if done is not None:
            self.dismiss(done)
