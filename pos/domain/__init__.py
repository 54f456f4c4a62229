"""The redemption domain: pure Python, no I/O. Everything the counter decides is decided here."""

from pos.domain.check import Catalog, History, cancel_refusal, check, compute_discount, read_input
from pos.domain.codes import CodeError, display, generate, normalise
from pos.domain.model import (
    Campaign,
    CampaignStatus,
    Discount,
    OfflinePolicy,
    PerCustomer,
    Redemption,
    Role,
    Staff,
    Store,
    Validity,
    Verifier,
    Voucher,
    VoucherStatus,
    format_time,
    parse_time,
)
from pos.domain.verdict import FirstRedemption, Reason, Verdict, money

__all__ = [
    "Campaign",
    "CampaignStatus",
    "Catalog",
    "CodeError",
    "Discount",
    "FirstRedemption",
    "History",
    "OfflinePolicy",
    "PerCustomer",
    "Reason",
    "Redemption",
    "Role",
    "Staff",
    "Store",
    "Validity",
    "Verdict",
    "Verifier",
    "Voucher",
    "VoucherStatus",
    "cancel_refusal",
    "check",
    "compute_discount",
    "display",
    "format_time",
    "generate",
    "money",
    "normalise",
    "parse_time",
    "read_input",
]
