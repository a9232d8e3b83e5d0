"""The app's Jinja environment (caseapp/templating.py): template globals with a plain dict keys view, and the
same templates, imports and globals as Jinja's own ChainMap gives."""

from __future__ import annotations

import functools
from collections import ChainMap

import markupsafe
from jinja2 import DictLoader, Environment, Undefined, pass_context, pass_environment, pass_eval_context

from caseapp import templating
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


# --------------------------------------------------------------------------- the templates' escape


class _Html:
    def __html__(self):
        return "<i>säker</i>"


class _Text(str):
    pass


class _HtmlText(str):
    def __html__(self):
        return "<u>" + self + "</u>"


class _Safe(markupsafe.Markup):
    pass


ESCAPE_CASES = ["", "plain", "<script>alert('x')</script>", 'a "b" & c', "å ä ö – ✓", "\x00\n\t",
                markupsafe.Markup("<b>fet</b>"), markupsafe.Markup(""), _Safe("<s>x</s>"), _Text("<t>"),
                _HtmlText("x"), _Html(), 42, 3.5, None, True, ["<li>"], Undefined()]


def test_escape_gives_what_markupsafe_gives_for_every_kind_of_value():
    assert templating._escape_inner is not None  # markupsafe's C escape is found: the fast path is taken
    for value in ESCAPE_CASES:
        ours, theirs = templating.escape(value), markupsafe.escape(value)
        assert ours == theirs and type(ours) is type(theirs) is markupsafe.Markup, repr(value)


def test_every_template_of_the_app_is_compiled_with_it(app):
    names = [n for n in app.jinja_env.list_templates() if n.endswith(".html")]
    assert len(names) > 50
    for name in names:
        source = app.jinja_env.loader.get_source(app.jinja_env, name)[0]
        code = app.jinja_env.compile(source, name, raw=True).splitlines()
        runtime = next(i for i, line in enumerate(code) if line.startswith("from jinja2.runtime import "))
        assert code[runtime + 1] == "from caseapp.templating import escape", name
        template = app.jinja_env.get_template(name)
        assert template.root_render_func.__globals__["escape"] is templating.escape, name


def test_pages_render_as_with_markupsafes_escape(app):
    source = ("{{ a }}|{{ b }}|{{ c }}|{{ d }}|{{ e }}|{{ f }}|{{ a ~ b }}|{{ b|upper }}|{{ g|join(', ') }}|"
              "{% set x %}<p>{{ a }}</p>{% endset %}{{ x }}|{% macro m(v) %}<em>{{ v }}</em>{% endmacro %}{{ m(a) }}")
    values = {"a": "<b>\"x\" & 'y'</b>", "b": markupsafe.Markup("<i>ok</i>"), "c": None, "d": 7, "e": _Html(),
              "f": _Text("<t>"), "g": ["<1>", markupsafe.Markup("<2>")]}
    ours = app.jinja_env.from_string(source).render(**values)
    plain = Environment(autoescape=True).from_string(source).render(**values)
    assert ours == plain
    assert "&lt;b&gt;&#34;x&#34; &amp; &#39;y&#39;&lt;/b&gt;" in ours and "<i>ok</i>" in ours


# --------------------------------------------------------------------------- the templates' calls


class _Caller:
    def plain(self, x):
        return f"m{x}"

    @pass_context
    def with_context(self, ctx, x):
        return f"mc{ctx['who']}{x}"

    @pass_context
    def __call__(self, ctx, x):
        return f"obj{ctx['who']}{x}"


def _stop():
    raise StopIteration


CALL_TEMPLATE = (
    "{{ plain(1) }}|{{ plain(2, extra='e') }}|{{ ctx(3) }}|{{ evalctx(4) }}|{{ envf(5) }}|{{ o.plain(6) }}|"
    "{{ o.with_context(7) }}|{{ o(8) }}|{{ part(9) }}|{{ builtin([3, 1]) }}|{{ d.get('k') }}|{{ stop() is undefined }}|"
    "{% macro mac(v) %}[{{ v }}]{% endmacro %}{{ mac(10) }}|"
    "{% for i in [1, 2] %}{{ plain(i) }}{{ ctx(i) }}{{ mac(i) }}{{ plain(i, extra=loop.index) }}{% endfor %}|"
    "{% block b %}{{ plain('b') }}{{ ctx('b') }}{% endblock %}"
)


def _call_values():
    def plain(x, extra=""):
        return f"p{x}{extra}"

    @pass_context
    def ctx(context, x):
        return f"c{context['who']}{x}"

    @pass_eval_context
    def evalctx(eval_ctx, x):
        return f"e{eval_ctx.autoescape}{x}"

    @pass_environment
    def envf(environment, x):
        return f"v{type(environment).__name__ != ''}{x}"

    return {"plain": plain, "ctx": ctx, "evalctx": evalctx, "envf": envf, "o": _Caller(),
            "part": functools.partial(plain, extra="-p"), "builtin": sorted, "d": {"k": "dv"}, "stop": _stop,
            "who": "W"}


def test_calls_in_templates_give_what_jinjas_context_gives(app):
    assert isinstance(app.jinja_env.from_string("x").new_context(), templating.CaseappContext)
    ours = app.jinja_env.from_string(CALL_TEMPLATE).render(**_call_values())
    plain = Environment(autoescape=True).from_string(CALL_TEMPLATE).render(**_call_values())
    assert ours == plain
    assert "cW3" in ours and "mcW7" in ours and "objW8" in ours and "eTrue4" in ours and "p9-p" in ours
    assert "|p1cW1[1]p11p2cW2[2]p22|pbcWb" in ours  # (the loop's calls and the block's)
