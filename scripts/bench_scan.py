"""Decoding speed and read rate, the chosen pipeline against each library alone, in the same run.

  ms per frame    640x480, 1280x720 and 1920x1080, with a voucher in view and without (median, p99, one core)
  read rate       per distortion category of the first corpus (640x480) and of the broad one (1280x720
                  and 1920x1080: motion blur, phone screens, small codes, low light, paper…), with the
                  cost per frame over the broad corpus and which recovery variant read what
  appearances     videos of a voucher brought into view and taken away: the share of appearances read
                  and the time from the whole code being in view to the read
  capture         CPU share and peak memory of a capture from a 1280x720 video file through
                  cv2.VideoCapture and the default pipeline, each frame released at its 30 fps moment, for
                  --capture-minutes; --capture-only measures it alone

    .venv/bin/python scripts/bench_scan.py [--per-category 40] [--frames 150] [--videos 10] [--capture-minutes 10]
    .venv/bin/python scripts/bench_scan.py --small          # a quick run of every part (CI)
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from benchlib import machine

from pos.scanner.decoders import OpenCVDecoder, Pipeline, PyzbarDecoder, ZxingDecoder, to_gray
from pos.scanner.events import events
from pos.scanner.sources import frames
from pos.testing.qrcorpus import (
    BROAD,
    CATEGORIES,
    background,
    broad_corpus,
    corpus,
    payload,
    place,
    qr_image,
    write_pass_video,
    write_video,
)


def contenders() -> dict[str, object]:
    return {
        "pyzbar": PyzbarDecoder(),
        "zxing-cpp": ZxingDecoder(),
        "opencv": OpenCVDecoder(),
        "pipeline, no recovery": Pipeline(fallback_when="never", recover=False),
        "pipeline (+pyzbar on candidates)": Pipeline(fallback=PyzbarDecoder(), fallback_when="candidate", recover=False),
        "pipeline (default)": Pipeline(),
    }


def decode(d: object, frame: np.ndarray) -> list:
    if isinstance(d, Pipeline):
        return d.decode(frame)  # takes the colour frame: grayscale is part of its work
    return d.decode(to_gray(frame))  # type: ignore[attr-defined]


def speed(n: int) -> None:
    print("\n## ms per frame (median / p99)")
    rng = random.Random(1)
    for width, height in ((640, 480), (1280, 720), (1920, 1080)):
        nrng = np.random.default_rng(width)
        empty = [background(nrng, height, width) for _ in range(10)]
        text = payload(rng)
        held = [place(background(nrng, height, width), qr_image(text, 4 if width < 1000 else 6), nrng) for _ in range(10)]
        for name, d in contenders().items():
            row = []
            for label, pool in (("code", held), ("no code", empty)):
                times = []
                for i in range(n):
                    t0 = time.perf_counter()
                    decode(d, pool[i % len(pool)])
                    times.append((time.perf_counter() - t0) * 1000)
                times.sort()
                row.append(f"{label} {statistics.median(times):6.2f} / {times[int(0.99 * (len(times) - 1))]:6.2f}")
            print(f"{width}x{height}  {name:<34} " + "   ".join(row))


def rates(per_category: int) -> None:
    print(f"\n## read rate per category ({per_category} frames each, 640x480)")
    ds = contenders()
    hits = {c: dict.fromkeys(ds, 0) for c in CATEGORIES}
    for category, frame, text in corpus(per_category, seed=99):
        for name, d in ds.items():
            if isinstance(d, Pipeline):
                d.forget()
            hits[category][name] += any(r.text == text for r in decode(d, frame))
    print(f"{'category':<14}" + "".join(f"{n[:22]:>24}" for n in ds))
    for c in CATEGORIES:
        print(f"{c:<14}" + "".join(f"{hits[c][n] / per_category:>24.0%}" for n in ds))
    total = {n: sum(hits[c][n] for c in CATEGORIES) / (per_category * len(CATEGORIES)) for n in ds}
    print(f"{'all':<14}" + "".join(f"{total[n]:>24.0%}" for n in ds))


def broad_rates(per_category: int) -> None:
    """The broad corpus: read rate per category, cost per frame, and what each recovery variant read."""
    print(f"\n## broad corpus: read rate per category ({per_category} frames each, half 1280x720, half 1920x1080)")
    ds = {"zxing-cpp": ZxingDecoder(), "pyzbar": PyzbarDecoder(), "pipeline, no recovery": Pipeline(recover=False),
          "pipeline (default)": Pipeline()}
    hits = {c: dict.fromkeys(ds, 0) for c in BROAD}
    times: dict[str, list[float]] = {n: [] for n in ds}
    used: dict[str, dict[str, int]] = {c: {} for c in BROAD}
    for category, _size, frame, text in broad_corpus(per_category):
        for name, d in ds.items():
            if isinstance(d, Pipeline):
                d.forget()
            t0 = time.perf_counter()
            got = decode(d, frame)
            times[name].append((time.perf_counter() - t0) * 1000)
            ok = any(r.text == text for r in got)
            hits[category][name] += ok
            if ok and name == "pipeline (default)" and d.recovery and d.recovery.last_used:  # type: ignore[attr-defined]
                variant = d.recovery.last_used  # type: ignore[attr-defined]
                used[category][variant] = used[category].get(variant, 0) + 1
    print(f"{'category':<14}" + "".join(f"{n[:22]:>24}" for n in ds) + "   recovered by")
    for c in BROAD:
        print(f"{c:<14}" + "".join(f"{hits[c][n]:>20}/{per_category:<3}" for n in ds)
              + "   " + ", ".join(f"{v} {k}" for k, v in sorted(used[c].items(), key=lambda kv: -kv[1])))
    n_all = per_category * len(BROAD)
    print(f"{'all':<14}" + "".join(f"{sum(hits[c][n] for c in BROAD) / n_all:>24.1%}" for n in ds))
    print(f"{'worst category':<14}" + "".join(f"{min(hits[c][n] for c in BROAD) / per_category:>24.0%}" for n in ds))
    for n, ts in times.items():
        ts.sort()
        print(f"ms per frame over the broad corpus, {n:<24} median {statistics.median(ts):6.2f}   "
              f"p99 {ts[int(0.99 * (len(ts) - 1))]:6.2f}   max {ts[-1]:6.2f}")


def appearances(videos: int, workdir: Path) -> None:
    """A voucher brought into view and taken away, several times per video: was each appearance read, and
    how long after the whole code was in view."""
    print(f"\n## appearances: {videos} videos x 4 passes, 30 fps, half 1280x720 and half 1920x1080")
    workdir.mkdir(parents=True, exist_ok=True)
    results: dict[str, list[float | None]] = {}
    for v in range(videos):
        text = payload(random.Random(1000 + v))
        path = workdir / f"pass-{v}.avi"
        spans = write_pass_video(path, text, passes=4, seed=2000 + v, size=(1280, 720) if v % 2 == 0 else (1920, 1080))
        for name, d in {"zxing-cpp": ZxingDecoder(), "pyzbar": PyzbarDecoder(),
                        "pipeline, no recovery": Pipeline(recover=False), "pipeline (default)": Pipeline()}.items():
            hits = [i for i, frame in enumerate(frames(str(path))) if any(r.text == text for r in decode(d, frame))]
            for first, last in spans:
                # an appearance: from a little before the whole code is in view (half of it may read) to its leaving
                read = [h for h in hits if first - 10 <= h <= last + 10]
                results.setdefault(name, []).append(max(0.0, (read[0] - first) / 30 * 1000) if read else None)
    print(f"{'decoder':<26}{'read':>12}{'median ms':>12}{'p90 ms':>10}")
    for name, r in results.items():
        times = sorted(t for t in r if t is not None)
        p90 = times[int(0.9 * (len(times) - 1))] if times else float("nan")
        print(f"{name:<26}{len(times):>7}/{len(r):<4}{statistics.median(times) if times else float('nan'):>12.0f}{p90:>10.0f}")


def capture(minutes: float, workdir: Path) -> None:
    """A camera's stream through cv2.VideoCapture, each frame released at its 30 fps moment: the CPU
    share of reading the frames alone (the floor), and with the pipeline with and without its recovery,
    at 640x480 (a held voucher) and at 1280x720 (vouchers passing, blurred on the way); peak RSS."""
    print(f"\n## capture: {minutes} min per row of a 30 fps source through cv2.VideoCapture")
    workdir.mkdir(parents=True, exist_ok=True)
    small, large = workdir / "counter-640.avi", workdir / "counter-1280.avi"
    write_video(small, payload(random.Random(8)), before=150, held=60, after=90)  # 10 s, looped
    write_pass_video(large, payload(random.Random(8)), passes=6, seed=8)  # about 12 s, looped
    frame_time = 1 / 30
    for video, label in ((small, "640x480"), (large, "1280x720")):
        for name, decoder in (("frames only", None), ("pipeline, no recovery", Pipeline(recover=False)),
                              ("pipeline (default)", Pipeline())):
            start, cpu0 = time.monotonic(), time.process_time()
            count = 0

            def camera(path: Path = video, t0: float = start) -> Iterator[np.ndarray]:
                nonlocal count
                while time.monotonic() - t0 < minutes * 60:
                    for frame in frames(str(path)):
                        if (wait := t0 + count * frame_time - time.monotonic()) > 0:
                            time.sleep(wait)
                        count += 1
                        yield frame

            reads = sum(1 for _ in camera()) if decoder is None else sum(1 for _ in events(camera(), decoder))
            wall = time.monotonic() - start
            cpu = time.process_time() - cpu0
            shown = "-" if decoder is None else str(reads)
            print(f"{label:<9} {name:<24} frames {count:>6}  events {shown:>4}  CPU {cpu / wall:6.1%} of one core")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process {rss:.0f} MiB (run with --capture-only for the capture's own)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-category", type=int, default=40)
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--capture-minutes", type=float, default=10)
    ap.add_argument("--videos", type=int, default=10)
    ap.add_argument("--capture-only", action="store_true", help="only the capture (its peak RSS is then its own)")
    ap.add_argument("--small", action="store_true", help="a quick run of every part (CI)")
    ap.add_argument("--workdir", type=Path, default=Path("bench-out/scan"))
    args = ap.parse_args()
    if args.small:
        args.per_category, args.frames, args.videos, args.capture_minutes = 2, 10, 1, 0.1
    cv2.setNumThreads(1)
    print(f"# bench_scan: {machine()}, OpenCV {cv2.__version__}, one thread")
    if not args.capture_only:
        speed(args.frames)
        rates(args.per_category)
        broad_rates(args.per_category)
        appearances(args.videos, args.workdir)
    if args.capture_minutes > 0:
        capture(args.capture_minutes, args.workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
