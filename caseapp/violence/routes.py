"""Views of the domestic-violence work: thin. Records are loaded through `policy` (which refuses and audits),
the work is done in `operations`; refused input re-renders the form with 422 and Swedish messages (the request
rolls back, nothing is written)."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from caseapp.cases.operations import CaseworkError, today, view_case
from caseapp.extensions import db
from caseapp.people.models import Person
from caseapp.security import policy
from caseapp.security.permissions import requires
from caseapp.violence import catalogue as cat
from caseapp.violence import operations as ops
from caseapp.violence.forms import ViolenceForm

bp = Blueprint("violence", __name__)


@bp.record_once
def _jinja_globals(state) -> None:
    state.app.jinja_env.globals["vcat"] = cat


@bp.app_template_global("violence_case_panel")
def _case_panel(case):
    """The risk assessments and plans of a case, for the case page (templates/violence/_case_panel.html)."""
    user = _user()
    if case is None or policy.READ not in policy.case_access(user, case):
        return None
    return ops.case_panel(user, case)


@bp.app_template_global("violence_overdue_reviews")
def _overdue_reviews():
    """Plans past their review date in the user's cases, for the start page."""
    return ops.overdue_reviews(_user())


def _user():
    return current_user._get_current_object()


def _person(case):
    return db.session.get(Person, case.person_id)


def _sealed():
    return render_template("errors/error.html", code=409, title=_("Bedömningen är signerad"),
                           text=_("En signerad riskbedömning ändras aldrig. Gör en ny version av den i stället; "
                                  "den signerade finns kvar i historiken.")), 409


def _submitted() -> tuple[ViolenceForm, dict, bool]:
    form = ViolenceForm()
    values = {k: v for k, v in request.form.items() if k not in ("csrf_token", "action")}
    return form, values, request.form.get("action") == "sign"


# ------------------------------------------------------------------------------------------------ assessments


def _assessment_form(case, kind, values, status=200, errors=None, item=None):
    return render_template("violence/assessment_form.html", case=case, person=_person(case), kind=kind,
                           values=values, errors=errors or {}, item=item, today=today()), status


@bp.route("/vald/arenden/<uuid:case_id>/bedomningar/ny", methods=["GET", "POST"])
@requires("case.write")
def new_assessment(case_id: uuid.UUID):
    user = _user()
    case = policy.get_case(user, case_id, policy.WRITE)
    view_case(user, case, "assessment_new")
    try:
        kind = cat.Kind(request.values.get("metod", ""))
    except ValueError:
        kind = None
    if kind is None or kind not in cat.kinds_for(case.focus):
        return render_template("errors/error.html", code=404, title=_("Okänd bedömningsmetod"),
                               text=_("Metoden finns inte eller används inte i ärenden inom det här "
                                      "fokusområdet.")), 404
    if request.method == "GET":
        return _assessment_form(case, kind, {"assessed_on": today().isoformat()})
    form, values, sign = _submitted()
    if not form.validate_on_submit():
        return _assessment_form(case, kind, values, 422, {"": _("Formuläret kunde inte tas emot. Försök igen.")})
    try:
        item = ops.create_assessment(user, case, kind, values, sign=sign)
    except CaseworkError as err:
        return _assessment_form(case, kind, values, 422, err.errors)
    flash(_("Bedömningen är signerad.") if sign else _("Bedömningen är sparad som utkast."), "info")
    return redirect(url_for("violence.assessment", assessment_id=item.id))


def _render_assessment(item, case, status=200, errors=None):
    user = _user()
    content, judgement = ops.decoded(item)
    previous = db.session.get(type(item), item.supersedes_id) if item.supersedes_id else None
    names = ops.staff_names([item.author_id] + ([previous.author_id] if previous else []))
    return render_template("violence/assessment.html", item=item, case=case, person=_person(case),
                           content=content, judgement=judgement, previous=previous,
                           later=ops.later_versions(item), names=names, errors=errors or [],
                           access=policy.case_access(user, case)), status


@bp.get("/vald/bedomningar/<uuid:assessment_id>")
@requires("case.read")
def assessment(assessment_id: uuid.UUID):
    user = _user()
    item, case = policy.get_assessment(user, assessment_id, policy.READ)
    ops.view_assessment(user, item)
    return _render_assessment(item, case)


@bp.route("/vald/bedomningar/<uuid:assessment_id>/andra", methods=["GET", "POST"])
@requires("case.write")
def edit_assessment(assessment_id: uuid.UUID):
    user = _user()
    item, case = policy.get_assessment(user, assessment_id, "author")
    if item.is_signed:
        return _sealed()
    ops.view_assessment(user, item)
    if request.method == "GET":
        return _assessment_form(case, item.kind, ops.form_values(item), item=item)
    form, values, sign = _submitted()
    if not form.validate_on_submit():
        return _assessment_form(case, item.kind, values, 422,
                                {"": _("Formuläret kunde inte tas emot. Försök igen.")}, item=item)
    try:
        ops.update_assessment(user, item, case, values, sign=sign)
    except CaseworkError as err:
        return _assessment_form(case, item.kind, values, 422, err.errors, item=item)
    flash(_("Bedömningen är signerad.") if sign else _("Utkastet är sparat."), "info")
    return redirect(url_for("violence.assessment", assessment_id=item.id))


@bp.post("/vald/bedomningar/<uuid:assessment_id>/signera")
@requires("case.write")
def sign_assessment(assessment_id: uuid.UUID):
    user = _user()
    item, case = policy.get_assessment(user, assessment_id, "author")
    if item.is_signed:
        return _sealed()
    ops.view_assessment(user, item)
    try:
        ops.sign_assessment(user, item, case)
    except CaseworkError as err:
        return _render_assessment(item, case, 422, list(err.errors.values()))
    flash(_("Bedömningen är signerad."), "info")
    return redirect(url_for("violence.assessment", assessment_id=item.id))


@bp.post("/vald/bedomningar/<uuid:assessment_id>/ny-version")
@requires("case.write")
def new_version(assessment_id: uuid.UUID):
    user = _user()
    item, case = policy.get_assessment(user, assessment_id, policy.WRITE)
    ops.view_assessment(user, item)
    try:
        draft = ops.new_version(user, item, case)
    except CaseworkError as err:
        return _render_assessment(item, case, 422, list(err.errors.values()))
    flash(_("En ny version är skapad som utkast. Ändra det som har förändrats och signera."), "info")
    return redirect(url_for("violence.edit_assessment", assessment_id=draft.id))


# ------------------------------------------------------------------------------------------------ plans


def _plan_form(case, kind, values, status=200, errors=None, plan=None):
    return render_template("violence/plan_form.html", case=case, person=_person(case), kind=kind, values=values,
                           errors=errors or {}, plan=plan, assessments=ops.signed_assessments(case),
                           today=today()), status


@bp.route("/vald/arenden/<uuid:case_id>/planer/ny", methods=["GET", "POST"])
@requires("case.write")
def new_plan(case_id: uuid.UUID):
    user = _user()
    case = policy.get_case(user, case_id, policy.WRITE)
    view_case(user, case, "plan_new")
    try:
        kind = cat.PlanKind(request.values.get("typ", ""))
    except ValueError:
        kind = None
    if kind is None or (kind is cat.PlanKind.SAKERHET and case.focus not in cat.SAFETY_PLAN_FOCUS):
        return render_template("errors/error.html", code=404, title=_("Okänd plan"),
                               text=_("Planen finns inte eller används inte i ärenden inom det här "
                                      "fokusområdet.")), 404
    if request.method == "GET":
        signed = ops.signed_assessments(case)
        return _plan_form(case, kind, {"assessment_id": str(signed[0].id) if signed else ""})
    form, values, _sign = _submitted()
    if not form.validate_on_submit():
        return _plan_form(case, kind, values, 422, {"": _("Formuläret kunde inte tas emot. Försök igen.")})
    try:
        plan = ops.create_plan(user, case, kind, values)
    except CaseworkError as err:
        return _plan_form(case, kind, values, 422, err.errors)
    flash(_("Planen är sparad."), "info")
    return redirect(url_for("violence.plan", plan_id=plan.id))


@bp.get("/vald/planer/<uuid:plan_id>")
@requires("case.read")
def plan(plan_id: uuid.UUID):
    user = _user()
    item, case = policy.get_plan(user, plan_id, policy.READ)
    ops.view_plan(user, item)
    versions = ops.plan_versions(item)
    source = db.session.get(ops.RiskAssessment, item.assessment_id) if item.assessment_id else None
    return render_template("violence/plan.html", plan=item, case=case, person=_person(case),
                           content=ops.plan_content(item), versions=versions, source=source,
                           names=ops.staff_names([v.created_by for v in versions]),
                           access=policy.case_access(user, case), today=today())


@bp.route("/vald/planer/<uuid:plan_id>/revidera", methods=["GET", "POST"])
@requires("case.write")
def revise_plan(plan_id: uuid.UUID):
    user = _user()
    item, case = policy.get_plan(user, plan_id, policy.WRITE)
    ops.view_plan(user, item)
    if not item.is_current:
        return render_template("errors/error.html", code=409, title=_("Det finns en nyare version"),
                               text=_("Den här versionen av planen har ersatts. Revidera den senaste "
                                      "versionen.")), 409
    if request.method == "GET":
        return _plan_form(case, item.kind, ops.plan_values(item), plan=item)
    form, values, _sign = _submitted()
    if not form.validate_on_submit():
        return _plan_form(case, item.kind, values, 422, {"": _("Formuläret kunde inte tas emot. Försök igen.")},
                          plan=item)
    try:
        new = ops.revise_plan(user, item, case, values)
    except CaseworkError as err:
        return _plan_form(case, item.kind, values, 422, err.errors, plan=item)
    flash(_("En ny version av planen är sparad."), "info")
    return redirect(url_for("violence.plan", plan_id=new.id))
