"""What the code imports is declared, by role, and pinned in the lock files the set-up installs from.

A service host installs ``pos[service,postgres]`` (requirements/service.lock) and must not need the camera
stack; a till installs ``pos[terminal,camera]`` (requirements/terminal.lock).
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
DISTS = packages_distributions()


def name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def declared(*extras: str) -> set[str]:
    found = {name(r) for r in PYPROJECT["project"]["dependencies"]}
    for extra in extras:
        found |= {name(r) for r in PYPROJECT["project"]["optional-dependencies"][extra] if not r.startswith("pos[")}
    return found


def imported(package: str) -> dict[str, set[str]]:
    """Distributions imported at module level (or anywhere, with ``anywhere``) by ``pos/<package>``."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / "pos" / package).rglob("*.py") if (ROOT / "pos" / package).is_dir() else [ROOT / "pos" / package]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top == "pos":
                    continue
                for dist in DISTS.get(top, [top]):
                    found.setdefault(dist.lower().replace("_", "-"), set()).add(str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize(("package", "extras"), [
    ("domain", ()),
    ("terminal", ()),
    ("scanner", ("camera",)),
    ("service", ("service", "postgres")),
    ("tui", ("terminal", "camera")),
    ("cli.py", ("terminal", "camera", "service", "postgres")),
    ("demo.py", ("terminal", "camera", "service", "postgres")),
])
def test_every_import_is_declared_for_its_role(package: str, extras: tuple[str, ...]) -> None:
    undeclared = {dist: sorted(where) for dist, where in imported(package).items() if dist not in declared(*extras)}
    assert undeclared == {}


def test_the_service_does_not_need_the_camera_stack() -> None:
    camera = {name(r) for r in PYPROJECT["project"]["optional-dependencies"]["camera"]}
    assert not camera & set(imported("service"))


@pytest.mark.parametrize(("lock", "extras"), [
    ("dev.lock", ("terminal", "camera", "service", "postgres", "dev")),
    ("terminal.lock", ("terminal", "camera")),
    ("service.lock", ("service", "postgres")),
])
def test_each_lock_pins_its_role_with_hashes(lock: str, extras: tuple[str, ...]) -> None:
    text = (ROOT / "requirements" / lock).read_text(encoding="utf-8")
    pins = {m.group(1).lower().replace("_", "-"): m.group(2)
            for m in re.finditer(r"^([A-Za-z0-9_.-]+)==(\S+) \\$", text, re.M)}
    assert declared(*extras) - set(pins) == set()
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 3)[-1])
    unhashed = [b.split("==")[0] for b in blocks if "==" in b and "--hash=sha256:" not in b]
    assert unhashed == []
    if lock == "service.lock":  # a service host carries no camera, UI or test stack
        assert not {"opencv-python-headless", "zxing-cpp", "pyzbar", "textual", "pytest"} & set(pins)
