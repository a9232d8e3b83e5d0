"""User administration for systemförvaltare: accounts, roles, units, disable, reset second factor.
Shows no case content."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from caseapp.accounts import operations as ops
from caseapp.accounts.models import Role, Unit
from caseapp.admin.forms import ConfirmForm, UserEditForm, UserForm, role_choices
from caseapp.extensions import db
from caseapp.i18n import lazy_gettext as _l
from caseapp.security import audit, policy
from caseapp.security.permissions import requires

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _unit_choices():
    return [("", _l("– ingen enhet –"))] + [(str(u.id), u.name) for u in ops.list_units()]


def _unit(value: str | None) -> Unit | None:
    if not value:
        return None
    try:
        return db.session.get(Unit, uuid.UUID(value))
    except ValueError:
        return None


@bp.get("/anvandare")
@requires("admin.users")
def users():
    audit.record("list", object_type="user")
    return render_template("admin/users.html", users=ops.list_users(), confirm=ConfirmForm())


@bp.route("/anvandare/ny", methods=["GET", "POST"])
@requires("admin.users")
def new_user():
    form = UserForm()
    form.role.choices = role_choices()
    form.unit.choices = _unit_choices()
    if form.validate_on_submit():
        try:
            user, password = ops.create_user(
                current_user._get_current_object(),
                username=form.username.data,
                display_name=form.display_name.data,
                role=Role(form.role.data),
                unit=_unit(form.unit.data),
            )
        except ops.AccountError as err:
            db.session.rollback()
            flash(str(err), "error")
            return render_template("admin/user_new.html", form=form), 422
        return render_template("admin/user_created.html", user=user, password=password)
    return render_template("admin/user_new.html", form=form), (422 if form.is_submitted() else 200)


@bp.route("/anvandare/<uuid:user_id>", methods=["GET", "POST"])
@requires("admin.users")
def edit_user(user_id: uuid.UUID):
    user = policy.get_user_for_admin(current_user, user_id)
    form = UserEditForm(data={"role": user.role.value, "unit": str(user.unit_id or "")})
    form.role.choices = role_choices()
    form.unit.choices = _unit_choices()
    if form.validate_on_submit():
        try:
            ops.update_user(current_user._get_current_object(), user, role=Role(form.role.data),
                            unit=_unit(form.unit.data))
        except ops.AccountError as err:
            db.session.rollback()
            flash(str(err), "error")
            return render_template("admin/user_edit.html", form=form, user=user, confirm=ConfirmForm()), 422
        flash(_("Ändringarna är sparade."), "info")
        return redirect(url_for("admin.users"))
    audit.record("view", object_type="user", object_id=user.id)
    status = 422 if form.is_submitted() else 200
    return render_template("admin/user_edit.html", form=form, user=user, confirm=ConfirmForm()), status


def _user_action(user_id: uuid.UUID, action, message: str):
    user = policy.get_user_for_admin(current_user, user_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash(_("Formuläret har gått ut. Försök igen."), "error")
        return redirect(url_for("admin.users"))
    try:
        action(current_user._get_current_object(), user)
    except ops.AccountError as err:
        db.session.rollback()
        flash(str(err), "error")
        return redirect(url_for("admin.users"))
    flash(message, "info")
    return redirect(url_for("admin.users"))


@bp.post("/anvandare/<uuid:user_id>/inaktivera")
@requires("admin.users")
def disable_user(user_id: uuid.UUID):
    return _user_action(user_id, ops.disable_user, _("Kontot är inaktiverat och alla dess sessioner är avslutade."))


@bp.post("/anvandare/<uuid:user_id>/aktivera")
@requires("admin.users")
def enable_user(user_id: uuid.UUID):
    return _user_action(user_id, ops.enable_user, _("Kontot är aktiverat igen."))


@bp.post("/anvandare/<uuid:user_id>/aterstall-tvafaktor")
@requires("admin.users")
def reset_mfa(user_id: uuid.UUID):
    return _user_action(user_id, ops.reset_mfa,
                        _("Tvåfaktorsinloggningen är återställd. Användaren aktiverar den vid nästa inloggning."))
