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
`__html__`, calls it and copies the result). With CaseappContext and caseapp.i18n's lazy strings (the three
changes together, instructions per request with the audit off, the WAL emptied before each run): case page
20.61 -> 18.95 M (-8.1 %), start page 20.30 -> 19.05 M (-6.1 %); BENCHMARKS.md has each one's count.
"""

from __future__ import annotations

from collections import ChainMap
from types import BuiltinFunctionType, FunctionType, MethodType
from typing import Any

import markupsafe
from flask.templating import Environment
from jinja2.compiler import CodeGenerator
from jinja2.runtime import Context
from jinja2.utils import _PassArg, internalcode
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


class CaseappContext(Context):
    """Jinja's template context, with a shorter way through `call` (every `f(...)` in a template: ~110 a page)
    for a plain function, a bound method or a builtin. Jinja asks each callable three times whether it wants the
    context, the evaluation context or the environment passed in (`jinja_pass_arg`, set by `pass_context` and its
    kin): on the callable's `__call__`, which Python makes anew as a method wrapper for each call, and twice on
    the callable itself, each lookup failing for most callables. A function keeps that mark in its `__dict__` (a
    method in its function's), and a builtin has none, so one dict lookup answers. The evaluation context and the
    environment are passed in as Jinja passes them (the templates' `_()` takes the evaluation context: half of a
    page's calls); a function that takes the context, and any other callable, goes to Jinja's `call`, which
    derives the context for loop and block variables. The keyword arguments Jinja adds for its own use are
    dropped as Jinja drops them."""

    @internalcode
    def call(__self, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 (Jinja's own signature)
        kind = type(__obj)
        if kind is FunctionType:
            mark = __obj.__dict__.get("jinja_pass_arg")
        elif kind is MethodType and type(__obj.__func__) is FunctionType:
            mark = __obj.__func__.__dict__.get("jinja_pass_arg")
        elif kind is BuiltinFunctionType:
            mark = None
        else:
            return Context.call(__self, __obj, *args, **kwargs)
        if mark is not None:
            if mark is _PassArg.eval_context:
                args = (__self.eval_ctx, *args)
            elif mark is _PassArg.environment:
                args = (__self.environment, *args)
            else:
                return Context.call(__self, __obj, *args, **kwargs)
        if kwargs:
            kwargs.pop("_block_vars", None)
            kwargs.pop("_loop_vars", None)
        try:
            return __obj(*args, **kwargs)
        except StopIteration:
            return __self.environment.undefined("value was undefined because a callable raised a"
                                                " StopIteration exception")


class TemplateGlobals(ChainMap):
    def keys(self):  # (the same keys as ChainMap's view, as a dict view: set operations on it run in C)
        return dict.fromkeys(self).keys()


class CaseappEnvironment(Environment):
    code_generator_class = CaseappCodeGenerator
    context_class = CaseappContext

    def make_globals(self, d: Any) -> TemplateGlobals:
        return TemplateGlobals(d if d is not None else {}, self.globals)
