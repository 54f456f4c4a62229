"""Helpers shared by the benchmark scripts: a shop on disk, percentiles, machine facts."""

from __future__ import annotations

import os
import platform
import resource
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


def process_cpu(pid: int) -> float:
    """CPU seconds a running process has used so far (user and system, all its threads), from /proc: what a
    run cost the service, whatever else the machine was doing meanwhile."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_cpu() -> float:
    """CPU seconds used by this process's children that have ended (a command run to its end in between)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def load_average() -> str:
    """The machine's 1-, 5- and 15-minute load averages: how much else was running."""
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def machine() -> str:
    return f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}"
