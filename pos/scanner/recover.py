"""Second chances for a frame the decoder could not read: cheap variants of the one region where a code
seems to be, tried in an order chosen by measurement, within a time budget per frame.

A code moving towards the camera is streaked by motion blur; one held too close or too far is out of
focus; a small one is a few pixels a module. zxing-cpp then often finds no finder pattern at all, so the
region is found by texture (a QR code is the densest patch of edges in a counter camera's view), unless
the decoder did see a symbol it could not decode, whose position is then used.

The variants, each decoded on the region only:

* **region** — the region itself, at full resolution (the frame was searched reduced);
* **motion** — the streak's direction from the region's structure tensor (blur removes the gradients
  along it), its length from the cepstrum along that direction (a straight blur of length L puts a
  negative peak at distance L), then a Wiener deconvolution with that streak, at L and its neighbours;
* **defocus** — a Wiener deconvolution with a Gaussian spot of a few widths;
* **sharpen** — an unsharp mask, enough for a slightly soft code;
* **upscale** — a small code enlarged 2x (cubic) and sharpened, so that each module has pixels to spare;
* **threshold** — a local (adaptive) threshold, for uneven light.

``scripts/bench_scan.py`` measures what each one adds, per category, and the time it costs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True, slots=True)
class Region:
    x: int
    y: int
    w: int
    h: int


def find_region(gray: np.ndarray, *, factor: int = 4, min_contrast: float = 2.5, min_side: int = 12,
                min_fill: float = 0.5) -> Region | None:
    """The patch with the densest edges, when it stands out from the rest of the frame (a code), else None."""
    small = cv2.resize(gray, None, fx=1 / factor, fy=1 / factor, interpolation=cv2.INTER_AREA).astype(np.float32)
    gx = cv2.Sobel(small, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(small, cv2.CV_32F, 0, 1)
    energy = cv2.blur(np.abs(gx) + np.abs(gy), (9, 9))
    peak = float(energy.max())
    if peak <= 0 or peak < min_contrast * float(np.median(energy)) + 1.0:
        return None
    mask = (energy >= 0.55 * peak).astype(np.uint8)
    n, _labels, stats, _ = cv2.connectedComponentsWithStats(mask)
    if n <= 1:
        return None
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y, w, h, area = (int(v) for v in stats[best][:5])
    # a code is a filled, roughly square patch of edges; an object's outline is a thin, hollow frame
    if w < min_side or h < min_side or max(w, h) > 3 * min(w, h) or area < min_fill * w * h:
        return None
    return Region(x * factor, y * factor, w * factor, h * factor)


def crop(gray: np.ndarray, r: Region, margin: float = 0.15) -> np.ndarray:
    m = int(max(r.w, r.h) * margin) + 16
    return gray[max(0, r.y - m): r.y + r.h + m, max(0, r.x - m): r.x + r.w + m]


# -- the variants ----------------------------------------------------------------------------------------
def streak(length: float, angle: float) -> np.ndarray:
    """A straight motion-blur kernel ``length`` pixels long at ``angle`` degrees (x axis, anti-clockwise)."""
    size = int(np.ceil(length)) + 2
    k = np.zeros((size, size), np.float32)
    c = (size - 1) / 2
    dx, dy = np.cos(np.radians(angle)), -np.sin(np.radians(angle))
    for t in np.linspace(-(length - 1) / 2, (length - 1) / 2, max(2, int(length * 4))):
        x, y = c + t * dx, c + t * dy
        x0, y0 = int(np.floor(x)), int(np.floor(y))
        fx, fy = x - x0, y - y0
        for xx, yy, w in ((x0, y0, (1 - fx) * (1 - fy)), (x0 + 1, y0, fx * (1 - fy)), (x0, y0 + 1, (1 - fx) * fy),
                          (x0 + 1, y0 + 1, fx * fy)):
            if 0 <= xx < size and 0 <= yy < size:
                k[yy, xx] += w
    return k / k.sum()


def spot(sigma: float) -> np.ndarray:
    g = cv2.getGaussianKernel(int(6 * sigma) | 1, sigma)
    return (g @ g.T).astype(np.float32)


class Deconvolver:
    """Wiener deconvolution of one region by several kernels: the region's spectrum is computed once
    (padded to a size the FFT likes), each kernel costs one small transform and one inverse."""

    def __init__(self, img: np.ndarray) -> None:
        self.shape = img.shape
        h, w = cv2.getOptimalDFTSize(img.shape[0]), cv2.getOptimalDFTSize(img.shape[1])
        f = cv2.copyMakeBorder(img, 0, h - img.shape[0], 0, w - img.shape[1], cv2.BORDER_REFLECT).astype(np.float32)
        self.spectrum = cv2.dft(f / 255, flags=cv2.DFT_COMPLEX_OUTPUT)

    def __call__(self, psf: np.ndarray, noise: float = 0.005) -> np.ndarray:
        h, w = self.spectrum.shape[:2]
        p = np.zeros((h, w), np.float32)
        ph, pw = psf.shape
        p[:ph, :pw] = psf
        p = np.roll(p, (-(ph // 2), -(pw // 2)), (0, 1))
        k = cv2.dft(p, flags=cv2.DFT_COMPLEX_OUTPUT)
        power = k[..., 0] ** 2 + k[..., 1] ** 2 + noise
        g = np.dstack((k[..., 0] / power, -k[..., 1] / power))
        out = cv2.idft(cv2.mulSpectrums(self.spectrum, g, 0), flags=cv2.DFT_SCALE | cv2.DFT_REAL_OUTPUT)
        return np.clip(out[: self.shape[0], : self.shape[1]] * 255, 0, 255).astype(np.uint8)


def wiener(img: np.ndarray, psf: np.ndarray, noise: float = 0.005) -> np.ndarray:
    """``img`` deconvolved by ``psf`` (Wiener filter with a constant noise-to-signal ratio)."""
    return Deconvolver(img)(psf, noise)


def streak_estimate(region: np.ndarray) -> tuple[float, float, float]:
    """(angle in degrees, length in pixels, coherence 0..1) of the motion blur in ``region``."""
    c = region.astype(np.float32)
    gx = cv2.Sobel(c, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(c, cv2.CV_32F, 0, 1)
    jxx, jyy, jxy = float((gx * gx).sum()), float((gy * gy).sum()), float((gx * gy).sum())
    coherence = float(np.hypot(jxx - jyy, 2 * jxy) / (jxx + jyy + 1e-9))
    most = 0.5 * np.degrees(np.arctan2(2 * jxy, jxx - jyy))  # the direction of the most change (y down)
    angle = float(-(most + 90) % 180)  # the blur runs across it; anti-clockwise with y up
    win = np.outer(np.hanning(c.shape[0]), np.hanning(c.shape[1])).astype(np.float32)
    ceps = np.fft.fftshift(np.real(np.fft.ifft2(np.log(np.abs(np.fft.fft2((c - c.mean()) * win)) + 1e-3))))
    cy, cx = ceps.shape[0] // 2, ceps.shape[1] // 2
    best = (angle, 0.0, np.inf)
    for a in (angle - 6, angle - 3, angle, angle + 3, angle + 6):
        dx, dy = np.cos(np.radians(a)), -np.sin(np.radians(a))
        for length in range(7, min(40, min(cy, cx) - 1)):
            v = (ceps[round(cy + length * dy), round(cx + length * dx)]
                 + ceps[round(cy - length * dy), round(cx - length * dx)])
            if v < best[2]:
                best = (a, float(length), float(v))
    return best[0], best[1], coherence


def variants(region: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
    """The variants of a region, most often useful first, each made only when its turn comes (so that
    the caller's time budget is checked between any two)."""
    yield "region", region  # at full resolution a small code may read as it is (the frame was searched smaller)
    angle, length, coherence = streak_estimate(region)
    streaked = length >= 7 and coherence >= 0.25  # a blur with a direction (a defocused code measures < 0.15)
    deconvolve = Deconvolver(region)
    if streaked:  # the cepstrum's peak tends to fall a pixel short of the streak
        for n in (length + 1, length, length + 2, length - 1):
            yield "motion", deconvolve(streak(n, angle))
    for s in (3.0, 2.0, 4.0, 2.5, 3.5):
        yield "defocus", deconvolve(spot(s), 0.0015)
    if max(region.shape) <= 420:
        big = cv2.resize(region, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
        yield "upscale", cv2.addWeighted(big, 2.0, cv2.GaussianBlur(big, (0, 0), 2.0), -1.0, 0)
    yield "sharpen", cv2.addWeighted(region, 2.5, cv2.GaussianBlur(region, (0, 0), 2.0), -1.5, 0)
    yield "threshold", cv2.adaptiveThreshold(region, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 31, 5)
    if not streaked and length >= 7:  # a weak direction: the streak after all, last
        yield "motion", deconvolve(streak(length + 1, angle))


class Recovery:
    """Tries the variants of a frame's code region until one decodes or ``budget`` seconds are spent."""

    def __init__(self, decode: Callable[[np.ndarray], list], *, budget: float = 0.022, max_side: int = 400) -> None:
        self.decode = decode
        self.budget = budget  # seconds for the whole frame, the first decoding included
        self.max_side = max_side  # a larger region is reduced first: its streak or spot is wider than needed
        self.last_used: str | None = None  # the variant that read the last recovered code (for the benchmark)

    def __call__(self, gray: np.ndarray, region: Region | None = None, *, started: float | None = None,
                 search: tuple[np.ndarray, float] | None = None) -> tuple[list, tuple[int, int, float]]:
        """Readings in the region's coordinates, and (x0, y0, scale) to map them back to ``gray``.

        ``started``: when the frame's decoding began (the budget counts from there); ``search``: a smaller
        copy of ``gray`` and its scale, to look for the region in."""
        deadline = (started if started is not None else time.perf_counter()) + self.budget
        self.last_used = None
        if region is None:
            image, k = search if search is not None else (gray, 1.0)
            found_at = find_region(image)
            if found_at is not None:
                region = Region(int(found_at.x / k), int(found_at.y / k), int(found_at.w / k), int(found_at.h / k))
        if region is None or time.perf_counter() > deadline:
            return [], (0, 0, 1.0)
        m = int(max(region.w, region.h) * 0.15) + 16
        x0, y0 = max(0, region.x - m), max(0, region.y - m)
        part = crop(gray, region)
        scale = 1.0
        if max(part.shape) > self.max_side:
            scale = self.max_side / max(part.shape)
            part = cv2.resize(part, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        for name, image in variants(part):
            found = self.decode(image)
            if found:
                self.last_used = name
                return found, (x0, y0, scale * (2.0 if image.shape[0] > part.shape[0] * 1.5 else 1.0))
            if time.perf_counter() > deadline:
                break
        return [], (x0, y0, scale)
