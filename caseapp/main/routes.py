"""Start page, language switch and health check."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user

from caseapp.accounts import operations as account_ops
from caseapp.security.permissions import public, requires
from caseapp.urls import safe_next

bp = Blueprint("main", __name__)


@bp.get("/")
@requires("home.view")
def index():
    user = current_user._get_current_object()
    return render_template("main/index.html", user=user, unused_codes=account_ops.unused_recovery_codes(user))


@bp.post("/language")
@public
def set_language():
    lang = request.form.get("lang", "sv")
    session["lang"] = lang if lang in ("sv", "en") else "sv"
    return redirect(safe_next(request.form.get("next")) or url_for("main.index"))


@bp.get("/health")
@public
def health():
    return {"status": "ok"}
