"""The camera preview's hints, from real video files read through ``cv2.VideoCapture`` by the counter's
camera worker: in focus and framed, move closer, centre the code, hold still (a sharpness measured on the
code's region), no code in view; the end of a file said where the preview was; F9 with no camera on."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from pos.demo import PINS
from pos.scanner.decoders import Pipeline
from pos.testing.qrcorpus import _at, background, payload, qr_image, write_pass_video
from pos.tui import i18n
from pos.tui.widgets.camera import SHARP, Aiming, CameraScanner
from tests.conftest import Shop
from tests.tui_helpers import app_for, log_in_at_counter, run, text_of, until


@pytest.fixture(autouse=True)
def english_afterwards() -> Iterator[None]:
    """A Chinese app sets the process's language: the next test starts in English."""
    yield
    i18n.set_language("en")

TEXT = payload(random.Random(3))  # a signed-looking payload this shop's keys do not know: refused as forged


def still_video(path: Path, *, size: tuple[int, int] = (640, 480), module: int = 4,
                centre: tuple[int, int] | None = None, blur: float = 0.0, code: bool = True, frames: int = 60) -> Path:
    """A voucher held perfectly still (or no voucher), as an MJPG video of ``frames`` frames at 30 a second."""
    width, height = size
    frame = background(np.random.default_rng(4), height, width)
    if code:
        frame = _at(frame, qr_image(TEXT, module), np.array(centre or (width // 2, height // 2)))
    if blur:
        frame = cv2.GaussianBlur(frame, (0, 0), blur)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 30, size)
    assert writer.isOpened()
    try:
        for _ in range(frames):
            writer.write(frame)
    finally:
        writer.release()
    return path


def hints_of(path: Path) -> list[tuple[str, float | None]]:
    """Each frame's hint, as the camera worker makes it (every frame due for a preview)."""
    cap = cv2.VideoCapture(str(path))
    pipeline, aiming, out = Pipeline(), Aiming(), []
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                return out
            found = pipeline.decode(frame)
            aim = aiming.look(frame, found[0].box if len(found) == 1 else None, True)
            assert aim is not None
            out.append((aim.hint, aim.sharpness))
    finally:
        cap.release()


def test_each_kind_of_picture_gets_its_hint(tmp_path: Path) -> None:
    cases = {
        "good": still_video(tmp_path / "good.avi"),
        "closer": still_video(tmp_path / "small.avi", size=(1280, 720), module=2),
        "centre": still_video(tmp_path / "corner.avi", module=3, centre=(90, 90)),
        "blurred": still_video(tmp_path / "blurred.avi", blur=1.0),
        "none": still_video(tmp_path / "empty.avi", code=False),
    }
    for hint, path in cases.items():
        got = hints_of(path)
        assert {h for h, _ in got} == {hint}, (hint, Counter(h for h, _ in got))
    good = [s for _, s in hints_of(cases["good"])]
    blurred = [s for _, s in hints_of(cases["blurred"])]
    assert min(good) >= 2 * SHARP and max(blurred) < SHARP  # the measure itself: a crisp code is far sharper


def test_a_hand_moving_the_voucher_is_told_to_hold_still(tmp_path: Path) -> None:
    """Vouchers carried into view and out again, fast (streaked by motion blur), held for a moment between:
    the frames held still are in focus and framed, the fast ones mostly "hold still"."""
    for seed in (5, 6):
        streaks: dict[int, float] = {}
        path = tmp_path / f"pass-{seed}.avi"
        in_view = write_pass_video(path, payload(random.Random(seed)), passes=2, seed=seed, streaks=streaks,
                                   size=(640, 480))
        hints = hints_of(path)
        held = [hints[i][0] for i in range(len(hints)) if any(a <= i <= b for a, b in in_view) and streaks.get(i, 0) < 1.5]
        fast = [hints[i][0] for i in range(len(hints)) if streaks.get(i, 0) > 8]
        assert held and set(held) == {"good"}, Counter(held)
        assert fast and Counter(fast)["moving"] >= 0.75 * len(fast), Counter(fast)
        assert "good" not in {hints[i][0] for i in range(len(hints)) if not streaks.get(i)}  # nothing in view


def test_the_preview_says_the_code_is_in_focus_then_that_the_file_ended(shop: Shop, tmp_path: Path) -> None:
    video = still_video(tmp_path / "held.avi", frames=120)  # 4 s: long enough to be on screen when the test looks
    app = app_for(shop, camera=str(video))

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await log_in_at_counter(pilot, "alice", PINS["alice"])
            camera = app.screen.query_one("#camera", CameraScanner)
            await until(pilot, lambda: camera.last_aim is not None, timeout=30)
            said = text_of(app, "#camera")
            found = re.search(r"In focus and framed \(sharpness ([0-9.]+)\)\.", said)
            assert found and float(found.group(1)) >= SHARP, said
            assert "▀" in said  # the picture, above its hint
            await until(pilot, lambda: app.screen.query(".camera-note.-ended"), timeout=30)
            assert not app.screen.query(CameraScanner)
            note = text_of(app, ".camera-note")
            assert f"The video file {video} has ended after 120 frames. Press F8 to play it again." in note
            await pilot.press("f8")
            await until(pilot, lambda: app.screen.query(CameraScanner))

    run(scenario)


async def camera_on(pilot: Any, source: Path) -> CameraScanner:
    """F8 until a camera on ``source`` runs (a file that ended left a note; a running camera is switched off)."""
    app = pilot.app
    app.camera_source = str(source)
    while True:
        running = app.screen.query(CameraScanner)
        if running and running.first().source == str(source):
            return running.first()
        await pilot.press("f8")
        await pilot.pause()


def test_the_preview_says_what_to_change_and_f9_without_a_camera_says_so(shop: Shop, tmp_path: Path) -> None:
    app = app_for(shop, language="en")
    videos = {
        "Too small: move closer.": still_video(tmp_path / "small.avi", size=(1280, 720), module=2, frames=150),
        "Off-centre: centre the code.": still_video(tmp_path / "corner.avi", module=3, centre=(90, 90), frames=150),
        "Blurred (sharpness 0.": still_video(tmp_path / "blurred.avi", blur=1.0, frames=150),
        "No code in view: hold the QR code up to the camera.": still_video(tmp_path / "empty.avi", code=False,
                                                                           frames=150),
    }

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await log_in_at_counter(pilot, "alice", PINS["alice"])
            await pilot.press("f9")
            await until(pilot, lambda: app.screen.query(".camera-note.-warning"))
            assert "No camera is on, so there is no preview. Press F8 to switch the camera on." in text_of(
                app, ".camera-note")
            for hint, video in videos.items():
                camera = await camera_on(pilot, video)
                await until(pilot, lambda said=hint: said in text_of(app, "#camera"), timeout=30)
            await pilot.press("f9")  # the preview off: no picture, no hint
            await until(pilot, lambda: "Camera on (file" in text_of(app, "#camera"))
            assert camera.last_aim is None and "▀" not in text_of(app, "#camera")

    run(scenario)


def test_the_preview_fits_a_short_screen_with_its_hint(shop: Shop, tmp_path: Path) -> None:
    """At 80x24 the preview is smaller, not cut: the picture and its hint fit where the camera is."""
    from tests.tui_helpers import cut_off

    video = still_video(tmp_path / "held.avi", frames=150)
    app = app_for(shop, camera=str(video), language="zh")

    async def scenario() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await log_in_at_counter(pilot, "alice", PINS["alice"])
            camera = app.screen.query_one("#camera", CameraScanner)
            await until(pilot, lambda: camera.last_aim is not None and "清晰且位置合适" in text_of(app, "#camera"),
                        timeout=30)
            await pilot.pause(0.3)
            assert cut_off(app.screen) == []
            rows = text_of(app, "#camera").rstrip("\n").splitlines()
            assert len(rows) <= camera.content_size.height and all("▀" in r for r in rows[:2])

    run(scenario)


def test_a_camera_that_stops_is_said_to_have_stopped() -> None:
    assert CameraScanner("3").ended() == "Camera 3 stopped sending pictures (unplugged?). Press F8 to start it again."
    assert "The stream rtsp://till/cam has ended." in CameraScanner("rtsp://till/cam").ended()
