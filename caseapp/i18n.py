"""Translations kept per language for the life of the process: the catalogs are compiled at build time and do
not change while it runs, and Flask-Babel's lookup (its domain, translations and locale, each found through the
request's context) costs microseconds per string, with a hundred strings on a page.

- `request_locale()`: the request's language, asked of Flask-Babel once per request.
- `cached_gettext(message)`: a message without variables, translated once per language.
- `lazy_gettext` (imported as `_l` across the app): Flask-Babel's lazy string, the same in every way but one:
  inside a request, its text without variables comes from `cached_gettext`. The labels of states, focus areas,
  roles and form fields are such strings, rendered dozens of times a page.
"""

from __future__ import annotations

from flask import has_request_context
from flask.globals import _cv_app
from flask_babel import get_locale, get_translations
from flask_babel import gettext as _babel_gettext
from flask_babel.speaklater import LazyString

_TRANSLATED: dict[tuple[str, str], str] = {}


def request_locale() -> str:
    per_request = _cv_app.get().g.__dict__  # `g` without its proxy (called for every template string)
    locale = per_request.get("casework_locale")
    if locale is None:
        locale = per_request["casework_locale"] = str(get_locale() or "sv")
    return locale


def cached_gettext(message: str) -> str:
    """gettext(message) (no variables) with the translation memoised per language."""
    key = (request_locale(), message)
    text = _TRANSLATED.get(key)
    if text is None:
        text = _TRANSLATED[key] = get_translations().ugettext(message)
    return text


class KeptLazyString(LazyString):
    """flask_babel.lazy_gettext's string; without variables and inside a request, translated by cached_gettext
    (the same text: Flask-Babel's gettext is `ugettext` and, given variables, `%`)."""

    def __str__(self) -> str:
        if not self._kwargs and len(self._args) == 1 and has_request_context():
            return cached_gettext(self._args[0])
        return super().__str__()


def lazy_gettext(string: str, **variables) -> KeptLazyString:
    return KeptLazyString(_babel_gettext, string, **variables)
