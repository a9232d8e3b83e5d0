"""CaseApp.url_for keeps URLs and URL patterns per endpoint (caseapp/urls.py): every URL it gives must be the one
Flask builds, for every route of the app, under any script root, and calls it does not keep must reach Flask."""

from __future__ import annotations

import uuid

from flask import Flask

from caseapp.urls import CaseApp


def _flask(app, endpoint, **values):
    return Flask.url_for(app, endpoint, **values)


def _rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static"]


def test_every_route_is_built_as_flask_builds_it(app):
    assert isinstance(app, CaseApp)
    record = uuid.uuid4()
    checked = 0
    for root in ("", "/kommun/socialtjanst"):
        for _round in range(2):  # (the second round answers from what the first one kept)
            with app.test_request_context("/", base_url="http://localhost" + root):
                for rule in _rules(app):
                    args = sorted(rule.arguments)
                    if not args:
                        assert app.url_for(rule.endpoint) == _flask(app, rule.endpoint)
                        # an id given to a route without one goes to the query string
                        assert (app.url_for(rule.endpoint, aldre=record)
                                == _flask(app, rule.endpoint, aldre=record))
                        checked += 1
                    elif len(args) == 1 and rule._converters[args[0]].__class__.__name__ == "UUIDConverter":
                        for value in (record, uuid.uuid4()):
                            got = app.url_for(rule.endpoint, **{args[0]: value})
                            assert got == _flask(app, rule.endpoint, **{args[0]: value})
                            assert str(value) in got and got.startswith(root + "/")
                        checked += 1
                assert app.url_for("static", filename="app.css") == _flask(app, "static", filename="app.css")
    assert checked > 100  # (the app's routes, both kinds)


def test_other_calls_are_left_to_flask(app):
    record = uuid.uuid4()
    with app.test_request_context("/"):
        some = next(r.endpoint for r in _rules(app) if not r.arguments and "GET" in r.methods)
        assert app.url_for(some, _anchor="x") == _flask(app, some, _anchor="x")
        assert app.url_for(some, _external=True) == _flask(app, some, _external=True)
        assert app.url_for(some, _external=True).startswith("http")
        assert app.url_for(some, a="b", c="d") == _flask(app, some, a="b", c="d")
        assert app.url_for(some, page=3) == _flask(app, some, page=3)
        assert app.url_for(some, q=str(record)) == _flask(app, some, q=str(record))
    app.config["SERVER_NAME"] = "caseapp.test"  # (outside a request Flask decides: external by default)
    try:
        with app.app_context():
            assert app.url_for(some) == _flask(app, some) == f"http://caseapp.test{_flask_path(app, some)}"
    finally:
        app.config["SERVER_NAME"] = None


def _flask_path(app, endpoint):
    with app.test_request_context("/"):
        return _flask(app, endpoint)


def test_a_kept_pattern_is_per_script_root(app):
    record = uuid.uuid4()
    rule = next(r for r in _rules(app) if r.endpoint == "cases.view")
    with app.test_request_context("/", base_url="http://localhost/a"):
        first = app.url_for(rule.endpoint, case_id=record)
    with app.test_request_context("/", base_url="http://localhost/b"):
        second = app.url_for(rule.endpoint, case_id=record)
    assert first == f"/a/arenden/{record}" and second == f"/b/arenden/{record}"
