"""Every screen's keys read in the UI's language (pos.tui.keys.InLanguage), through Textual's public API."""

from __future__ import annotations

import importlib
import pkgutil

from textual.binding import Binding
from textual.screen import Screen

import pos.tui.screens
from pos.tui import i18n
from pos.tui.keys import InLanguage, translated


def _subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    return found.union(*(_subclasses(c) for c in found)) if found else found


def test_every_screen_of_the_ui_reads_its_keys_in_the_ui_language() -> None:
    for module in pkgutil.iter_modules(pos.tui.screens.__path__):
        importlib.import_module(f"pos.tui.screens.{module.name}")
    ours = {c for c in _subclasses(Screen) if c.__module__.startswith("pos.tui")}
    assert len(ours) > 10
    assert {c.__name__ for c in ours if not issubclass(c, InLanguage)} == set()


def test_a_binding_reads_in_the_language_of_the_moment() -> None:
    log_out = Binding("ctrl+l", "logout", "Log out", tooltip="End this shift and return to the login")
    try:
        i18n.set_language("zh")
        zh = translated(log_out, "zh")
        assert (zh.key, zh.action, zh.description, zh.tooltip) == ("ctrl+l", "logout", "退出登录", "结束本班并回到登录")
    finally:
        i18n.set_language("en")
    assert translated(log_out, "en") == log_out
