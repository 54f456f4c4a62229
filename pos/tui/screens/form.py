"""What the back office's modal forms share.

A form opens with its first field focused. Its title, a hint line naming the keys, the form's own error
and the Save and Cancel buttons stay in view while the fields scroll between them, and the footer shows
Ctrl+S (save, from any field) and Esc (cancel). Each field has its label, and its errors below it, wrapped,
never cut. Nothing is said to be wrong before the first save or before a field was left after a change;
from then on a field's errors follow what is typed. Save checks what the form can, then sends the form to
the service off the event loop; a refusal is said next to the field it concerns (as a sentence naming it,
with the stable code after it), that field gets the focus, and the form stays open to correct. What the
service said about a field goes once that field changes; the form's own error goes at the next save."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, Select, SelectionList

from pos.terminal.endpoint import Endpoint, EndpointError, Refused
from pos.tui.i18n import _
from pos.tui.keys import InLanguage
from pos.tui.problems import field_name, refusal_lines, with_code
from pos.tui.widgets.footer import Footer

if TYPE_CHECKING:
    from pos.tui.app import PosApp


class FormModal(InLanguage, ModalScreen[dict[str, Any] | None]):
    app: PosApp  # the app this screen belongs to (Textual types it as any App)
    BINDINGS = [Binding("ctrl+s", "save", "Save"), Binding("escape", "cancel", "Cancel")]
    AUTO_FOCUS = None  # the first field is focused on mount, without scrolling its label out of view
    FIRST = "#form Input, #form Select, #form Checkbox, #form SelectionList"
    NARROW = False  # a short form: a narrower box
    #: the service's name of a field → the form's (when they differ)
    ALIASES: ClassVar[Mapping[str, str]] = {}
    #: a refusal's code that concerns one field, when the service does not name the field itself
    CODE_FIELDS: ClassVar[Mapping[str, str]] = {}

    def __init__(self) -> None:
        super().__init__()
        self.labels: dict[str, str] = {}  # field → its label, in form order
        self.widget_ids: dict[str, str] = {}  # field → the id of the widget it is typed in
        self.initial: dict[str, object] = {}  # field → its value when the form opened
        self.left: set[str] = set()  # fields changed and then left: their errors show
        self.attempted = False  # a save (or a preview) was asked for: every error shows
        self.said: dict[str, list[str]] = {}  # what the service said about each field, until it changes

    # -- layout ---------------------------------------------------------------------------------------
    def heading(self) -> str:
        raise NotImplementedError

    def fields(self) -> ComposeResult:
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="form", classes="-narrow" if self.NARROW else ""):
            with Vertical(id="form-top"):
                yield Label(self.heading(), classes="section-title", id="form-title")
                yield Label(self.hint(), id="form-hint")
            with Vertical(id="form-bottom"):
                yield Label("", id="form-error", classes="field-error")
                yield Label("", id="form-note")
                with Horizontal(id="buttons"):
                    yield Button(f"{_('Save')} (ctrl+s)", variant="primary", id="save", compact=True)
                    yield Button(f"{_('Cancel')} (esc)", id="cancel", compact=True)
            yield from self.fields()
        yield Footer()

    def hint(self) -> str:
        return _("Ctrl+S saves from any field · Esc cancels · Tab goes to the next field")

    def field(self, key: str, label: str, widget: Widget) -> ComposeResult:
        """A field: its label, the widget it is typed in, and its errors (none until there are some)."""
        assert widget.id is not None
        self.labels[key], self.widget_ids[key] = label, widget.id
        yield Label(label, classes="field-label")
        yield widget
        yield Label("", id=f"err-{key}", classes="field-error")

    def on_mount(self) -> None:
        for key in self.widget_ids:
            self.initial[key] = self.value_of(key)
        for label in self.query(".field-error").results(Label):
            label.display = False
        self.query_one("#form-note", Label).display = False
        first = next((w for w in self.query(self.FIRST).results() if w.focusable), None)
        if first is not None:
            first.focus(scroll_visible=False)  # ready to type into; the form opens at its top

    # -- what each form says it checks ----------------------------------------------------------------
    def check_fields(self) -> dict[str, list[str]]:
        """What the form can tell is wrong before sending: sentences by field."""
        return {}

    # -- errors -----------------------------------------------------------------------------------------
    def widget_of(self, key: str) -> Widget:
        return self.query_one(f"#{self.widget_ids[key]}")

    def value_of(self, key: str) -> object:
        widget = self.widget_of(key)
        if isinstance(widget, SelectionList):  # a choice of several: what is chosen, in no particular order
            return frozenset(widget.selected)
        return getattr(widget, "value", None)

    def key_of(self, widget: Widget | None) -> str | None:
        ids = {wid: key for key, wid in self.widget_ids.items()}
        while widget is not None and widget is not self:
            if widget.id in ids:
                return ids[widget.id]
            widget = widget.parent if isinstance(widget.parent, Widget) else None
        return None

    def name_of(self, key: str) -> str:
        """A field as a sentence names it: its label without the hint in brackets."""
        return field_name(self.labels[key])

    def required(self, key: str) -> str:
        """What an empty field that must be filled in says."""
        return with_code(_("{field} is required.", field=self.name_of(key)), "form.required")

    def place(self, field: str) -> str | None:
        """The form's field for the service's name of one (None: the form has no such field)."""
        key = self.ALIASES.get(field, field)
        return key if key in self.widget_ids else None

    def errors(self) -> dict[str, list[str]]:
        """Every error known now, by field: what the form found and what the service said."""
        found = self.check_fields()
        for key, lines in self.said.items():
            found.setdefault(key, []).extend(lines)
        return {k: v for k, v in found.items() if v}

    def show_errors(self) -> dict[str, list[str]]:
        """Show the errors of the fields that may show them now; returns what is shown."""
        shown = {k: v for k, v in self.errors().items() if self.attempted or k in self.left}
        for key in self.widget_ids:
            label = self.query_one(f"#err-{key}", Label)
            text = "\n".join(shown.get(key, []))
            label.update(text)
            label.display = bool(text)
            self.widget_of(key).set_class(key in shown, "-invalid")
        return shown

    def form_error(self, text: str) -> None:
        """The form's own error, above its buttons (always in view)."""
        label = self.query_one("#form-error", Label)
        label.update(text)
        label.display = bool(text)

    def note(self, text: str) -> None:
        """A line that is not an error (what a save did), above the buttons."""
        label = self.query_one("#form-note", Label)
        label.update(text)
        label.display = bool(text)

    def point_at(self, shown: Mapping[str, list[str]]) -> None:
        """Focus the first field with an error, and bring the error itself into view."""
        first = next((k for k in self.widget_ids if k in shown), None)
        if first is None:
            return
        widget = self.widget_of(first)
        if widget.focusable:
            widget.focus()
        error = self.query_one(f"#err-{first}", Label)
        self.call_after_refresh(error.scroll_visible, animate=False)

    def begin(self) -> bool:
        """A save (or preview) starts: every error may show from now on, and what the last one said is
        gone. False (the field pointed at, the bell rung) when the form can already tell it would fail."""
        self.attempted = True
        self.said.clear()
        self.form_error("")
        self.note("")
        shown = self.show_errors()
        if shown:
            self.point_at(shown)
            self.app.bell()
            return False
        return True

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    @on(SelectionList.SelectedChanged)
    def _changed(self, event: Input.Changed | Select.Changed | Checkbox.Changed | SelectionList.SelectedChanged[Any]
                 ) -> None:
        if not self.initial:  # not yet mounted: the first values arriving
            return
        key = self.key_of(event.control)
        if key is not None:
            self.said.pop(key, None)  # the service spoke of what was there before
            if not isinstance(event, Input.Changed) and self.value_of(key) != self.initial.get(key):
                self.left.add(key)  # a choice is made at once
        self.show_errors()

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        key = self.key_of(event.widget)
        if key is None or key in self.left or not self.initial:
            return
        try:
            if self.value_of(key) != self.initial.get(key):
                self.left.add(key)
                self.show_errors()
        except NoMatches:  # the form is closing
            pass

    # -- keys and buttons -------------------------------------------------------------------------------
    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_save(self) -> None:
        save = getattr(self, "save", None)  # each form's own save worker
        if save is not None:
            save()

    @on(Button.Pressed, "#save")
    def save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def cancel_pressed(self) -> None:
        self.dismiss(None)

    # -- the service ------------------------------------------------------------------------------------
    def refused(self, err: Refused) -> None:
        self.service_said(err.code, err.message, err.problems)

    def service_said(self, code: str, message: str, problems: list[dict[str, str]]) -> None:
        """Each thing the service said, next to its field (which gets the focus), else as the form's error."""
        place: Callable[[str], str | None] = self.place
        if not problems and code in self.CODE_FIELDS:
            concerned = self.CODE_FIELDS[code]
            place = lambda _field: concerned  # noqa: E731 - the one field this code is about
        general: list[str] = []
        names = {key: self.name_of(key) for key in self.labels}
        for field, line in refusal_lines(code, message, problems, place, names):
            if field is None:
                general.append(line)
            else:
                self.said.setdefault(field, []).append(line)
        self.form_error("\n".join(general))
        self.point_at(self.show_errors())

    async def send(self, call: Callable[[Endpoint, str], dict[str, Any]]) -> dict[str, Any] | None:
        """``call(endpoint, session)`` off the event loop; None (and the reason shown) when it failed."""
        session = self.app.shift.session if self.app.shift else None
        if session is None or self.app.office is None:
            self.form_error(_("This needs the service; you are logged in offline."))
            return None
        try:
            return await asyncio.to_thread(call, self.app.office, session)
        except Refused as err:
            self.refused(err)
            self.app.bell()
        except EndpointError as err:
            self.form_error(_("The service cannot be reached: {error}", error=str(err)))
        return None
