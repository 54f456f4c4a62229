"""The terminal UI's own speed: app start to a ready counter, Enter to a drawn verdict (online on
loopback and offline), and the resident memory of the counter over a shift of 1,000 redemptions.

    python scripts/bench_tui.py [--runs 20] [--shift 1000]

Driven by Textual's Pilot in this process (headless), against a real ``pos serve`` on loopback.
Baselines in the same run: a bare Textual app with one input (start, and Enter → a line drawn, which
is what Pilot's key press and a repaint cost by themselves), and ``Counter.redeem`` called directly
with no UI, so what the UI adds is visible whatever the machine's speed.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import make_service_db, percentile
from textual.app import App, ComposeResult
from textual.widgets import Input, Static

from pos.demo import PINS, TOKENS
from pos.terminal.config import TerminalConfig
from pos.terminal.counter import Counter
from pos.terminal.endpoint import Endpoint
from pos.terminal.localdb import LocalDB
from pos.terminal.sync import sync
from pos.testing.process import ServiceProcess
from pos.tui import make_app


def rss_mib() -> tuple[float, float]:
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def line(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"{name:<44} median {percentile(ms, 50):7.2f} ms   p99 {percentile(ms, 99):7.2f} ms   (n={len(ms)})"


class Bare(App[None]):
    """The floor: a Textual app with one input whose Enter draws a line of text (no counter behind it)."""

    drawn = 0

    def compose(self) -> ComposeResult:
        yield Input(id="code")
        yield Static(id="verdict")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.drawn += 1
        self.query_one("#verdict", Static).update(f"verdict {self.drawn}")
        event.input.value = ""


async def bare_enter_times(n: int) -> list[float]:
    """Enter → text drawn in the bare app: what Pilot's key press and one repaint cost by themselves."""
    app, out = Bare(), []
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(n):
            app.query_one("#code", Input).value = "ABC"
            before, started = app.drawn, time.perf_counter()
            await pilot.press("enter")
            await wait(pilot, lambda b=before: app.drawn > b)
            await pilot.pause()
            out.append(time.perf_counter() - started)
    return out


async def wait(pilot, condition, step: float = 0.001) -> None:
    while not condition():
        await pilot.pause(step)


async def start_times(cfg: TerminalConfig, runs: int) -> tuple[list[float], list[float], list[float]]:
    """App start to the login screen ready for typing; to a logged-in counter (PIN checked at the
    service, counter mounted, code input focused); and a bare Textual app with one Input."""
    login, counter, bare = [], [], []
    for _ in range(runs):
        for auto, out in ((None, login), (("alice", PINS["alice"]), counter)):
            app = make_app(cfg, language="en", probe_every=0, auto_login=auto)
            want = "LoginScreen" if auto is None else "CounterScreen"
            started = time.perf_counter()
            async with app.run_test(size=(120, 40)) as pilot:
                await wait(pilot, lambda app=app, want=want: type(app.screen).__name__ == want
                           and app.screen.focused is not None)
                await pilot.pause()
                out.append(time.perf_counter() - started)
        b = Bare()
        started = time.perf_counter()
        async with b.run_test(size=(120, 40)) as pilot:
            await wait(pilot, lambda b=b: b.query("#code"))
            await pilot.pause()
            bare.append(time.perf_counter() - started)
    return login, counter, bare


async def verdict_times(cfg: TerminalConfig, codes: list[str], service: ServiceProcess, *, offline: bool,
                        shift: int = 0) -> tuple[list[float], list[tuple[int, float, float]]]:
    app = make_app(cfg, language="en", probe_every=0, auto_login=("alice", PINS["alice"]))
    times: list[float] = []
    memory: list[tuple[int, float, float]] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await wait(pilot, lambda: type(app.screen).__name__ == "CounterScreen" and not app.syncing)
        screen = app.screen
        screen.query_one("#amount").value = "600"
        if offline:
            service.stop()
        for n, code in enumerate(codes, 1):
            screen.query_one("#amount").value = "600"
            screen.query_one("#code").value = code
            before = screen.drawn
            started = time.perf_counter()
            await pilot.press("enter")
            await wait(pilot, lambda b=before: screen.drawn > b)
            await pilot.pause()  # the frame with the verdict in it
            times.append(time.perf_counter() - started)
            if shift and n in (1, 100, 250, 500, 750, 1000):
                memory.append((n, *rss_mib()))
        if offline:
            service.start()
    return times, memory


async def camera_memory(cfg: TerminalConfig, video: Path, seconds: float) -> list[tuple[float, float, float]]:
    """RSS of the whole counter (this process: UI, station, capture worker, decoders) with the camera running."""
    app = make_app(cfg, language="en", probe_every=0, auto_login=("alice", PINS["alice"]), camera=str(video))
    samples = []
    async with app.run_test(size=(120, 40)) as pilot:
        await wait(pilot, lambda: type(app.screen).__name__ == "CounterScreen")
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            await pilot.pause(1.0)
            samples.append((time.perf_counter() - started, *rss_mib()))
        frames = app.screen.query_one("#camera").frames_read
    print(f"camera: {frames} frames read in {seconds:.0f} s")
    return samples


def direct_times(cfg: TerminalConfig, codes: list[str], folder: Path) -> list[float]:
    db = LocalDB(folder / "direct.db")
    endpoint = Endpoint(cfg.service_url, cfg.token)
    sync(db, endpoint, cfg.store_id)
    counter = Counter(db, endpoint, store_id=cfg.store_id, terminal_id=cfg.terminal_id)
    out = []
    for code in codes:
        started = time.perf_counter()
        verdict = counter.redeem(code, "alice", 60000)
        out.append(time.perf_counter() - started)
        assert verdict.accepted, verdict
    endpoint.close()
    db.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--verdicts", type=int, default=200)
    parser.add_argument("--shift", type=int, default=1000)
    parser.add_argument("--camera-seconds", type=float, default=30.0)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="pos-bench-tui-"))
    codes = make_service_db(folder / "service.db", args.verdicts * 3 + args.shift)
    service = ServiceProcess(folder / "service.db", log=folder / "service.log")
    try:
        service.start()
        cfg = TerminalConfig(service_url=service.url, token=TOKENS["S001-T1"], store_id="S001", terminal_id="S001-T1",
                             database=folder / "terminal.db")
        warm = LocalDB(cfg.database)
        with Endpoint(cfg.service_url, cfg.token) as endpoint:
            sync(warm, endpoint, "S001")
        warm.close()
        login, ours, bare = asyncio.run(start_times(cfg, args.runs))
        print(line("start → login screen ready", login))
        print(line("start → counter ready (logged in by PIN)", ours))
        print(line("start → ready (bare Textual app, one Input)", bare))
        batch = iter(range(0, len(codes), args.verdicts))
        online, _ = asyncio.run(verdict_times(cfg, codes[next(batch):][:args.verdicts], service, offline=False))
        offline, _ = asyncio.run(verdict_times(cfg, codes[next(batch):][:args.verdicts], service, offline=True))
        direct = direct_times(cfg, codes[next(batch):][:args.verdicts], folder)
        print(line("Enter → verdict drawn, online (loopback)", online))
        print(line("Enter → verdict drawn, offline", offline))
        print(line("Counter.redeem alone, online (no UI)", direct))
        print(line("Enter → text drawn, bare Textual app", asyncio.run(bare_enter_times(args.verdicts))))
        shift_codes = codes[args.verdicts * 3:]
        times, memory = asyncio.run(verdict_times(cfg, shift_codes, service, offline=False, shift=args.shift))
        print(line(f"shift of {len(shift_codes)}: Enter → verdict drawn", times))
        for n, rss, peak in memory:
            print(f"  after {n:>5} redemptions: RSS {rss:6.1f} MiB, peak {peak:6.1f} MiB")
        if args.camera_seconds > 0:
            from pos.testing.qrcorpus import write_video

            video = folder / "camera.avi"
            frames = int(args.camera_seconds * 30) + 60
            write_video(video, "VC1:not-a-voucher", before=frames // 3, held=frames // 3, after=frames // 3)
            samples = asyncio.run(camera_memory(cfg, video, args.camera_seconds))
            peak = max(p for _, _, p in samples)
            print(f"whole counter with the camera running {args.camera_seconds:.0f} s: RSS at end "
                  f"{samples[-1][1]:.1f} MiB, peak {peak:.1f} MiB")
    finally:
        service.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
