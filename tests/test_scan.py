"""Reading vouchers from images and video through the same cv2.VideoCapture path a webcam uses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from pos.scanner.decoders import Pipeline, PyzbarDecoder, ZxingDecoder, available
from pos.scanner.events import Ambiguous, CodeRead, events
from pos.scanner.sources import SourceError, frames
from pos.testing.qrcorpus import CATEGORIES, background, corpus, payload, place, qr_image, write_video

from .conftest import Shop


def pos(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pos", *args], capture_output=True, text=True, timeout=120,
                          env=os.environ)


def test_all_three_decoders_are_installed() -> None:
    assert set(available()) == {"zxing-cpp", "pyzbar", "opencv"}


def test_pipeline_reads_every_category_at_least_as_well_as_each_library() -> None:
    pipeline, zxing, zbar = Pipeline(fallback=PyzbarDecoder()), ZxingDecoder(), PyzbarDecoder()
    reads: dict[str, Counter] = {c: Counter() for c in CATEGORIES}
    for category, frame, text in corpus(8, seed=21):
        pipeline.forget()  # independent pictures
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        reads[category]["pipeline"] += any(r.text == text for r in pipeline.decode(frame))
        reads[category]["zxing"] += any(r.text == text for r in zxing.decode(gray))
        reads[category]["pyzbar"] += any(r.text == text for r in zbar.decode(gray))
    for category, got in reads.items():
        assert got["pipeline"] >= max(got["zxing"], got["pyzbar"]), (category, dict(got))
    assert sum(r["pipeline"] for r in reads.values()) >= 0.85 * 8 * len(CATEGORIES)


def test_pyzbar_is_given_grayscale() -> None:
    frame, text = _one()
    assert [r.text for r in PyzbarDecoder().decode(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))] == [text]


def test_a_video_gives_one_event_while_the_voucher_is_held(tmp_path: Path) -> None:
    import random

    text = payload(random.Random(5))
    path = tmp_path / "held.avi"
    write_video(path, text, before=20, held=60, after=20)
    got = list(events(frames(str(path)), Pipeline(), window=3.0))
    assert got == [CodeRead(text, got[0].frame)] and 20 <= got[0].frame < 30


def test_the_same_code_again_after_the_window_is_a_new_event(tmp_path: Path) -> None:
    import random

    text = payload(random.Random(6))
    first, second = tmp_path / "a.avi", tmp_path / "b.avi"
    write_video(first, text, before=5, held=20, after=0)
    write_video(second, text, before=100, held=20, after=5)  # 100 frames away: over 3 s at 30 fps
    stream = [*frames(str(first)), *frames(str(second))]
    assert [type(e) for e in events(stream, Pipeline(), window=3.0)] == [CodeRead, CodeRead]
    assert len(list(events(stream, Pipeline(), window=10.0))) == 1


def test_two_codes_in_one_frame_are_ambiguous_not_guessed() -> None:
    import random

    rng = random.Random(9)
    a, b = payload(rng), payload(rng)
    frame = background(np.random.default_rng(1), 480, 900)
    for text, (y, x) in ((a, (20, 30)), (b, (200, 560))):
        code = cv2.cvtColor(qr_image(text, 4), cv2.COLOR_GRAY2BGR)
        frame[y : y + code.shape[0], x : x + code.shape[1]] = code
    got = list(events([frame], Pipeline()))
    assert got == [Ambiguous(tuple(sorted([a, b])), 0)]


def test_missing_sources_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        list(frames(str(tmp_path / "nope.avi")))
    with pytest.raises(SourceError, match="camera 7 could not be opened"):
        list(frames(7))
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not a picture")
    with pytest.raises(SourceError, match="not an image"):
        list(frames(str(junk)))


def test_pos_scan_command(tmp_path: Path) -> None:
    frame, text = _one()
    image = tmp_path / "v.png"
    cv2.imwrite(str(image), frame)
    r = pos("scan", "--image", str(image))
    assert r.returncode == 0 and r.stdout.splitlines() == [text]
    video = tmp_path / "v.avi"
    write_video(video, text)
    r = pos("scan", "--video", str(video))
    assert r.returncode == 0 and r.stdout.splitlines() == [text]
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), background(np.random.default_rng(2), 480, 640))
    assert pos("scan", "--image", str(blank)).returncode == 1
    r = pos("scan", "--camera", "9")
    assert r.returncode == 2 and "camera 9 could not be opened" in r.stderr


def test_exported_vouchers_scan_and_redeem(shop: Shop, tmp_path: Path) -> None:
    out = tmp_path / "print"
    r = pos("vouchers", "export", "SPRING", "--out", str(out), "--db", str(shop.db_path), "--only-unused")
    assert r.returncode == 0, r.stderr
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) == 4 and (out / "sheet.html").read_text().count('class="card"') == 4  # the revoked one is left out
    t = shop.terminal()
    scanned = pos("scan", "--image", str(pngs[0]))
    assert scanned.returncode == 0
    verdict = t.counter.redeem(scanned.stdout.strip(), "alice", 62000)
    assert verdict.accepted and verdict.code == pngs[0].stem
    assert json.loads(json.dumps(verdict.to_dict()))["reason"] == "ok"


def _one() -> tuple[np.ndarray, str]:
    import random

    rng = random.Random(4)
    text = payload(rng)
    frame = place(background(np.random.default_rng(4), 480, 640), qr_image(text, 4), np.random.default_rng(4))
    return frame, text


def test_a_stream_url_is_read_like_a_camera(tmp_path: Path) -> None:
    """An IP camera's HTTP stream, played by a web server on loopback."""
    import functools
    import http.server
    import random
    import threading

    text = payload(random.Random(12))
    write_video(tmp_path / "cam.avi", text)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/cam.avi"
        r = pos("scan", "--url", url)
        assert r.returncode == 0, r.stderr
        assert r.stdout.splitlines() == [text]
        missing = pos("scan", "--url", url.replace("cam.avi", "nothing.avi"))
        assert missing.returncode == 2 and "could not be opened" in missing.stderr
    finally:
        server.shutdown()
        server.server_close()


# -- the broad corpus and the recovery cascade (pos.scanner.recover) --------------------------------------
# The recovery's time budget belongs to the benchmark (scripts/bench_scan.py measures it); here it is
# generous, so that what is tested is what the cascade can read, whatever the machine's load.
from pos.scanner.recover import find_region, streak_estimate  # noqa: E402
from pos.testing.qrcorpus import BROAD, broad_corpus, motion_kernel, write_pass_video  # noqa: E402


@pytest.mark.parametrize("category", BROAD)
def test_each_category_of_the_broad_corpus_is_read(category: str) -> None:
    pipeline, zxing = Pipeline(budget=1.0), ZxingDecoder()
    read = alone = 0
    for _, _size, frame, text in broad_corpus(4, seed=31, categories=(category,)):
        pipeline.forget()
        read += any(r.text == text for r in pipeline.decode(frame))
        alone += any(r.text == text for r in zxing.decode(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)))
    assert read >= 3 and read >= alone, (category, read, alone)


def test_motion_blur_is_what_zxing_alone_cannot_read_and_the_cascade_can() -> None:
    pipeline, plain, zxing = Pipeline(budget=1.0), Pipeline(recover=False), ZxingDecoder()
    got = {"cascade": 0, "plain": 0, "zxing": 0}
    used = Counter()
    for _, _size, frame, text in broad_corpus(6, seed=41, categories=("motion_blur",)):
        pipeline.forget()
        plain.forget()
        if any(r.text == text for r in pipeline.decode(frame)):
            got["cascade"] += 1
            used[pipeline.recovery.last_used] += 1  # type: ignore[union-attr]
        got["plain"] += any(r.text == text for r in plain.decode(frame))
        got["zxing"] += any(r.text == text for r in zxing.decode(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)))
    assert got["cascade"] >= 5 and got["plain"] <= 2 and got["zxing"] <= 2, got
    assert used["motion"] >= 4, used  # read by deblurring along the streak, not by luck


def test_the_streak_is_measured_from_the_blurred_region_alone() -> None:
    import random

    nrng = np.random.default_rng(3)
    code = qr_image(payload(random.Random(3)), 5)
    for length, angle in ((9, 0), (13, 30), (17, 95), (12, 150)):
        blurred = cv2.filter2D(code, -1, motion_kernel(length, angle))
        blurred = np.clip(blurred + nrng.normal(0, 2, blurred.shape), 0, 255).astype(np.uint8)
        a, n, coherence = streak_estimate(blurred)
        assert abs(n - length) <= 2 and coherence > 0.25, (length, angle, a, n, coherence)
        assert min(abs(a - angle) % 180, 180 - abs(a - angle) % 180) <= 8, (angle, a)


def test_an_empty_counter_starts_no_recovery() -> None:
    nrng = np.random.default_rng(12)
    found = sum(find_region(cv2.cvtColor(background(nrng, 720, 1280), cv2.COLOR_BGR2GRAY)) is not None
                for _ in range(20))
    assert found <= 3  # the cascade's cost is paid on frames that hold something code-like, not on every frame


def test_every_appearance_of_a_moving_voucher_is_read_through_videocapture(tmp_path: Path) -> None:
    import random

    text = payload(random.Random(77))
    path = tmp_path / "passes.avi"
    spans = write_pass_video(path, text, passes=3, seed=78)
    decoder = Pipeline(budget=1.0)
    hits = [i for i, frame in enumerate(frames(str(path))) if any(r.text == text for r in decoder.decode(frame))]
    assert len(spans) == 3
    for first, last in spans:
        read = [h for h in hits if first - 10 <= h <= last + 10]
        assert read and read[0] - first <= 9, (first, last, hits)  # within 300 ms of the whole code in view


def test_a_camera_that_cannot_be_opened_writes_nothing_over_the_screen() -> None:
    """OpenCV warns on standard error, which is the UI's screen; opening a missing camera says it in the error only."""
    import subprocess
    import sys

    probe = ("from pos.scanner.sources import SourceError, open_capture\n"
             "try:\n    open_capture(9)\nexcept SourceError as err:\n    print(err)\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert "could not be opened" in done.stdout
    assert done.stderr == ""


def test_what_is_wrong_with_a_camera_or_file_is_said_in_the_cashiers_language(tmp_path) -> None:
    from pos.scanner.sources import SourceError, open_capture
    from pos.tui import i18n
    from pos.tui.widgets.camera import source_problem

    said = {}
    for source in (9, str(tmp_path / "nothing.mp4")):
        try:
            open_capture(source)
        except SourceError as err:
            for language in ("en", "zh"):
                i18n.set_language(language)
                said[(source, language)] = source_problem(err)
    i18n.set_language("en")
    assert said[(9, "en")] == "camera 9 could not be opened (missing, unplugged, or in use by another program)"
    assert said[(9, "zh")].startswith("无法打开摄像头 9")
    assert said[(str(tmp_path / "nothing.mp4"), "zh")] == f"文件 {tmp_path / 'nothing.mp4'} 不存在。"
