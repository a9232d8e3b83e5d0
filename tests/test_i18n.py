"""Swedish is the default; every interface string has an English translation in the catalog."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
METHOD_MAP = [("caseapp/**.py", "python"), ("templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


def _source_msgids() -> set[str]:
    ids = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(ROOT), METHOD_MAP, keywords=KEYWORDS, options_map={"templates/**.html": {}}
    ):
        ids.add(message if isinstance(message, str) else message[0])
    return {m for m in ids if m}


def test_every_string_has_an_english_translation():
    with open(ROOT / "caseapp/translations/en/LC_MESSAGES/messages.po", "rb") as fh:
        catalog = read_po(fh)
    translated = {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}
    missing = sorted(_source_msgids() - set(translated))
    assert not missing, "untranslated (run `make i18n-update` and fill the .po): " + "; ".join(missing[:20])


def test_default_language_is_swedish(client):
    body = client.get("/login").get_data(as_text=True)
    assert '<html lang="sv">' in body and "Logga in" in body


def test_english_login_page(client):
    client.post("/language", data={"lang": "en", "next": "/login"})
    body = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in body and "All access is logged." in body


def test_template_gettext_translates_and_escapes_its_variables(app):
    """The templates' `_()` (caseapp.cases.routes._template_gettext) keeps the newstyle gettext's rules: the
    translation is markup, the variables are escaped, and where a template does not autoescape nothing is."""
    from flask import session

    env = app.jinja_env
    html = env.from_string('{{ _("Välkommen, %(name)s", name=who) }}')
    raw = env.from_string('{% autoescape false %}{{ _("Välkommen, %(name)s", name=who) }}{% endautoescape %}')
    with app.test_request_context("/"):
        assert html.render(who="<b>Åsa</b>") == "Välkommen, &lt;b&gt;Åsa&lt;/b&gt;"
        assert raw.render(who="<b>Åsa</b>") == "Välkommen, <b>Åsa</b>"
    with app.test_request_context("/"):
        session["lang"] = "en"
        assert html.render(who="Åsa & Bo") == "Welcome, Åsa &amp; Bo"


def test_template_gettext_without_variables_is_the_newstyle_gettexts_markup(app):
    """A string without variables is kept per language: still translated per language, still markup, and "%%"
    still one "%", as Jinja's own newstyle gettext gives (`Markup(translation) % {}`)."""
    from flask import session
    from markupsafe import Markup

    env = app.jinja_env
    page = env.from_string('{{ _("Logga ut") }}|{{ _("100 %% loggat <ok>") }}|{{ _("Logga ut") }}')
    for lang, logout in (("sv", "Logga ut"), ("en", "Log out"), ("sv", "Logga ut")):
        with app.test_request_context("/"):
            session["lang"] = lang
            assert page.render() == f"{logout}|100 % loggat <ok>|{logout}"
            assert Markup("100 %% loggat <ok>") % {} == "100 % loggat <ok>"


def _lazy_labels():
    """Every lazy string the app's label tables hold (states, focus areas, intakes, roles, catalogues...)."""
    import importlib

    from flask_babel.speaklater import LazyString

    found = []
    for name in ("caseapp.cases.workflow", "caseapp.cases.catalogue", "caseapp.referrals.catalogue",
                 "caseapp.violence.catalogue", "caseapp.accounts.models", "caseapp.people.models",
                 "caseapp.supervision.emergency"):
        module = importlib.import_module(name)
        for value in vars(module).values():
            items = value.values() if isinstance(value, dict) else [value]
            found += [v for v in items if isinstance(v, LazyString)]
    return found


def test_lazy_strings_give_flask_babels_text_in_each_language_and_outside_requests(app):
    from flask import session
    from flask_babel import lazy_gettext as babel_lazy

    from caseapp.i18n import KeptLazyString, lazy_gettext

    labels = _lazy_labels()
    assert len(labels) > 30 and all(isinstance(label, KeptLazyString) for label in labels)
    samples = [(lazy_gettext("Utredning"), babel_lazy("Utredning")),
               (lazy_gettext("Logga ut"), babel_lazy("Logga ut")),
               (lazy_gettext("Ärendet kan inte gå från %(a)s till %(b)s.", a="X", b="<Y>"),
                babel_lazy("Ärendet kan inte gå från %(a)s till %(b)s.", a="X", b="<Y>")),
               (lazy_gettext("Okänd text utan översättning"), babel_lazy("Okänd text utan översättning"))]
    seen = {}
    for lang in ("sv", "en", "sv", "en"):
        with app.test_request_context("/"):
            session["lang"] = lang
            for ours, theirs in samples:
                assert str(ours) == str(theirs) and ours.__html__() == theirs.__html__()
            texts = [str(label) for label in labels]
            for label, text in zip(labels, texts, strict=True):
                assert text == str(babel_lazy(*label._args, **label._kwargs)), (lang, label._args)
            seen.setdefault(lang, texts)
            assert seen[lang] == texts
    assert seen["sv"] != seen["en"]
    assert str(lazy_gettext("Utredning")) == "Utredning"  # outside a request: Swedish, as Flask-Babel gives
    with app.test_request_context("/"):
        session["lang"] = "en"
        assert str(lazy_gettext("Logga ut")) == "Log out"
