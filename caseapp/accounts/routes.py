"""Login (password, then second factor), enrolment, recovery codes, logout and password change."""

from __future__ import annotations

import time
import uuid

import segno
from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from markupsafe import Markup

from caseapp.accounts import operations as ops
from caseapp.accounts.forms import CodeForm, LoginForm, PasswordChangeForm, RecoveryForm
from caseapp.accounts.models import User
from caseapp.extensions import db, limiter
from caseapp.security import audit
from caseapp.security import auth as authlib
from caseapp.security.permissions import public, requires
from caseapp.urls import safe_next

bp = Blueprint("accounts", __name__)

PENDING_SECONDS = 300


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _generic_failure() -> str:
    return _("Inloggningen misslyckades. Kontrollera uppgifterna och försök igen. "
             "Efter upprepade misslyckade försök spärras kontot tillfälligt.")


def _pending_user() -> User | None:
    raw = session.get("pending_uid")
    started = session.get("pending_at", 0)
    if not raw or time.time() - started > PENDING_SECONDS:
        return None
    user_id, _, version = raw.partition(".")
    try:
        user = db.session.get(User, uuid.UUID(user_id))
    except ValueError:
        return None
    if user is None or str(user.session_version) != version or not user.is_active:
        return None
    return user


def _establish_session(user: User):
    """Start a fresh session for a fully authenticated user and go to where they were heading."""
    target = safe_next(session.get("login_next"))
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    login_user(user)
    session["login_at"] = session["last_seen"] = time.time()
    return redirect(target or url_for("main.index"))


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
    notice = None
    reason = session.pop("flash_timeout", None)
    if reason == "idle":
        notice = _("Du har loggats ut efter 30 minuters inaktivitet.")
    elif reason == "absolute":
        notice = _("Din session har nått sin längsta tid. Logga in igen.")
    if form.validate_on_submit():
        result = ops.check_password_login(form.username.data, form.password.data)
        if result.outcome is ops.LoginOutcome.OK and result.user is not None:
            user = result.user
            if not current_app.config["MFA_REQUIRED"]:
                session["login_next"] = safe_next(form.next.data)
                return _establish_session(user)
            lang = session.get("lang")
            session.clear()
            if lang:
                session["lang"] = lang
            session["pending_uid"] = user.get_id()
            session["pending_at"] = time.time()
            session["login_next"] = safe_next(form.next.data)
            return redirect(url_for("accounts.second_factor" if user.mfa_enrolled else "accounts.enroll"))
        flash(_generic_failure(), "error")
    return render_template("auth/login.html", form=form, notice=notice)


@bp.route("/login/kod", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"])
def second_factor():
    user = _pending_user()
    if user is None:
        return redirect(url_for("accounts.login"))
    if not user.mfa_enrolled:
        return redirect(url_for("accounts.enroll"))
    form = CodeForm()
    if form.validate_on_submit():
        if ops.verify_second_factor(user, form.code.data):
            return _establish_session(user)
        flash(_("Koden stämmer inte eller har redan använts. Vänta på nästa kod och försök igen."), "error")
    return render_template("auth/code.html", form=form)


@bp.route("/login/reservkod", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"])
def recovery():
    user = _pending_user()
    if user is None:
        return redirect(url_for("accounts.login"))
    form = RecoveryForm()
    if form.validate_on_submit():
        if ops.use_recovery_code(user, form.code.data):
            flash(_("Reservkoden är förbrukad. Du har %(n)s kvar.",
                    n=sum(1 for rc in user.recovery_codes if rc.used_at is None)), "info")
            return _establish_session(user)
        flash(_("Reservkoden stämmer inte eller har redan använts."), "error")
    return render_template("auth/recovery.html", form=form)


@bp.route("/login/aktivera", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"])
def enroll():
    user = _pending_user()
    if user is None:
        return redirect(url_for("accounts.login"))
    if user.mfa_enrolled:
        return redirect(url_for("accounts.second_factor"))
    secret = ops.totp_secret(user) or ops.begin_enrolment(user)
    form = CodeForm()
    if form.validate_on_submit():
        codes = ops.confirm_enrolment(user, form.code.data)
        if codes is not None:
            target = safe_next(session.get("login_next"))
            _establish_session(user)
            return render_template("auth/recovery_codes.html", codes=codes, target=target or url_for("main.index"))
        flash(_("Koden stämmer inte. Kontrollera att klockan i telefonen går rätt och försök igen."), "error")
    uri = authlib.totp_uri(secret, user.username)
    # segno renders the QR matrix as SVG paths; no user-supplied text ends up in the markup.
    qr_svg = Markup(segno.make(uri, error="m").svg_inline(scale=5, border=2, dark="#111", light="#fff", omitsize=True))  # noqa: S704
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return render_template("auth/enroll.html", form=form, qr_svg=qr_svg, secret=grouped)


@bp.post("/logout")
@public
def logout():
    if current_user.is_authenticated:
        audit.record("logout", actor=current_user._get_current_object())
        logout_user()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("Du är utloggad."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/konto/losenord", methods=["GET", "POST"])
@requires("account.self")
def change_password():
    form = PasswordChangeForm()
    user = current_user._get_current_object()
    if form.validate_on_submit():
        try:
            ops.change_password(user, form.current.data, form.new.data)
        except ops.AccountError as err:
            db.session.rollback()
            flash(str(err), "error")
            return render_template("auth/password.html", form=form), 422
        login_at = session.get("login_at")
        login_user(user)  # the session follows the new session version; all others end
        session["login_at"] = login_at
        flash(_("Lösenordet är ändrat. Dina andra inloggningar har avslutats."), "info")
        return redirect(url_for("main.index"))
    status = 422 if form.is_submitted() else 200
    return render_template("auth/password.html", form=form), status
