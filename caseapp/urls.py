"""URL building for the app (`CaseApp.url_for`) and safe redirect targets (only relative paths within this app)."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from flask import Flask
from flask.globals import _cv_request

_SENTINEL = uuid.UUID(int=0)
_KEPT = 4096


class CaseApp(Flask):
    """Flask, with `url_for` kept per endpoint for the calls that pages make by the dozen: an endpoint without
    values, or with one UUID (the record's id, in the path or the query string), or a static file. werkzeug
    builds each URL in tens of microseconds (the nav, the panels and the case page's links: about 3 % of the case
    page); a kept URL, or the endpoint's pattern with the id put in, is a dict lookup. Kept per script root, for
    relative URLs inside a request only; anything else (an anchor, a method, a scheme, an external URL, a
    blueprint-relative endpoint, other values, outside a request) is built by Flask as before. The URL map is
    fixed once the app serves. What is kept holds no record's values: an endpoint's own URL, a static file's, or
    a pattern with the id left out (the id is put in per call and not kept)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._kept_urls: dict[tuple, str | tuple[str, str]] = {}

    def url_for(self, endpoint: str, /, *, _anchor=None, _method=None, _scheme=None, _external=None,
                **values) -> str:
        if (_anchor is None and _method is None and _scheme is None and not _external and endpoint[:1] != "."
                and len(values) <= 1 and not self.url_default_functions):
            ctx = _cv_request.get(None)
            if ctx is not None:
                if not values:
                    key = (ctx.request.script_root, endpoint)
                    url = self._kept_urls.get(key)
                    if url is None:
                        url = self._keep(key, super().url_for(endpoint))
                    return url
                ((name, value),) = values.items()
                if type(value) is uuid.UUID:
                    key = (ctx.request.script_root, endpoint, name)
                    parts = self._kept_urls.get(key)
                    if parts is None:
                        built = super().url_for(endpoint, **{name: _SENTINEL})
                        if built.count(str(_SENTINEL)) != 1:
                            return super().url_for(endpoint, **values)
                        parts = self._keep(key, tuple(built.split(str(_SENTINEL))))
                    return f"{parts[0]}{value}{parts[1]}"
                if endpoint == "static" and name == "filename" and type(value) is str:
                    key = (ctx.request.script_root, endpoint, name, value)
                    url = self._kept_urls.get(key)
                    if url is None:
                        url = self._keep(key, super().url_for(endpoint, **values))
                    return url
        return super().url_for(endpoint, _anchor=_anchor, _method=_method, _scheme=_scheme, _external=_external,
                               **values)

    def _keep(self, key: tuple, url):
        if len(self._kept_urls) >= _KEPT:  # (a bound: script roots and static names are few)
            self._kept_urls.clear()
        self._kept_urls[key] = url
        return url


def safe_next(target: str | None) -> str | None:
    """Return `target` if it is a plain relative path ("/cases/1?x=y"), else None.

    Refuses absolute URLs, scheme-relative URLs ("//evil"), backslash tricks ("/\\evil"), control
    characters and anything with a scheme or host.
    """
    if not target or len(target) > 2000:
        return None
    if any(ord(c) < 32 or c == "\\" for c in target):
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
