"""The base of every form in the app: FlaskForm (CSRF) whose common widgets render without WTForms' per-call
overhead, to the same HTML.

WTForms renders each field through `html_params` (a Markup `format` and `replace` per attribute), lists the
field's flags with `dir()` on every call, and for every option of a select inspects the signature of
`render_option` (`inspect.signature`, to support an older override). The case page's two or three fields cost
about 6 % of the page that way (py-spy, 2026-12-04). `AppForm.Meta.render_field` renders the widgets the app
uses as they are (a select, a text area, the plain inputs: text, date, number, hidden and the like) with the
same attribute order, escaping and markup; any other widget, or a subclass of one, goes to WTForms as before.
tests/test_forms_render.py renders every field of every form both ways and compares the strings.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import widgets
from wtforms.widgets.core import clean_key


def html_params(kwargs: dict) -> str:
    """`wtforms.widgets.html_params(**kwargs)`, as a plain string: sorted by name, True as a bare attribute,
    False left out, values escaped and any double quote left in a Markup value written as &quot;."""
    parts = []
    for key in sorted(kwargs):
        value = kwargs[key]
        if value is False:
            continue
        key = escape(clean_key(key))
        if value is True:
            parts.append(str(key))
        else:
            parts.append(f'{key}="{str(escape(value)).replace(chr(34), "&quot;")}"')
    return " ".join(parts)


def _flags(field, names, kwargs: dict, call: bool) -> None:
    """The field's validation flags among `names` that the call did not give (WTForms reads them with dir())."""
    flags = getattr(getattr(field, "flags", None), "__dict__", None)
    if not flags:
        return
    for name in names:
        if name in flags and name not in kwargs:
            value = flags[name]
            kwargs[name] = value() if call and callable(value) else value


def _select(widget: widgets.Select, field, kwargs: dict) -> Markup:
    kwargs.setdefault("id", field.id)
    if widget.multiple:
        kwargs["multiple"] = True
    _flags(field, widget.validation_attrs, kwargs, call=False)
    kwargs["name"] = field.name
    html = [f"<select {html_params(kwargs)}>"]
    if field.has_groups():
        for optgroup, choices in field._iter_groups_normalized():
            if optgroup is not None:
                html.append(f"<optgroup {html_params({'label': optgroup})}>")
            html.extend(_option(choice) for choice in choices)
            if optgroup is not None:
                html.append("</optgroup>")
    else:
        html.extend(_option(choice) for choice in field._iter_choices_normalized())
    html.append("</select>")
    return Markup("".join(html))  # noqa: S704 (every value and label escaped above, as WTForms does)


def _option(choice) -> str:
    value = choice.value
    if isinstance(value, bool):
        value = str(value)
    options = {"value": value, **(choice.render_kw or {})}
    if choice.selected:
        options["selected"] = True
    return f"<option {html_params(options)}>{escape(choice.label or choice.value)}</option>"


def _text_area(widget: widgets.TextArea, field, kwargs: dict) -> Markup:
    kwargs.setdefault("id", field.id)
    _flags(field, widget.validation_attrs, kwargs, call=False)
    kwargs["name"] = field.name
    return Markup(f"<textarea {html_params(kwargs)}>\r\n{escape(field._value())}</textarea>")  # noqa: S704 (escaped)


def _input(widget: widgets.Input, field, kwargs: dict) -> Markup:
    kwargs.setdefault("id", field.id)
    kwargs.setdefault("type", widget.input_type)
    if "value" not in kwargs:
        kwargs["value"] = field._value()
    datalist = getattr(field, "_datalist", None)
    if datalist is not None and "list" not in kwargs:
        kwargs["list"] = datalist if isinstance(datalist, str) else datalist.id
    _flags(field, getattr(widget, "validation_attrs", ()), kwargs, call=True)
    kwargs["name"] = field.name
    return Markup(f"<input {html_params(kwargs)}>")  # noqa: S704 (escaped by html_params)


def _renderer(widget):
    """The fast renderer for this widget, or None (WTForms renders it). Only the classes themselves: a subclass
    may render differently (a checkbox adds `checked`, a password input hides its value)."""
    kind = type(widget)
    if kind is widgets.Select:
        return _select
    if kind is widgets.TextArea:
        return _text_area
    if kind in _PLAIN_INPUTS:
        return _input
    return None


# Input subclasses that only set input_type and validation_attrs (Input.__call__ renders them as they are).
_PLAIN_INPUTS = frozenset(
    cls for cls in (widgets.TextInput, widgets.HiddenInput, widgets.DateInput, widgets.DateTimeInput,
                    widgets.DateTimeLocalInput, widgets.TimeInput, widgets.NumberInput, widgets.EmailInput,
                    widgets.SearchInput, widgets.TelInput, widgets.URLInput, widgets.MonthInput,
                    widgets.WeekInput, widgets.ColorInput, widgets.RangeInput)
    if cls.__call__ is widgets.Input.__call__)


class AppForm(FlaskForm):
    class Meta:
        def render_field(self, field, render_kw):
            render = _renderer(field.widget)
            if render is None:
                return super().render_field(field, render_kw)
            # (as DefaultMeta.render_field: the call's arguments over the field's render_kw, keys cleaned)
            kwargs = {clean_key(k): v for k, v in render_kw.items()}
            other = getattr(field, "render_kw", None)
            if other:
                kwargs = {**{clean_key(k): v for k, v in other.items()}, **kwargs}
            return render(field.widget, field, kwargs)
