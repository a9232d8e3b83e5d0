"""Default deny: every endpoint refuses anonymous users; undeclared endpoints stop start-up; headers; errors."""

from __future__ import annotations

import uuid

import pytest
from flask import Blueprint

from caseapp.accounts.models import Role
from caseapp.security.permissions import MissingPermissionDeclaration, public, public_endpoints
from tests.conftest import audit_events

PUBLIC_ALLOWLIST = {"static", "accounts.login", "accounts.second_factor", "accounts.recovery", "accounts.enroll",
                    "accounts.logout", "main.set_language", "main.health"}


def _sample_url(app, rule) -> str:
    values = {}
    for arg in rule.arguments:
        conv = rule._converters[arg]
        name = type(conv).__name__
        values[arg] = uuid.uuid4() if name == "UUIDConverter" else (1 if "Integer" in name else "x")
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_public_allowlist_is_short_and_known(app):
    assert public_endpoints(app) == PUBLIC_ALLOWLIST


def test_every_endpoint_refuses_anonymous(app, anon_client):
    checked = 0
    for rule, method in _routes(app):
        if rule.endpoint in PUBLIC_ALLOWLIST:
            continue
        url = _sample_url(app, rule)
        before = len(audit_events("denied"))
        resp = anon_client.open(url, method=method)
        assert resp.status_code in (302, 401), (rule.endpoint, method, resp.status_code)
        if resp.status_code == 302:
            assert "/login" in resp.headers["Location"]
        assert len(audit_events("denied")) == before + 1, rule.endpoint
        checked += 1
    assert checked >= 6


def test_endpoint_without_declaration_stops_start_up(test_config):
    bp = Blueprint("forgotten", __name__)

    @bp.get("/forgotten")
    def forgotten():
        return "leak"

    with pytest.raises(MissingPermissionDeclaration, match="forgotten.forgotten"):
        _app_with(test_config, bp)


def _app_with(test_config, bp):
    import config as config_module
    from caseapp import create_app

    class Cfg(config_module.TestingConfig):
        pass

    for key, value in test_config.items():
        setattr(Cfg, key, value)
    return create_app(Cfg, extra_blueprints=[bp])


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.SYSTEMFORVALTARE])
def test_admin_endpoints_refuse_other_roles_and_audit(app, login_as, role):
    c, account = login_as(role, "unga")
    for rule, method in _routes(app):
        if not rule.endpoint.startswith("admin."):
            continue
        before = len(audit_events("denied", actor_user_id=account.id))
        resp = c.open(_sample_url(app, rule), method=method)
        assert resp.status_code == 403, (rule.endpoint, method)
        assert "Åtkomst nekad" in resp.get_data(as_text=True)
        denied = audit_events("denied", actor_user_id=account.id)
        assert len(denied) == before + 1
        assert denied[-1].details_dict["permission"] == "admin.users"


def test_security_headers_on_every_response(client):
    for url in ["/login", "/", "/health", "/no-such-page"]:
        h = client.get(url).headers
        csp = h["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert h["X-Content-Type-Options"] == "nosniff"
        assert h["Referrer-Policy"] == "no-referrer"
        assert h["Cache-Control"] == "no-store"


def test_hsts_only_in_production_config(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers


def test_error_pages_are_swedish_without_internals(test_config, db):
    bp = Blueprint("boom", __name__)

    @bp.get("/boom")
    @public
    def boom():
        raise RuntimeError("secret internals 18900101-9802")

    app = _app_with(test_config, bp)
    c = app.test_client()
    resp = c.get("/boom")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 500
    assert "Något gick fel" in body and "Traceback" not in body and "secret internals" not in body
    assert "18900101" not in body
    not_found = c.get("/finns-inte")
    assert not_found.status_code == 404 and "Sidan finns inte" in not_found.get_data(as_text=True)
    too_big = c.post("/login", data={"username": "x" * (3 * 1024 * 1024), "password": "y"})
    assert too_big.status_code == 413 and "För stor" in too_big.get_data(as_text=True)
    wrong_method = c.delete("/login")
    assert wrong_method.status_code == 405


def test_static_assets_are_self_hosted(client):
    body = client.get("/login").get_data(as_text=True)
    assert "http://" not in body.replace("http://www.w3.org", "") and "https://" not in body
    assert client.get("/static/css/app.css").status_code == 200
