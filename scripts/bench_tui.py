"""The terminal UI's speed as a cashier meets it: ``pos ui`` in a pseudo-terminal, keys written as a keyboard
and a USB scanner write them, time taken until the expected text is on an emulated screen.

    python scripts/bench_tui.py [--runs 10] [--verdicts 100] [--shift 1000] [--camera-seconds 30]
    python scripts/bench_tui.py --small          # a quick run (< 60 s), what the test suite runs

``pos ui`` runs as its own process in a pseudo-terminal (120×40, xterm-256color, truecolor), against a real
``pos serve`` on loopback holding the demo shop plus a campaign of vouchers that need no basket amount.
A thread reads the terminal's output and stamps each chunk as it arrives; the chunks are fed to the pyte
terminal emulator, and a measure ends at the arrival of the chunk after which the expected text is on the
screen (so the emulator's own parsing is not counted). A scanner writes a whole code and Enter in one burst.

Same-run baseline: ``scripts/bench_tui_bare.py``, a bare Textual app (a label and an input; Enter switches
to a second screen; Enter there draws a line), started the same way in the same kind of terminal.

Measured: start → login screen drawn; PIN + Enter → counter ready; Enter → verdict drawn, online, offline
(service stopped), refused (expired: the service confirms it; a mistyped code: the till alone); a burst
of 20 codes in a row; the resident memory (RSS from /proc) of the ``pos ui`` process over a shift.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pyte
from benchlib import machine, make_service_db, percentile

from pos.demo import PINS, TOKENS, demo_fixture
from pos.domain import display, format_time
from pos.domain.pins import hash_pin, verify_pin
from pos.terminal.config import TerminalConfig, write
from pos.terminal.counter import Counter
from pos.terminal.endpoint import Endpoint
from pos.terminal.localdb import LocalDB
from pos.terminal.sync import sync
from pos.testing.process import ServiceProcess

COLS, ROWS = 120, 40
LEFT = 72  # the counter's left column (verdict panel) at 120 columns; the shift list is to its right
BARE = Path(__file__).resolve().parent / "bench_tui_bare.py"
POS = Path(sys.executable).with_name("pos")


# -- a program in a pseudo-terminal -------------------------------------------------------------------
def _controlling_terminal() -> None:
    """In the child: the pseudo-terminal becomes its controlling terminal, as in a terminal emulator, so
    that it is hung up (SIGHUP) if this script ends without closing it."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """A program in a pseudo-terminal. A thread reads its output and stamps each chunk on arrival; the
    measuring thread feeds the chunks to a pyte screen and asks whether the expected text is there."""

    def __init__(self, argv: list[str], *, cwd: Path) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("POS_", "TEXTUAL"))}
        env.update(TERM="xterm-256color", COLORTERM="truecolor", LANG="C.UTF-8", LC_ALL="C.UTF-8",
                   COLUMNS=str(COLS), LINES=str(ROWS))  # a size inherited from a test runner would win
        self.master = master
        self.screen = pyte.Screen(COLS, ROWS)
        self.stream = pyte.ByteStream(self.screen)
        self._chunks: deque[tuple[float, bytes]] = deque()
        self._arrived = threading.Condition()
        self._closed = False
        self.last_output = 0.0
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env,
                                     start_new_session=True, close_fds=True, preexec_fn=_controlling_terminal)
        os.close(slave)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 1 << 16)
            except OSError:  # EIO: the program ended and the terminal closed
                data = b""
            at = time.perf_counter()
            with self._arrived:
                if not data:
                    self._closed = True
                else:
                    self._chunks.append((at, data))
                self._arrived.notify()
            if not data:
                return

    def send(self, data: str | bytes) -> float:
        """Write keys; returns the moment they were written."""
        raw = data.encode() if isinstance(data, str) else data
        at = time.perf_counter()
        os.write(self.master, raw)
        return at

    def type(self, text: str, gap: float = 0.1) -> None:
        """Keys one at a time, as a person types (ten a second)."""
        for ch in text:
            self.send(ch)
            self.quiet(gap, timeout=gap)

    def _take(self, timeout: float) -> list[tuple[float, bytes]]:
        with self._arrived:
            if not self._chunks and not self._closed:
                self._arrived.wait(timeout)
            taken = list(self._chunks)
            self._chunks.clear()
            return taken

    def wait_for(self, condition: Callable[[list[str]], bool], timeout: float = 20.0, what: str = "") -> float:
        """Feed output to the screen until ``condition(lines)`` holds; the arrival time of the chunk that made it so."""
        if condition(self.screen.display):
            return time.perf_counter()
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            for at, data in self._take(0.05):
                self.stream.feed(data)
                self.last_output = at
                if condition(self.screen.display):
                    return at
            if self._closed and not self._chunks:
                break
        raise TimeoutError(f"{what or 'expected text'} not on the screen after {timeout:.0f} s "
                           f"(exit {self.proc.poll()}):\n" + "\n".join(self.screen.display))

    def quiet(self, gap: float = 0.05, timeout: float = 10.0) -> None:
        """Feed output until none arrived for ``gap`` seconds (the frames after a verdict: list, status line)."""
        deadline = time.perf_counter() + timeout
        self.last_output = max(self.last_output, time.perf_counter())
        while time.perf_counter() < deadline:
            for at, data in self._take(gap / 2):
                self.stream.feed(data)
                self.last_output = at
            if time.perf_counter() - self.last_output >= gap:
                return

    def rss_mib(self) -> float:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
        return kb / 1024

    def close(self, keys: list[str] | None = None, timeout: float = 10.0) -> None:
        """Quit with ``keys`` (each followed by a pause), else or if it does not end, terminate it."""
        try:
            for key in keys or []:
                if self.proc.poll() is not None:
                    break
                self.send(key)
                self.quiet(0.1, timeout=2.0)
            self.proc.wait(timeout)
        except (subprocess.TimeoutExpired, OSError):
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        finally:
            self._reader.join(2)
            os.close(self.master)


def has(*texts: str, x0: int = 0, x1: int = COLS) -> Callable[[list[str]], bool]:
    def condition(lines: list[str]) -> bool:
        region = "\n".join(line[x0:x1] for line in lines)
        return all(t in region for t in texts)
    return condition


LOGIN_DRAWN = has("Staff login", "Log in")
COUNTER_READY = has("Ready for the next voucher.", "This shift", "Voucher code")
QUIT_POS = ["\x11", "y"]  # Ctrl+Q, then yes: end the shift and close
QUIT_BARE = ["\x11"]


# -- the shop --------------------------------------------------------------------------------------
def make_shop(path: Path, vouchers: int) -> tuple[list[str], dict[str, str]]:
    """The demo shop plus QUICK, ¥10 off with no minimum spend, allowed offline, and ``vouchers`` of its
    vouchers: a voucher a scanner reads and the counter decides with no basket amount typed."""
    now = datetime.now(UTC)
    fixture, named = demo_fixture(now)
    t = lambda delta: format_time(now + delta)  # noqa: E731
    fixture["campaigns"].append({
        "id": "QUICK", "name": "Quick 10 off", "begins_at": t(-timedelta(days=1)), "ends_at": t(timedelta(days=60)),
        "validity": {"starts_at": t(-timedelta(days=1)), "ends_at": t(timedelta(days=30))},
        "discount": {"amount_off": 1000}, "offline": {"allowed": True, "max_discount": 5000}})
    return make_service_db(path, vouchers, campaign="QUICK", fixture=fixture), named


def typo(code: str) -> str:
    return code[:-1] + ("X" if code[-1] != "X" else "Y")


# -- the measures ----------------------------------------------------------------------------------
def pos_ui(toml: Path, folder: Path, *extra: str) -> Terminal:
    return Terminal([str(POS), "ui", "--config", str(toml), "--lang", "en", *extra], cwd=folder)


def bare_app(folder: Path) -> Terminal:
    return Terminal([sys.executable, str(BARE)], cwd=folder)


def log_in(term: Terminal, staff: str = "alice") -> float:
    """The cashier looks at the login screen for a second, then types the staff id, Enter, the PIN, ten keys
    a second; returns the PIN's Enter → the counter drawn, ready for a code."""
    term.quiet(1.0, timeout=1.0)
    term.type(staff + "\r" + PINS[staff])
    entered = term.send("\r")
    return term.wait_for(COUNTER_READY, what="the counter") - entered


def start_runs(toml: Path, folder: Path, runs: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"start": [], "login": [], "bare start": [], "bare login": []}
    for _ in range(runs):
        term = pos_ui(toml, folder)
        try:
            out["start"].append(term.wait_for(LOGIN_DRAWN, what="the login screen") - term.started)
            out["login"].append(log_in(term))
            term.quiet(0.2)
        finally:
            term.close(QUIT_POS)
        bare = bare_app(folder)
        try:
            out["bare start"].append(bare.wait_for(has("Staff login"), what="the bare app") - bare.started)
            bare.quiet(1.0, timeout=1.0)
            bare.type("1234")
            entered = bare.send("\r")
            out["bare login"].append(bare.wait_for(has("Ready for the next voucher."), what="the bare app's second screen")
                                     - entered)
        finally:
            bare.close(QUIT_BARE)
    return out


def scan(term: Terminal, raw: str, condition: Callable[[list[str]], bool], what: str) -> float:
    """A scanner's burst: the whole code and Enter in one write; Enter → ``condition`` on the screen.
    Then the frames that follow (the shift list, the status line) before the next scan."""
    entered = term.send(raw + "\r")
    drawn = term.wait_for(condition, what=what)
    term.quiet(0.05)
    return drawn - entered


def accepted(code: str, *, offline: bool = False) -> Callable[[list[str]], bool]:
    texts = ["ACCEPTED", display(code)] + (["accepted offline"] if offline else [])
    return has(*texts, x1=LEFT)


def begin_shift(term: Terminal) -> None:
    """From the login screen to a counter that is online and has stopped drawing."""
    term.wait_for(LOGIN_DRAWN, what="the login screen")
    log_in(term)
    term.wait_for(has("Online"), what="the status line online")
    term.quiet(0.3)


def counter_session(toml: Path, folder: Path, service: ServiceProcess, codes: list[str], named: dict[str, str],
                    verdicts: int, burst: int, burst_wait: float = 10.0) -> dict[str, Any]:
    """One shift at the counter: online verdicts, refusals, a scanner burst, then offline verdicts."""
    pool = iter(codes)
    out: dict[str, Any] = {"online": [], "expired": [], "typo": [], "offline": []}
    term = pos_ui(toml, folder)
    try:
        begin_shift(term)
        for _ in range(verdicts):
            code = next(pool)
            out["online"].append(scan(term, code, accepted(code), f"online verdict for {code}"))
        for i in range(verdicts):  # an expired voucher and a mistyped code in turn: each draw differs from the last
            wrong = typo(codes[-1 - i])
            out["expired"].append(scan(term, named["expired"], has("REFUSED", "expired", x1=LEFT), "expired"))
            out["typo"].append(scan(term, wrong, has("REFUSED", "malformed", x1=LEFT), "typo"))
        batch = [next(pool) for _ in range(burst)]
        entered = term.send("".join(code + "\r" for code in batch))
        out["burst"] = {"codes": burst, "last_verdict": None, "all_listed": None, "wait": burst_wait}
        out["burst_codes"] = batch
        try:
            out["burst"]["last_verdict"] = term.wait_for(accepted(batch[-1]), timeout=burst_wait,
                                                          what="the last verdict") - entered
            out["burst"]["all_listed"] = term.wait_for(has(*(display(c) for c in batch), x0=LEFT), timeout=burst_wait,
                                                       what="the burst in the shift list") - entered
        except TimeoutError:  # what the counter made of it is in the panel (and in the count recorded, below)
            out["burst"]["panel"] = [line[:LEFT].strip(" ┃") for line in term.screen.display if "┃" in line[:LEFT]]
            out["burst"]["list"] = [line[LEFT:].rstrip() for line in term.screen.display]
            out["burst"]["missing"] = [display(c) for c in batch if not has(display(c), x0=LEFT)(term.screen.display)]
        term.quiet(0.3)
        service.stop()
        for _ in range(verdicts):
            code = next(pool)
            out["offline"].append(scan(term, code, accepted(code, offline=True), f"offline verdict for {code}"))
        out["rss_after"] = term.rss_mib()
    finally:
        term.close(QUIT_POS)
        if service.proc is None:
            service.start()
    return out


def shift_session(toml: Path, folder: Path, codes: list[str], samples: tuple[int, ...]) -> dict[str, Any]:
    """A shift of ``len(codes)`` online redemptions; the ``pos ui`` process's RSS at the sample points."""
    out: dict[str, Any] = {"times": [], "rss": []}
    term = pos_ui(toml, folder)
    try:
        begin_shift(term)
        out["rss"].append((0, term.rss_mib()))
        for n, code in enumerate(codes, 1):
            out["times"].append(scan(term, code, accepted(code), f"verdict {n} of the shift"))
            if n in samples:
                out["rss"].append((n, term.rss_mib()))
    finally:
        term.close(QUIT_POS)
    return out


def bare_session(folder: Path, n: int) -> dict[str, Any]:
    """The bare app: Enter → a line with the code drawn, ``n`` times; its RSS before and after."""
    out: dict[str, Any] = {"times": []}
    term = bare_app(folder)
    try:
        term.wait_for(has("Staff login"), what="the bare app")
        term.quiet(0.1)
        term.type("1234")
        term.send("\r")
        term.wait_for(has("Ready for the next voucher."), what="the bare app's second screen")
        term.quiet(0.2)
        out["rss_start"] = term.rss_mib()
        for i in range(n):
            code = f"CODE{i:06d}"
            out["times"].append(scan(term, code, has(f"ACCEPTED {code}"), "a bare line"))
        out["rss_end"] = term.rss_mib()
    finally:
        term.close(QUIT_BARE)
    return out


def camera_session(toml: Path, folder: Path, seconds: float) -> dict[str, Any]:
    """The ``pos ui`` process's RSS with the camera running on a 30 fps video (capture, decoding, preview)."""
    from pos.testing.qrcorpus import write_video

    video = folder / "camera.avi"
    frames = int(seconds * 30) + 60
    write_video(video, "VC1:not-a-voucher", before=frames // 3, held=frames // 3, after=frames // 3)
    term = pos_ui(toml, folder, "--camera", str(video))
    samples = []
    try:
        term.wait_for(LOGIN_DRAWN, what="the login screen")
        log_in(term)
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            term.quiet(1.0, timeout=1.0)
            samples.append(term.rss_mib())
    finally:
        term.close(QUIT_POS)
    return {"seconds": seconds, "rss_end": samples[-1] if samples else None, "rss_peak": max(samples, default=None)}


def direct_times(cfg: TerminalConfig, codes: list[str], folder: Path) -> list[float]:
    """``Counter.redeem`` called in this process, no UI: what the counter's own work costs online."""
    db = LocalDB(folder / "direct.db")
    endpoint = Endpoint(cfg.service_url, cfg.token)
    sync(db, endpoint, cfg.store_id)
    counter = Counter(db, endpoint, store_id=cfg.store_id, terminal_id=cfg.terminal_id)
    out = []
    for code in codes:
        started = time.perf_counter()
        verdict = counter.redeem(code, "alice", None)
        out.append(time.perf_counter() - started)
        assert verdict.accepted, verdict
    endpoint.close()
    db.close()
    return out


def pin_hash_time(n: int = 5) -> list[float]:
    stored = hash_pin(PINS["alice"])
    out = []
    for _ in range(n):
        started = time.perf_counter()
        verify_pin(PINS["alice"], stored)
        out.append(time.perf_counter() - started)
    return out


def stats(values: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values]
    return {"median": percentile(ms, 50), "p90": percentile(ms, 90), "n": len(ms)}


# -- main ------------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="starts of pos ui and of the bare app")
    parser.add_argument("--verdicts", type=int, default=100, help="verdicts per kind (online, offline, refusals)")
    parser.add_argument("--burst", type=int, default=20, help="codes in the scanner burst")
    parser.add_argument("--burst-wait", type=float, default=10.0,
                        help="seconds the burst may take before it counts as not drawn (the test suite, on a busy "
                             "machine: longer)")
    parser.add_argument("--shift", type=int, default=1000, help="online redemptions in the shift measured for memory")
    parser.add_argument("--camera-seconds", type=float, default=30.0, help="the counter with the camera on (0: skip)")
    parser.add_argument("--small", action="store_true", help="a quick run: 2 starts, 5 verdicts, a shift of 20, no camera")
    parser.add_argument("--json", action="store_true", help="also print the results as one JSON object")
    args = parser.parse_args()
    if args.small:
        args.runs, args.verdicts, args.shift, args.camera_seconds = 2, 5, 20, 0.0
    sys.setswitchinterval(0.0005)  # the reader thread stamps a chunk within half a millisecond of its arrival
    load = os.getloadavg()
    began = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="pos-bench-tui-"))
    need = args.verdicts * 3 + args.burst + args.shift
    codes, named = make_shop(folder / "service.db", need)
    service = ServiceProcess(folder / "service.db", log=folder / "service.log")
    results: dict[str, Any] = {"machine": machine(), "load_before": load}
    try:
        service.start()
        cfg = TerminalConfig(service_url=service.url, token=TOKENS["S001-T1"], store_id="S001", terminal_id="S001-T1",
                             database=folder / "terminal.db")
        toml = folder / "pos.toml"
        write(toml, cfg)
        warm = LocalDB(cfg.database)  # the till has pulled its catalog before the day starts
        with Endpoint(cfg.service_url, cfg.token) as endpoint:
            sync(warm, endpoint, "S001")
        warm.close()
        session_codes, shift_codes = codes[:args.verdicts * 2 + args.burst], codes[args.verdicts * 2 + args.burst:]
        direct_codes, shift_codes = shift_codes[:args.verdicts], shift_codes[args.verdicts:]

        results["starts"] = start_runs(toml, folder, args.runs)
        results["counter"] = counter_session(toml, folder, service, session_codes, named, args.verdicts, args.burst,
                                             args.burst_wait)
        results["bare"] = bare_session(folder, args.verdicts)
        samples = tuple(sorted({1, *(n for n in (100, 250, 500, 750, 1000) if n < len(shift_codes)), len(shift_codes)}))
        results["shift"] = shift_session(toml, folder, shift_codes, samples)
        results["direct"] = direct_times(cfg, direct_codes, folder)
        results["pin_hash"] = pin_hash_time()
        if args.camera_seconds > 0:
            results["camera"] = camera_session(toml, folder, args.camera_seconds)
        with sqlite3.connect(cfg.database) as check:
            batch = results["counter"].pop("burst_codes")
            recorded = check.execute(f"SELECT count(DISTINCT code), count(*) FROM redemptions WHERE cancelled_at IS NULL "
                                     f"AND code IN ({','.join('?' * len(batch))})", batch).fetchone()
        results["counter"]["burst"]["recorded"] = {"distinct": recorded[0], "rows": recorded[1]}
    finally:
        service.stop()
        shutil.rmtree(folder, ignore_errors=True)
    results["load_after"] = os.getloadavg()
    results["seconds"] = time.perf_counter() - began
    report(results)
    if args.json:
        print(json.dumps(results, default=str))


def report(r: dict[str, Any]) -> None:
    s, c, b = r["starts"], r["counter"], r["bare"]
    pin = stats(r["pin_hash"])["median"]

    def row(name: str, ours: list[float] | None, base: list[float] | None, target: str) -> None:
        o = stats(ours or [])
        cells = f"{o['median']:8.1f} {o['p90']:8.1f}" if ours else f"{'':8} {'':8}"
        if base:
            x = stats(base)
            cells += f"   {x['median']:8.1f} {x['p90']:8.1f}"
        else:
            cells += f"   {'':8} {'':8}"
        print(f"{name:<44} {cells}   {target}")

    print(f"{r['machine']}; load average before {r['load_before'][0]:.2f}, after {r['load_after'][0]:.2f}; "
          f"{r['seconds']:.0f} s")
    print(f"{'ms':<44} {'median':>8} {'p90':>8}   {'bare':>8} {'bare p90':>8}   target")
    row("start → login screen drawn", s["start"], s["bare start"], "≤ 1.4× bare")
    row("PIN + Enter → counter ready (online login)", s["login"], s["bare login"], f"≤ 100 + PIN hash ({pin:.0f})")
    row("Enter → verdict drawn, online (loopback)", c["online"], b["times"], "≤ 50 / p90 ≤ 80")
    row("Enter → verdict drawn, offline", c["offline"], b["times"], "≤ 30 / p90 ≤ 50")
    row("Enter → refused, expired (service confirms)", c["expired"], b["times"], "≤ 15")
    row("Enter → refused, mistyped code (till alone)", c["typo"], b["times"], "")
    sh = r["shift"]["times"]
    row(f"Enter → verdict drawn, shift of {len(sh)}", sh, None, "")
    if len(sh) >= 200:
        row("  its first 100", sh[:100], None, "")
        row("  its last 100", sh[-100:], None, "")
    row("Counter.redeem alone, online (no UI)", r["direct"], None, "")
    row("PIN hash (scrypt verify, this process)", r["pin_hash"], None, "")
    burst = c["burst"]
    recorded = f"recorded {burst['recorded']['rows']} redemptions of {burst['recorded']['distinct']} of its vouchers"
    if burst["all_listed"] is not None:
        print(f"burst of {burst['codes']} codes in one write: last verdict drawn {burst['last_verdict'] * 1000:.0f} ms, "
              f"all in the shift list {burst['all_listed'] * 1000:.0f} ms "
              f"({burst['all_listed'] * 1000 / burst['codes']:.1f} ms a code); {recorded}")
    else:
        panel = " / ".join(t for t in burst.get("panel", []) if t)
        print(f"burst of {burst['codes']} codes in one write: NOT all drawn and listed within {burst['wait']:.0f} s; {recorded}; "
              f"the panel: {panel}")
    rss = ", ".join(f"{n}: {m:.1f}" for n, m in r["shift"]["rss"])
    print(f"RSS of pos ui over the shift (after n redemptions, MiB): {rss}")
    print(f"RSS of the bare app: {b['rss_start']:.1f} MiB at its second screen, {b['rss_end']:.1f} MiB after "
          f"{len(b['times'])} lines")
    if "camera" in r:
        cam = r["camera"]
        print(f"RSS of pos ui with the camera on for {cam['seconds']:.0f} s: {cam['rss_end']:.1f} MiB at the end, "
              f"peak {cam['rss_peak']:.1f} MiB")


if __name__ == "__main__":
    main()
