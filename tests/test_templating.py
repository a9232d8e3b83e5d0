"""The app's Jinja environment (caseapp/templating.py): template globals with a plain dict keys view, and the
same templates, imports and globals as Jinja's own ChainMap gives."""

from __future__ import annotations

from collections import ChainMap

from jinja2 import DictLoader

from caseapp.templating import CaseappEnvironment, TemplateGlobals

TEMPLATES = {
    "macros.html": "{% macro hello(n) %}Hej {{ n }}{% if extra is defined %} ({{ extra }}){% endif %}{% endmacro %}",
    "page.html": '{% import "macros.html" as m %}{% from "macros.html" import hello %}'
                 "{{ m.hello(name) }} / {{ hello(greeting) }}",
}


def _environment(app, plain: bool):
    env = CaseappEnvironment(app, loader=DictLoader(TEMPLATES))
    env.globals["greeting"] = "världen"
    if plain:  # Jinja's own behaviour, to compare with
        env.make_globals = lambda d: ChainMap(d if d is not None else {}, env.globals)
    return env


def test_the_app_renders_with_its_environment(app):
    assert isinstance(app.jinja_env, CaseappEnvironment)
    template = app.jinja_env.get_template("base.html")
    assert isinstance(template.globals, TemplateGlobals)
    assert set(template.globals.keys()) == set(ChainMap(*template.globals.maps).keys())


def test_imports_and_globals_render_as_with_jinjas_chainmap(app):
    for extra_globals in (None, {"extra": "x"}, {"greeting": "alla"}):
        outputs = []
        for plain in (False, True):
            env = _environment(app, plain)
            template = env.get_template("page.html", globals=extra_globals)
            outputs.append(template.render(name="Anna"))
            env.globals["greeting"] = "sen"  # a change to the environment's globals is seen
            outputs.append(env.get_template("page.html", globals=extra_globals).render(name="Anna"))
        assert outputs[:2] == outputs[2:], extra_globals
    assert outputs[0] == "Hej Anna / Hej alla"


def test_keys_follow_the_maps():
    base = {"a": 1, "b": 2}
    globals_ = TemplateGlobals({"c": 3}, base)
    base["d"] = 4
    assert list(globals_.keys()) == list(ChainMap({"c": 3}, base).keys())
    assert {"a", "x"} - globals_.keys() == {"x"}
