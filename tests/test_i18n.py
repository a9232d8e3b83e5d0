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
