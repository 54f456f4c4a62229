"""The footer every screen uses: Textual's, built again only when the keys it shows have changed.

Textual's Footer (8.2) throws its keys away and mounts new ones each time its screen's bindings may have
changed — every move of the focus, every field that appears — even when the keys it would show are the same.
Mounting them styles a dozen widgets: tens of milliseconds of CPU each time, paid on every Tab between the
amount and the code. This footer compares what it would show with what it shows.
"""

from __future__ import annotations

from typing import Any

from textual.widgets import Footer as TextualFooter


class Footer(TextualFooter):
    _shown: tuple[Any, ...] | None = None

    def _showing(self) -> tuple[Any, ...]:
        """What the footer would draw now: each shown key with its text, whether it is enabled, and its group."""
        keys = tuple((binding.key, self.app.get_key_display(binding), binding.description, binding.action,
                      enabled, tooltip, binding.group)
                     for (_node, binding, enabled, tooltip) in self.screen.active_bindings.values() if binding.show)
        return keys, self.compact, self.show_command_palette

    def compose(self) -> Any:
        self._shown = self._showing() if self._bindings_ready else None
        return super().compose()

    async def recompose(self) -> None:
        if self._shown is not None and self.is_attached and self._showing() == self._shown:
            return
        await super().recompose()
