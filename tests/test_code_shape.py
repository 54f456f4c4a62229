"""The code stays easy to change: short functions, and a long module only with the reason at its top."""

from __future__ import annotations

import ast
from pathlib import Path

POS = Path(__file__).resolve().parents[1] / "pos"
FUNCTION_MAX = 60  # lines, from the def to the last line of the body
MODULE_MAX = 400
REASON = "Long on purpose:"


def _modules() -> list[Path]:
    return sorted(POS.rglob("*.py"))


def test_no_function_is_longer_than_a_screen() -> None:
    long = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > FUNCTION_MAX:
                    long.append(f"{path.relative_to(POS.parent)}:{node.lineno} {node.name} ({size} lines)")
    assert not long, "split these into named steps:\n" + "\n".join(long)


def test_a_long_module_says_why_at_its_top() -> None:
    unexplained = []
    for path in _modules():
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MODULE_MAX and REASON not in (ast.get_docstring(ast.parse(text)) or ""):
            unexplained.append(f"{path.relative_to(POS.parent)} ({len(text.splitlines())} lines)")
    assert not unexplained, f"split these, or say why not in their docstring ('{REASON} …'):\n" + "\n".join(unexplained)
