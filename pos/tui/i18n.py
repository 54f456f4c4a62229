"""The one translation layer: every string the terminal UI shows goes through :func:`_` (or :func:`n_` when it
depends on a number).

Messages are keyed by their English text (gettext style), so the English UI needs no catalog and a missing
translation falls back to readable English. The Chinese is a gettext catalog,
``pos/tui/locale/zh/LC_MESSAGES/pos.po``, compiled to ``pos.mo`` beside it and read here with the standard
library's :mod:`gettext` (how a translator works on it: docs/translations.md). Stable codes from the domain
and the service (verdict reasons, ``campaign.name.invalid``, ``login.locked``), verdict sentences, campaign
statuses and kinds have their English in :mod:`pos.tui.sentences` and their Chinese under a message context
(``code:login.locked``), so a refusal reads in the cashier's language even when it came over the network.

Importing this module imports nothing heavy (it is read before the login screen is drawn): what verdicts and
time zones need from the domain is imported where it is used.
"""

from __future__ import annotations

import os
from gettext import GNUTranslations, NullTranslations
from pathlib import Path

from pos.tui.sentences import CODES, KINDS, RETOLD, STATUS, VERDICTS

TYPE_CHECKING = False  # typing itself is not imported for this: a few milliseconds before the login screen
if TYPE_CHECKING:
    from datetime import datetime, tzinfo

    from pos.domain import Verdict

LANGUAGES = ("en", "zh")
#: the catalogs: ``<LOCALE_DIR>/<language>/LC_MESSAGES/<DOMAIN>.mo``
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "pos"
#: the context of the sentences the service and the rules send, translated when they arrive by their English
REFUSAL = "refusal"

_language = "en"
_catalog: NullTranslations = NullTranslations()  # English: the msgids themselves, English plurals
_loaded: dict[str, NullTranslations] = {"en": _catalog}


def N_(message: str) -> str:
    """Marks a message to be translated later, where it is shown (``_(STEPS[step])``): returns it as it is."""
    return message


#: Words the UI receives as data (a role, a till's mode, an outbox item's kind and a push's, a push's
#: status, how a SKU is bound) and shows through ``_``: listed here so they are catalogued.
WORDS = (
    N_("cashier"), N_("manager"), N_("online"), N_("offline"), N_("redeem"), N_("cancel"), N_("void"),
    N_("advertising"), N_("compensation"), N_("scheduled"), N_("cancelled"), N_("sending"), N_("sent"),
    N_("main"), N_("gift"),
)


def catalog_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo"


def _load(language: str) -> NullTranslations:
    catalog = _loaded.get(language)
    if catalog is None:
        with catalog_path(language).open("rb") as mo:
            catalog = _loaded[language] = GNUTranslations(mo)
    return catalog


def set_language(language: str) -> None:
    global _language, _catalog
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    _catalog = _load(language)
    _language = language


def language() -> str:
    return _language


def language_from_env(configured: str | None = None) -> str:
    """Configuration first, then the POSIX locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``): zh_* → Chinese."""
    if configured:
        return configured
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def _(message: str, /, **values: object) -> str:
    """``message`` in the current language, with ``{name}`` fields filled in."""
    if message:  # gettext("") is the catalog's header
        message = _catalog.gettext(message)
    return message.format(**values) if values else message


def n_(singular: str, plural: str, n: int, /, **values: object) -> str:
    """The form of a message for the number ``n`` (``1 redemption`` / ``3 redemptions``) in the current
    language, with ``{n}`` and the other fields filled in."""
    return _catalog.ngettext(singular, plural, n).format(**{"n": n, **values})


def _in(context: str, message: str) -> str:
    return _catalog.pgettext(context, message)


def translation_of(message: str) -> str | None:
    """A sentence someone else wrote in English (the service, the rules) as the catalog translates it, or
    None when it has no translation (always, in English): the caller then says something of its own."""
    if not message:
        return None
    for said in (_in(REFUSAL, message), _catalog.gettext(message)):
        if said != message:
            return said
    return None


def code_text(code: str, fallback: str = "") -> str:
    """The sentence for a stable code, or ``fallback`` (the sender's own message) when there is none."""
    english = CODES.get(code)
    if english is None:
        return fallback or code
    return _in(f"code:{code}", english)


def sentence(code: str, message: str) -> str:
    """A refusal in the reader's language: the sender's own sentence in English (it has the details),
    the catalogued one for its code in Chinese."""
    return message if _language == "en" and message else code_text(code, message)


def verdict_sentence(verdict: Verdict) -> str:
    """The verdict's sentence in the reader's language, times on the till's clock: in English the
    service's own (said again where it holds a time); in Chinese the same facts (a date, the minimum
    spend, the campaign) in a Chinese sentence, else the reason's short text."""
    reason = str(verdict.reason)
    if _language == "en" and reason not in RETOLD:
        return verdict.message or code_text(reason)
    from pos.domain import parse_time

    params = dict(verdict.params)
    for key in ("starts", "ends"):
        if key in params:
            params[key] = day(parse_time(params[key]))
    if verdict.first_redemption is not None:
        params.update(at=day(verdict.first_redemption.at), store=verdict.first_redemption.store_id)
    keys = [f"{reason}/{params.get('when', params.get('span', ''))}", verdict.detail or "", reason]
    for key in keys:
        if key in VERDICTS and (_language == "zh" or key in RETOLD):
            try:
                return _in(f"verdict:{key}", VERDICTS[key]).format(**params)
            except KeyError:  # a verdict from an older service, without the facts
                break
    return verdict.message if _language == "en" and verdict.message else code_text(reason, verdict.message)


def status_text(status: str) -> str:
    english = STATUS.get(status)
    return status if english is None else _in(f"status:{status}", english)


def kind_text(kind: str) -> str:
    english = KINDS.get(kind)
    return kind if english is None else _in(f"kind:{kind}", english)


_zone: tzinfo | None = None  # the store's; None until the catalog names it: the machine's own zone


def zone(name: str) -> tzinfo:
    """The time zone of an IANA name (the domain's reading of it)."""
    from pos.domain.model import zone as named_zone

    return named_zone(name)


def set_zone(name: str | None) -> None:
    """Show every time in this store's zone (an IANA name), whatever the machine's clock is set to."""
    global _zone
    _zone = zone(name) if name else None


def zone_name() -> str | None:
    return getattr(_zone, "key", None)


def here(moment: datetime) -> datetime:
    """A moment on the store's clock."""
    return moment.astimezone(_zone) if _zone is not None else moment.astimezone()


def clock(moment: datetime) -> str:
    """A time of day at the counter, on the store's clock."""
    return here(moment).strftime("%H:%M:%S")


def day(moment: datetime) -> str:
    """A day and time on the store's clock."""
    return here(moment).strftime("%Y-%m-%d %H:%M")


def date_text(iso_day: str) -> str:
    """A calendar day from a report (already in the shop's time zone)."""
    return iso_day
