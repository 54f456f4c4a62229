"""Helpers shared by the benchmark scripts: a shop on disk, percentiles, machine facts."""

from __future__ import annotations

import os
import platform
import statistics
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pos.demo import demo_fixture
from pos.service.admin import issue_vouchers, load_fixture
from pos.service.schema import open_db


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary_ms(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (f"p50 {percentile(ms, 50):.3f} ms, p99 {percentile(ms, 99):.3f} ms, "
            f"mean {statistics.fmean(ms):.3f} ms (n={len(ms)})")


def make_service_db(path: Path | str, vouchers: int, *, campaign: str = "SPRING",
                    fixture: dict[str, Any] | None = None) -> list[str]:
    """The demo shop (or ``fixture``) plus ``vouchers`` vouchers of ``campaign`` (in a file, or an empty
    PostgreSQL database); returns their codes."""
    if not str(path).startswith("postgresql://"):
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    db = open_db(path, synchronous="NORMAL")
    load_fixture(db, fixture or demo_fixture(datetime.now(UTC))[0])
    codes: list[str] = []
    while len(codes) < vouchers:
        codes += issue_vouchers(db, campaign, count=min(100_000, vouchers - len(codes)))
    db.close()
    return codes


def machine() -> str:
    return f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}"
