"""Views for protected identities and victims: thin. Records are loaded through `policy`."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

from flask import Blueprint, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from caseapp.cases import operations as case_ops
from caseapp.extensions import db
from caseapp.people.models import Person
from caseapp.protection import operations as ops
from caseapp.protection.forms import (
    ChildForm,
    EndLinkForm,
    GrantForm,
    LinkForm,
    NoticeForm,
    OverrideAssignForm,
    RevokeForm,
)
from caseapp.security import policy
from caseapp.security.permissions import requires
from caseapp.views import submit_form

bp = Blueprint("protection", __name__)


def _user():
    return current_user._get_current_object()


def _staff_choices(unit_id, blank):
    return [("", blank)] + [(str(u.id), u.display_name) for u in ops.list_staff(unit_id)]


# ------------------------------------------------------------------------------------- panels on other pages


@bp.app_template_global("protection_person_panel")
def _person_panel(person):
    """The warning banner and the "informed" record on the person page."""
    user = _user()
    if person is None or person.is_shredded:
        return None
    level = policy.disclosure_warning(person)
    if level is None:
        return None
    return SimpleNamespace(level=level, notice=ops.latest_notice(person),
                           manage=policy.may_manage_access_list(user, person))


@bp.app_template_global("protection_case_panel")
def _case_panel(case, person):
    """The warning banner, the victim's links and the witnessing children on a case page."""
    user = _user()
    level = policy.disclosure_warning(person) if person is not None else None
    links = children = None
    if policy.may_see_violence_links(user, case):
        links = ops.links_for(user, case)
        children = ops.witness_children(user, case)
    return SimpleNamespace(level=level, links=links, children=children,
                           missing=[c for c in children or [] if not c.has_open_case],
                           can_write="write" in policy.case_access(user, case),
                           can_override=policy.may_override_conflict(user, case))


@bp.app_template_global("protection_start_panel")
def _start_panel():
    user = _user()
    rows = ops.children_without_case(user)
    people = case_ops.people_by_id(w.child_person_id for w, _c in rows)
    shown = [(w, c, people.get(w.child_person_id)) for w, c in rows]
    shown = [(w, c, p if p is not None and policy.can_see_person(user, p) else None) for w, c, p in shown]
    for _w, _c, p in shown:
        if p is not None:
            case_ops._record_person_reads(user, [p.id], "start")
    return shown


# ---------------------------------------------------------------------------------------------- access list


def _render_access(person, status=200, *, grant_form=None, notice_form=None, errors=None):
    user = _user()
    rows = ops.view_access_list(user, person)
    grant_form = grant_form or GrantForm(formdata=None)
    listed = {r.user_id for r in rows if r.revoked_at is None}
    grant_form.user_id.choices = [c for c in _staff_choices(user.unit_id, _("Välj …"))
                                  if not c[0] or uuid.UUID(c[0]) not in listed]
    if notice_form is None:
        notice_form = NoticeForm(formdata=None)
        notice_form.informed_on.data = case_ops.today()
        notice_form.informed_by.data = str(user.id)
    notice_form.informed_by.choices = _staff_choices(user.unit_id, _("Välj …"))
    names = case_ops.staff_names([r.user_id for r in rows] + [r.granted_by for r in rows]
                                 + [r.revoked_by for r in rows])
    notice = ops.latest_notice(person)
    if notice is not None:
        names.update(case_ops.staff_names([notice.informed_by]))
    return render_template("protection/access.html", person=person, rows=rows, names=names, notice=notice,
                           grant_form=grant_form, notice_form=notice_form, revoke_form=RevokeForm(formdata=None),
                           errors=errors or []), status


@bp.get("/personer/<uuid:person_id>/skydd")
@requires("protection.manage")
def access(person_id: uuid.UUID):
    person = policy.get_protected_person(_user(), person_id)
    return _render_access(person)


@bp.post("/personer/<uuid:person_id>/skydd/lista")
@requires("protection.manage")
def grant(person_id: uuid.UUID):
    user = _user()
    person = policy.get_protected_person(user, person_id)
    form = GrantForm()
    form.user_id.choices = _staff_choices(user.unit_id, "")
    return submit_form(
        form, lambda: ops.grant_access(user, person, form.user_id.data),
        lambda errors: _render_access(person, 422, grant_form=form, errors=errors),
        lambda _r: (_("Medarbetaren är tillagd på åtkomstlistan."),
                    url_for("protection.access", person_id=person.id)))


@bp.post("/personer/<uuid:person_id>/skydd/lista/<uuid:access_id>/avsluta")
@requires("protection.manage")
def revoke(person_id: uuid.UUID, access_id: uuid.UUID):
    user = _user()
    person = policy.get_protected_person(user, person_id)
    return submit_form(
        RevokeForm(), lambda: ops.revoke_access(user, person, access_id),
        lambda errors: _render_access(person, 422, errors=errors),
        lambda _r: (_("Åtkomsten är avslutad. Raden finns kvar i historiken."),
                    url_for("protection.access", person_id=person.id)))


@bp.post("/personer/<uuid:person_id>/skydd/informerad")
@requires("protection.manage")
def notice(person_id: uuid.UUID):
    user = _user()
    person = policy.get_protected_person(user, person_id)
    form = NoticeForm()
    form.informed_by.choices = _staff_choices(user.unit_id, "")
    return submit_form(
        form, lambda: ops.record_notice(user, person, form.informed_on.data, form.informed_by.data),
        lambda errors: _render_access(person, 422, notice_form=form, errors=errors),
        lambda _r: (_("Det är registrerat att personen har informerats."),
                    url_for("protection.access", person_id=person.id)))


# ------------------------------------------------------------------------ assignment with an override


@bp.route("/arenden/<uuid:case_id>/tilldela-undantag", methods=["GET", "POST"])
@requires("case.assign")
def assign_override(case_id: uuid.UUID):
    user = _user()
    case = policy.get_case(user, case_id, policy.ASSIGN)
    person = db.session.get(Person, case.person_id)
    form = OverrideAssignForm()
    form.worker.choices = _staff_choices(case.unit_id, _("Välj …"))
    case_ops.view_case(user, case, page="assign_override")
    if not form.is_submitted():
        return render_template("protection/assign_override.html", case=case, person=person, form=form, errors=[])
    return submit_form(
        form, lambda: case_ops.assign(user, case, form.worker.data, responsible=bool(form.responsible.data),
                                      override_reason=form.override_reason.data),
        lambda errors: (render_template("protection/assign_override.html", case=case, person=person, form=form,
                                        errors=errors), 422),
        lambda _r: (_("Tilldelningen är sparad."), url_for("cases.view", case_id=case.id)))


# ------------------------------------------------------------------------------ victim links and children


def _render_violence(case, status=200, *, link_form=None, child_form=None, errors=None):
    user = _user()
    person = db.session.get(Person, case.person_id)
    case_ops.view_case(user, case, page="violence")
    return render_template("protection/violence.html", case=case, person=person,
                           links=ops.links_for(user, case), children=ops.witness_children(user, case),
                           link_form=link_form or LinkForm(formdata=None),
                           child_form=child_form or ChildForm(formdata=None), end_form=EndLinkForm(formdata=None),
                           can_write="write" in policy.case_access(user, case),
                           can_override=policy.may_override_conflict(user, case), errors=errors or []), status


@bp.get("/arenden/<uuid:case_id>/vald")
@requires("case.read")
def violence(case_id: uuid.UUID):
    case = policy.get_violence_case(_user(), case_id)
    return _render_violence(case)


@bp.post("/arenden/<uuid:case_id>/vald/koppling")
@requires("case.write")
def add_link(case_id: uuid.UUID):
    user = _user()
    case = policy.get_violence_case(user, case_id, policy.WRITE)
    form = LinkForm()
    return submit_form(
        form, lambda: ops.create_link(user, case, ops.LinkData(form.perpetrator_identity.data,
                                                               form.perpetrator_reference.data,
                                                               form.override_reason.data)),
        lambda errors: _render_violence(case, 422, link_form=form, errors=errors),
        lambda _r: (_("Kopplingen till den som utövar våldet är registrerad."),
                    url_for("protection.violence", case_id=case.id)))


@bp.post("/vald/koppling/<uuid:link_id>/avsluta")
@requires("case.write")
def end_link(link_id: uuid.UUID):
    user = _user()
    link, case = policy.get_violence_link(user, link_id, policy.WRITE)
    return submit_form(
        EndLinkForm(), lambda: ops.end_link(user, link),
        lambda errors: _render_violence(case, 422, errors=errors),
        lambda _r: (_("Kopplingen är avslutad."), url_for("protection.violence", case_id=case.id)))


@bp.post("/arenden/<uuid:case_id>/vald/barn")
@requires("case.write")
def add_child(case_id: uuid.UUID):
    user = _user()
    case = policy.get_violence_case(user, case_id, policy.WRITE)
    form = ChildForm()
    return submit_form(
        form, lambda: ops.add_witness_child(user, case, ops.ChildData(form.identity.data, form.given_name.data,
                                                                      form.family_name.data,
                                                                      form.protection.data or None)),
        lambda errors: _render_violence(case, 422, child_form=form, errors=errors),
        lambda _r: (_("Barnet är kopplat. Öppna ett eget ärende för barnet utan dröjsmål."),
                    url_for("protection.violence", case_id=case.id)))
