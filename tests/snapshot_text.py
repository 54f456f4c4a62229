"""What a failed snapshot differs in, as text a person can read in a CI log: the lines whose characters
differ, and, when the characters are the same, the lines whose colours differ (a highlighted row, a focused
field). The SVG report that pytest-textual-snapshot writes stays on the machine that ran the test."""

from __future__ import annotations

import difflib
import html
import re
from collections import defaultdict

from rich.cells import cell_len

_TEXT = re.compile(r'<text class="([^"]*)" x="([^"]*)" y="[^"]*" textLength="[^"]*" '
                   r'clip-path="url\(#terminal-(?:\d+-)?line-(\d+)\)">([^<]*)</text>')
CELL = 12.2  # the width of one terminal cell in Textual's SVG
_RECT = re.compile(r'<rect fill="([^"]*)" x="([^"]*)" y="([^"]*)" width="([^"]*)" height="[^"]*"')


def screen_lines(svg: str) -> tuple[list[str], list[str]]:
    """The screen's text line by line, and line by line its runs of style (class or fill, with the x where
    each starts)."""
    text: dict[int, list[tuple[float, str, str]]] = defaultdict(list)
    for style, x, line, content in _TEXT.findall(svg):
        text[int(line)].append((float(x), style, html.unescape(content).replace("\xa0", " ")))
    fills: dict[float, list[tuple[float, str]]] = defaultdict(list)
    for fill, x, y, _width in _RECT.findall(svg):
        fills[float(y)].append((float(x), fill))
    rows = sorted(fills)  # the background rectangles' rows, top to bottom, are the screen's lines
    count = max([*text, len(rows) - 1], default=-1) + 1
    chars, styles = [], []
    for n in range(count):
        spans = sorted(text.get(n, []))
        line = ""
        for x, _style, content in spans:  # each run where it starts: a run of blanks is not written as text
            line += " " * max(0, round(x / CELL) - cell_len(line)) + content
        chars.append(line.rstrip())
        back = sorted(fills[rows[n]]) if n < len(rows) else []
        styles.append(" ".join(f"{x:g}:{style}" for x, style, _c in spans) + " | " +
                      " ".join(f"{x:g}:{fill}" for x, fill in back))
    return chars, styles


def difference(expected: str, actual: str, limit: int = 60) -> str:
    """A unified diff of the characters on screen or, when they agree, of where the styles differ."""
    from pytest_textual_snapshot import normalize_svg  # the same names for the same styles in both

    old_chars, old_styles = screen_lines(normalize_svg(expected))
    new_chars, new_styles = screen_lines(normalize_svg(actual))
    diff = list(difflib.unified_diff(old_chars, new_chars, "snapshot", "this run", lineterm="", n=1))
    if not diff:
        changed = [n for n, (a, b) in enumerate(zip(old_styles, new_styles, strict=False)) if a != b]
        diff = ["same characters; the colours differ on line(s) " + ", ".join(str(n) for n in changed[:20])]
        for n in changed[:3]:
            diff += [f"line {n}: {old_chars[n]!r}", f"  snapshot: {old_styles[n][:400]}",
                     f"  this run: {new_styles[n][:400]}"]
    return "\n".join(diff[:limit])
