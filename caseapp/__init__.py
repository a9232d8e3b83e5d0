"""caseapp: secure case management for the social services of Hässelby-Vällingby.

`create_app` builds the app: configuration (validated), extensions, security services and keys,
blueprints, the default-deny hook, one commit per request, security headers and error pages.
It refuses to build an app in which any endpoint lacks a permission declaration.
"""

from __future__ import annotations

import os
import secrets
import time
import uuid
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    g,
    has_request_context,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

import config as config_module
from caseapp.extensions import (
    PLAN_CACHE_MODES,
    babel,
    configure_pool_check,
    configure_postgresql,
    configure_sqlite,
    csrf,
    db,
    limiter,
    login_manager,
    migrate,
)
from caseapp.i18n import lazy_gettext as _l
from caseapp.security import audit, permissions, policy
from caseapp.security.services import init_security_services
from caseapp.templating import CaseappEnvironment
from caseapp.timeutil import utcnow
from caseapp.urls import CaseApp

BASE_DIR = Path(__file__).resolve().parent.parent


def create_app(
    config: type | dict[str, Any] | None = None,
    *,
    keys_required: bool = True,
    extra_blueprints: Iterable[Blueprint] = (),
) -> Flask:
    app = CaseApp(
        __name__,
        template_folder=str(BASE_DIR / "templates"),
        instance_path=str(config_module.INSTANCE_DIR),
        instance_relative_config=False,
    )
    app.jinja_environment = CaseappEnvironment  # (before the environment is first built: caseapp/templating.py)
    _configure(app, config)

    db.init_app(app)
    configure_sqlite(app)
    configure_pool_check(app)
    configure_postgresql(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale, timezone_selector=lambda: "Europe/Stockholm")
    limiter.init_app(app)
    init_security_services(app, keys_required=keys_required)

    _import_models()
    _register_blueprints(app, extra_blueprints)
    _register_hooks(app)
    _register_error_pages(app)
    _register_template_helpers(app)
    if app.config["TRUSTED_PROXY_COUNT"]:
        n = app.config["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    permissions.check_declarations(app)
    return app


def _configure(app: Flask, config: type | dict[str, Any] | None) -> None:
    cls = config if isinstance(config, type) else config_module.config_from_env()
    app.config.from_object(cls)
    cls.apply_env(app.config)
    if isinstance(config, dict):
        app.config.update(config)
    if not app.config.get("SECRET_KEY") and cls is config_module.DevelopmentConfig:
        app.config["SECRET_KEY"] = _development_secret(Path(app.instance_path))
    cls.validate(app.config)
    if app.config.get("AUDIT_READ_COMMIT") not in ("async", "sync"):
        raise config_module.ConfigError("AUDIT_READ_COMMIT must be async or sync")
    if app.config.get("DB_PLAN_CACHE_MODE") not in PLAN_CACHE_MODES:
        raise config_module.ConfigError("DB_PLAN_CACHE_MODE must be one of " + ", ".join(PLAN_CACHE_MODES))
    if not app.config.get("SECRET_KEY"):
        raise config_module.ConfigError("SECRET_KEY is not set")
    app.config["SESSION_COOKIE_SECURE"] = bool(app.config["SESSION_COOKIE_SECURE"])


def _development_secret(instance: Path) -> str:
    """A random secret made once per development checkout (instance/secret_key, mode 0600)."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


def _import_models() -> None:
    # Every model module, so metadata (and Alembic) sees all tables.
    from caseapp.accounts import models as _accounts  # noqa: F401
    from caseapp.cases import models as _cases  # noqa: F401
    from caseapp.people import models as _people  # noqa: F401
    from caseapp.protection import models as _protection  # noqa: F401
    from caseapp.referrals import models as _referrals  # noqa: F401
    from caseapp.security import audit as _audit  # noqa: F401
    from caseapp.supervision import models as _supervision  # noqa: F401
    from caseapp.violence import models as _violence  # noqa: F401


def _register_blueprints(app: Flask, extra: Iterable[Blueprint]) -> None:
    from caseapp.accounts.routes import bp as accounts_bp
    from caseapp.admin.routes import bp as admin_bp
    from caseapp.cases.routes import bp as cases_bp
    from caseapp.main.routes import bp as main_bp
    from caseapp.people.routes import bp as people_bp
    from caseapp.protection.routes import bp as protection_bp
    from caseapp.referrals.routes import bp as referrals_bp
    from caseapp.supervision.routes import bp as supervision_bp
    from caseapp.violence.routes import bp as violence_bp

    for bp in (main_bp, accounts_bp, admin_bp, supervision_bp, people_bp, cases_bp, protection_bp, referrals_bp,
               violence_bp, *extra):
        app.register_blueprint(bp)


def _select_locale() -> str:
    if not has_request_context():
        return "sv"  # CLI commands and background work speak Swedish
    lang = session.get("lang")
    return lang if lang in ("sv", "en") else "sv"


@cache
def _user_statement():
    """The signed-in user with their unit (every page shows it and the access policy reads it) and their active
    emergency grants (the access policy needs them on every list: policy.emergency_ids_column), and how many
    recovery codes they have left (the start page shows it: accounts.operations.unused_codes_column): one
    statement instead of four, built once per process. `session.get` with a loader option built the option and the
    statement, and their cache key, on every request (about 0.1 ms of a 1.2 ms bare request)."""
    from sqlalchemy import bindparam, select

    from caseapp.accounts.models import User
    from caseapp.accounts.operations import unused_codes_column

    return (select(User, policy.emergency_ids_column(User.id), unused_codes_column(User.id))
            .options(joinedload(User.unit)).where(User.id == bindparam("uid")))


@login_manager.user_loader
def _load_user(user_id: str):
    raw_id, _, version = user_id.partition(".")
    try:
        uid = uuid.UUID(raw_id)
        version_no = int(version)
    except ValueError:
        return None
    row = db.session.execute(_user_statement(), {"uid": uid, "emergency_now": utcnow()}).unique().one_or_none()
    if row is None:
        return None
    from caseapp.accounts.operations import remember_unused_recovery_codes

    user, emergency_ids, unused_codes = row
    if user.session_version != version_no or not user.is_active:
        return None
    policy.remember_emergency_case_ids(user, emergency_ids)
    remember_unused_recovery_codes(user, unused_codes)
    return user


login_manager.login_view = "accounts.login"
login_manager.login_message = None
login_manager.session_protection = "basic"


# The session cookie is signed again only when the session changes (SESSION_REFRESH_EACH_REQUEST = False), and
# the last activity is written at most every LAST_SEEN_STEP seconds: re-signing and re-serialising the cookie on
# every request cost about 0.15 ms of each page. The idle timeout may therefore end a session up to this many
# seconds early (30 minutes of inactivity are counted from a point at most 30 s before the last request).
LAST_SEEN_STEP = 30.0


def _register_hooks(app: Flask) -> None:
    idle = app.config["IDLE_TIMEOUT"].total_seconds()
    absolute = app.config["ABSOLUTE_TIMEOUT"].total_seconds()

    @app.before_request
    def _request_context() -> Any:
        g.request_id = uuid.uuid4().hex
        if not session.permanent:  # (assigning it marks the session modified, which re-signs the cookie)
            session.permanent = True

    @app.before_request
    def _session_timeouts() -> Any:
        if not current_user.is_authenticated:
            return None
        now = time.time()
        login_at = session.get("login_at", 0)
        last_seen = session.get("last_seen", 0)
        if now - last_seen > idle or now - login_at > absolute:
            reason = "idle" if now - login_at <= absolute else "absolute"
            audit.record("session_timeout", actor=current_user._get_current_object(),
                         details={"reason": reason})
            logout_user()
            lang = session.get("lang")
            session.clear()
            if lang:
                session["lang"] = lang
            session["flash_timeout"] = reason
            return redirect(url_for("accounts.login"))
        if now - last_seen >= LAST_SEEN_STEP:
            session["last_seen"] = now
        return None

    @app.before_request
    def _default_deny() -> Any:
        endpoint = request.endpoint
        if endpoint is None:
            return None  # no such route: the 404 handler answers
        view = app.view_functions.get(endpoint)
        permission = permissions.declared_permission(view) if view else None
        if endpoint in permissions.BUILTIN_PUBLIC_ENDPOINTS or permission == permissions.PUBLIC:
            return None
        if permission is None:  # cannot happen past the start-up check; refuse anyway
            policy.deny(None, object_type="endpoint", object_id=endpoint)
        if not current_user.is_authenticated:
            audit.record("denied", outcome="denied", actor=None, object_type="endpoint",
                         object_id=endpoint, details={"reason": "anonymous"}, persist_on_failure=True)
            if request.method == "GET":
                return login_manager.unauthorized()
            abort(401)
        if current_user.must_change_password and endpoint not in ("accounts.change_password", "accounts.logout",
                                                                  "main.set_language"):
            return redirect(url_for("accounts.change_password"))
        if not policy.has_permission(current_user, permission):
            policy.deny(current_user, permission=permission, object_type="endpoint", object_id=endpoint)
        return None

    @app.after_request
    def _finish(response):
        _security_headers(app, response)
        if response.status_code < 400:
            # The request's last commit: nothing reads the request's objects after it (the session is removed
            # at teardown), so they are not expired one by one (SQLAlchemy's expire_on_commit walked every object
            # loaded for the page: about 1 % of the case page).
            db_session = db.session()  # (not Flask's `session`, imported above)
            db_session.expire_on_commit = False
            try:
                db_session.commit()
            finally:
                db_session.expire_on_commit = True
            audit.discard_sticky_events()
        else:
            db.session.rollback()
            audit.persist_sticky_events()
        return response

    @app.teardown_request
    def _teardown(exc: BaseException | None) -> None:
        if exc is not None:
            db.session.rollback()


def _security_headers(app: Flask, response) -> None:
    h = response.headers
    h["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; object-src 'none'"
    )
    h["X-Content-Type-Options"] = "nosniff"
    h["X-Frame-Options"] = "DENY"
    h["Referrer-Policy"] = "no-referrer"
    h["Cross-Origin-Opener-Policy"] = "same-origin"
    h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if app.config.get("HSTS"):
        h["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if request.endpoint != "static":
        h["Cache-Control"] = "no-store"
        h["Pragma"] = "no-cache"


ERROR_TEXTS = {
    400: (_l("Felaktig begäran"), _l("Begäran kunde inte behandlas. Gå tillbaka och försök igen.")),
    401: (_l("Inloggning krävs"), _l("Du måste logga in för att se sidan.")),
    403: (_l("Åtkomst nekad"), _l("Du har inte behörighet till sidan. Försöket har loggats.")),
    404: (_l("Sidan finns inte"), _l("Sidan finns inte, eller så har du inte behörighet att se den.")),
    405: (_l("Metoden är inte tillåten"), _l("Sidan kan inte användas på det sättet.")),
    413: (_l("För stor begäran"), _l("Det du skickade är för stort.")),
    429: (_l("För många försök"), _l("Du har gjort för många försök. Vänta en stund och försök igen.")),
    500: (_l("Något gick fel"), _l("Ett tekniskt fel uppstod. Inget har sparats. Försök igen eller kontakta support.")),
}


def _register_error_pages(app: Flask) -> None:
    def render_error(code: int):
        title, text = ERROR_TEXTS.get(code, ERROR_TEXTS[500])
        return render_template("errors/error.html", code=code, title=str(title), text=str(text),
                               request_id=g.get("request_id")), code

    @app.errorhandler(CSRFError)
    def _csrf_error(err):
        title, text = _("Formuläret har gått ut"), _("Sidan var för gammal. Ladda om den och försök igen.")
        return render_template("errors/error.html", code=400, title=title, text=text,
                               request_id=g.get("request_id")), 400

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        return render_error(err.code or 500)

    @app.errorhandler(Exception)
    def _unhandled(err: Exception):
        app.logger.exception("unhandled error in request %s", g.get("request_id"))
        db.session.rollback()
        return render_error(500)


def _register_template_helpers(app: Flask) -> None:
    from caseapp.timeutil import local_text

    @app.context_processor
    def _helpers() -> dict[str, Any]:
        user = current_user._get_current_object()  # once per render, not through the proxy per call
        return {
            "can": lambda permission: policy.has_permission(user, permission),
            "current_lang": _select_locale(),
        }

    app.add_template_filter(local_text, "localtime")
