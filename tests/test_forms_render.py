"""caseapp.forms renders the common widgets itself (faster than WTForms): the HTML must be exactly WTForms' own,
for every field of every form in the app, empty and filled with awkward values, with and without errors, with
the attributes the templates pass."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.meta import DefaultMeta
from wtforms.validators import DataRequired, Length, NumberRange

import caseapp
from caseapp import forms

CALLS = [
    {},
    {"aria-describedby": "f-hint f-error", "aria-invalid": "true"},
    {"class_": 'wide "x"', "autofocus": True, "readonly": False, "data_x": "<b>&"},
    {"rows": 3, "placeholder": Markup('a "quoted" <i>markup</i>')},
]
AWKWARD = '<script>alert("x")</script> & \'å\' "ä"'


def _all_form_classes():
    for module in pkgutil.walk_packages(caseapp.__path__, "caseapp."):
        if module.name.endswith(".forms"):
            importlib.import_module(module.name)
    seen, todo = [], [forms.AppForm]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in seen:
                seen.append(sub)
                todo.append(sub)
    return seen


class _CallableFlag:
    """A validator whose flag is a callable (WTForms' inputs call it when rendering; the other widgets do not)."""

    field_flags = {"pattern": lambda: "[0-9]+", "required": True}

    def __call__(self, form, field):
        pass


class _Extra(forms.AppForm):
    """Widgets and flags the app's forms may not use today."""

    name = StringField("Namn <x>", validators=[DataRequired(), Length(max=40, min=2)])
    secret = PasswordField("Lösen")
    many = SelectMultipleField("Flera", choices=[("a", "A <a>"), ("b", 'B "b"'), ("", "tom")])
    grouped = SelectField("Grupper", choices=[
        SelectChoice("1", "Ett", optgroup="Grupp <1>"), SelectChoice("2", "Två", render_kw={"data_x": '"y"'},
                                                                     optgroup="Två"),
        SelectChoice(True, "sant", optgroup="Två"), SelectChoice("b", None)])
    count = IntegerField("Antal", validators=[NumberRange(min=0, max=9), _CallableFlag()])
    code = StringField("Kod", validators=[_CallableFlag()])
    day = DateField("Dag", render_kw={"max": "2026-12-31", "class": "short"})
    flag = BooleanField("Kryss")
    text = TextAreaField("Text", validators=[Length(max=100)], render_kw={"rows": 2, "maxlength": 2000})


def _forms():
    for cls in [*_all_form_classes(), _Extra]:
        try:
            empty = cls(formdata=None)
        except TypeError:  # (a form that needs arguments of its own)
            continue
        yield empty
        data = MultiDict()
        for field in empty:
            data.add(field.name, AWKWARD)
            data.add(field.name, "b")
        yield cls(formdata=data, meta={"csrf": False})


@pytest.mark.parametrize("call", range(len(CALLS)))
def test_every_field_renders_as_wtforms_does(app, call):
    fast_paths = 0
    with app.test_request_context("/"):
        for form in _forms():
            for field in form:
                if getattr(field, "choices", ...) is None:  # (choices the view sets)
                    field.choices = [("", "Välj …"), ("x", "X <x>"), ("b", "B")]
            form.validate()  # (errors where the data is wrong: templates render fields with errors too)
            for field in form:
                if forms._renderer(field.widget) is not None:
                    fast_paths += 1
                kwargs = dict(CALLS[call])
                expected = DefaultMeta.render_field(form.meta, field, dict(kwargs))
                got = form.meta.render_field(field, dict(kwargs))
                assert isinstance(got, Markup)
                assert str(got) == str(expected), (type(form).__name__, field.name)
    assert fast_paths > 100  # (the app's selects, text areas and inputs took the fast path)


def test_the_fast_path_is_the_forms_own_rendering(app):
    """`field()` in a template goes through AppForm's Meta (not WTForms' widget call)."""
    from caseapp.cases.forms import TransitionForm

    with app.test_request_context("/"):
        form = TransitionForm(formdata=None)
        form.target.choices = [("", "Välj …"), ("utredning", "Utredning")]
        calls = []
        original = forms._select

        def spy(*args):
            calls.append(args[1].name)
            return original(*args)

        forms._select = spy
        try:
            html = str(form.target())
        finally:
            forms._select = original
        assert calls == ["target"]
        assert html == ('<select id="target" name="target"><option value="">Välj …</option>'
                        '<option value="utredning">Utredning</option></select>')
