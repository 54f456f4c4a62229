"""Decoding speed and read rate, the chosen pipeline against each library alone, in the same run.

  ms per frame    640x480 and 1280x720, with a voucher in view and without (median, p99, one core)
  read rate       per distortion category of the generated corpus (pos.testing.qrcorpus)
  capture         CPU share and peak memory of a capture from a video file through cv2.VideoCapture
                  and the default pipeline, each frame released at its 30 fps moment, for
                  --capture-minutes (the issue asks for 10); --capture-only measures it alone

    .venv/bin/python scripts/bench_scan.py [--per-category 40] [--frames 150] [--capture-minutes 10]
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
from pos.testing.qrcorpus import CATEGORIES, background, corpus, payload, place, qr_image, write_video


def contenders() -> dict[str, object]:
    return {
        "pyzbar": PyzbarDecoder(),
        "zxing-cpp": ZxingDecoder(),
        "opencv": OpenCVDecoder(),
        "pipeline (zxing only)": Pipeline(fallback_when="never"),
        "pipeline (+pyzbar on candidates)": Pipeline(fallback=PyzbarDecoder(), fallback_when="candidate"),
        "pipeline (+pyzbar always)": Pipeline(fallback=PyzbarDecoder(), fallback_when="always"),
    }


def decode(d: object, frame: np.ndarray) -> list:
    if isinstance(d, Pipeline):
        return d.decode(frame)  # takes the colour frame: grayscale is part of its work
    return d.decode(to_gray(frame))  # type: ignore[attr-defined]


def speed(n: int) -> None:
    print("\n## ms per frame (median / p99)")
    rng = random.Random(1)
    for width, height in ((640, 480), (1280, 720)):
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
                d.last = None
            hits[category][name] += any(r.text == text for r in decode(d, frame))
    print(f"{'category':<14}" + "".join(f"{n[:22]:>24}" for n in ds))
    for c in CATEGORIES:
        print(f"{c:<14}" + "".join(f"{hits[c][n] / per_category:>24.0%}" for n in ds))
    total = {n: sum(hits[c][n] for c in CATEGORIES) / (per_category * len(CATEGORIES)) for n in ds}
    print(f"{'all':<14}" + "".join(f"{total[n]:>24.0%}" for n in ds))


def capture(minutes: float, workdir: Path) -> None:
    """The default pipeline on a video looped through cv2.VideoCapture, each frame released at its
    30 fps moment, as a camera delivers them; CPU share and peak RSS of this process."""
    print(f"\n## capture: {minutes} min of a 30 fps source through cv2.VideoCapture and the default pipeline")
    workdir.mkdir(parents=True, exist_ok=True)
    video = workdir / "counter.avi"
    write_video(video, payload(random.Random(8)), before=150, held=60, after=90)  # 10 s, looped
    frame_time = 1 / 30
    start, cpu0 = time.monotonic(), time.process_time()
    count = 0

    def camera() -> Iterator[np.ndarray]:
        nonlocal count
        while time.monotonic() - start < minutes * 60:
            for frame in frames(str(video)):
                if (wait := start + count * frame_time - time.monotonic()) > 0:
                    time.sleep(wait)
                count += 1
                yield frame

    reads = sum(1 for _ in events(camera(), Pipeline()))
    wall = time.monotonic() - start
    cpu = time.process_time() - cpu0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"frames {count}, events {reads}, CPU {cpu / wall:.1%} of one core, peak RSS {rss:.0f} MiB")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-category", type=int, default=40)
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--capture-minutes", type=float, default=10)
    ap.add_argument("--capture-only", action="store_true", help="only the capture (its peak RSS is then its own)")
    ap.add_argument("--workdir", type=Path, default=Path("bench-out/scan"))
    args = ap.parse_args()
    cv2.setNumThreads(1)
    print(f"# bench_scan: {machine()}, OpenCV {cv2.__version__}, one thread")
    if not args.capture_only:
        speed(args.frames)
        rates(args.per_category)
    if args.capture_minutes > 0:
        capture(args.capture_minutes, args.workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
