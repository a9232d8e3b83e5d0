"""The app's Jinja environment: Flask's, with template globals whose keys Jinja can compare cheaply.

Every `{% import %}` and `{% from ... import %}` asks whether the importing page's globals hold keys the
imported template's do not (jinja2 Template._get_default_module: `ctx.globals_keys - self.globals.keys()`).
A template's globals are a ChainMap over the environment's, and a set minus a ChainMap's keys view runs in
Python, one ChainMap lookup per global (the app has 34): about 22 µs per import, measured 2026-12-03, and the
case page imports four macro files per view. `TemplateGlobals.keys()` is a plain dict's keys view instead
(the same keys), which the set difference takes in C. Lookups, and changes to the environment's globals, work
as with ChainMap.

The templates' `{{ ... }}` are escaped by `escape` below instead of markupsafe's (the code generator imports it
into every compiled template after Jinja's runtime names). It gives the same Markup for every value; for the two
kinds that are nearly all of a page's ~420 outputs it skips markupsafe's Python-level steps: a plain str is
escaped by markupsafe's own C function straight into a Markup (without `Markup.__new__`, which asks the text for
`__html__` again), and a Markup, already safe and immutable, is given back as it is (markupsafe asks for
`__html__`, calls it and copies the result). Instructions per request (audit off): case page 20.64 -> 19.66 M
(-4.8 %), start page 19.61 -> 18.86 M (-3.8 %).
"""

from __future__ import annotations

from collections import ChainMap
from typing import Any

import markupsafe
from flask.templating import Environment
from jinja2.compiler import CodeGenerator
from markupsafe import Markup

# markupsafe's C escape of a str (its speedups module; the pure-Python one where that is missing). Not public:
# without it `escape` is markupsafe.escape itself (tests/test_templating.py fails, to say so).
_escape_inner = getattr(markupsafe, "_escape_inner", None)
_str_new = str.__new__
_markupsafe_escape = markupsafe.escape


def escape(s: Any, /) -> Markup:
    """markupsafe.escape(s), the same value and type, cheaper for a str or a Markup (see the module's doc)."""
    kind = type(s)
    if kind is str and _escape_inner is not None:
        return _str_new(Markup, _escape_inner(s))
    if kind is Markup:
        return s
    return _markupsafe_escape(s)


class CaseappCodeGenerator(CodeGenerator):
    """Jinja's code generator; each compiled template takes `escape` from this module instead of markupsafe."""

    RUNTIME_IMPORT = "from jinja2.runtime import "

    def writeline(self, x: str, node: Any = None, extra: int = 0) -> None:
        super().writeline(x, node, extra)
        if x.startswith(self.RUNTIME_IMPORT):
            super().writeline(f"from {__name__} import escape")


class TemplateGlobals(ChainMap):
    def keys(self):  # (the same keys as ChainMap's view, as a dict view: set operations on it run in C)
        return dict.fromkeys(self).keys()


class CaseappEnvironment(Environment):
    code_generator_class = CaseappCodeGenerator

    def make_globals(self, d: Any) -> TemplateGlobals:
        return TemplateGlobals(d if d is not None else {}, self.globals)
