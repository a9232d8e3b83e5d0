"""Log follow-up pages for unit managers (their unit) and auditors (all units)."""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from caseapp.accounts.models import Unit, User
from caseapp.extensions import db
from caseapp.i18n import lazy_gettext as _l
from caseapp.security import audit, policy
from caseapp.security.permissions import requires
from caseapp.supervision import emergency
from caseapp.supervision import operations as ops
from caseapp.supervision.forms import (
    DrawSampleForm,
    EmergencyAccessForm,
    EventFilterForm,
    PersonLookupForm,
    ReviewForm,
    SampleItemForm,
    SignOffForm,
)

bp = Blueprint("supervision", __name__, url_prefix="/logg")

DEFAULTS = {
    "WORKING_HOURS": (7, 19),  # local time; reads outside these hours or at weekends are flagged
    "VOLUME_FACTOR": 3,  # a day with >= factor x the user's own median of reads is flagged ...
    "VOLUME_MIN_READS": 30,  # ... if it also has at least this many reads
    "ATTENTION_DAYS": 30,
    "LOG_SAMPLE_SIZE": 20,
    "EMERGENCY_ACCESS_MINUTES": 60,  # config.py sets it; this is the fallback for apps built without it
}


@bp.record_once
def _defaults(state) -> None:
    for key, value in DEFAULTS.items():
        state.app.config.setdefault(key, value)


def _viewer() -> User:
    return current_user._get_current_object()


def _filter_form() -> EventFilterForm:
    viewer = _viewer()
    form = EventFilterForm(request.args)
    allowed_units = policy.audit_filter_units(viewer)
    units = db.session.scalars(select(Unit).order_by(Unit.name))
    form.unit.choices = [("", _l("Alla"))] + [(str(u.id), u.name) for u in units
                                               if allowed_units is None or u.id in allowed_units]
    users = select(User).order_by(User.display_name)
    if allowed_units is not None:
        users = users.where(User.unit_id.in_(allowed_units))
    form.user.choices = [("", _l("Alla"))] + [(str(u.id), u.display_name) for u in db.session.scalars(users)]
    return form


def _filter_from(form: EventFilterForm) -> ops.EventFilter:
    def as_uuid(value):
        return uuid.UUID(value) if value else None

    return ops.EventFilter(
        user_id=as_uuid(form.user.data), unit_id=as_uuid(form.unit.data), action=form.action.data or None,
        person_id=as_uuid(form.person.data), object_id=(form.object_id.data or "").strip() or None,
        date_from=form.date_from.data, date_to=form.date_to.data,
    )


@bp.get("/")
@requires("audit.review")
def events():
    form = _filter_form()
    if request.args and not form.validate():
        return render_template("supervision/events.html", form=form, events=[], next_before=None,
                               names={}, units={}), 422
    before = request.args.get("before", type=int)
    f = _filter_from(form)
    rows, next_before = ops.list_events(_viewer(), f, before_id=before)
    args = {k: v for k, v in request.args.items() if k != "before"}
    return render_template("supervision/events.html", form=form, events=rows, next_before=next_before,
                           names=ops.staff_names(e.actor_user_id for e in rows), units=ops.unit_names(),
                           query_args=args)


@bp.get("/export.csv")
@requires("audit.review")
def export():
    form = _filter_form()
    if not form.validate():
        flash(_("Filtret innehåller fel; rätta det och exportera igen."), "error")
        return redirect(url_for("supervision.events", **request.args))
    try:
        body, _count = ops.export_csv(_viewer(), _filter_from(form))
    except ops.SupervisionError as err:
        flash(str(err), "error")
        return redirect(url_for("supervision.events", **request.args))
    return Response(body, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="atkomstlogg.csv"'})


@bp.get("/person")
@requires("audit.review")
def who_has_read():
    form = PersonLookupForm(request.args)
    readers = None
    status = 200
    if request.args:
        if form.validate():
            readers = ops.who_has_read(_viewer(), uuid.UUID(form.person.data))
        else:
            status = 422
    return render_template("supervision/who_has_read.html", form=form, readers=readers), status


@bp.get("/uppmarksamhet")
@requires("audit.review")
def attention():
    include = request.args.get("visa") == "alla"
    items = ops.attention_items(_viewer(), include_reviewed=include)
    return render_template("supervision/attention.html", items=items, include_reviewed=include, form=ReviewForm(),
                           decrypt=ops.decrypt_note)


@bp.post("/uppmarksamhet/<int:event_id>/<kind>")
@requires("audit.review")
def review_attention(event_id: int, kind: str):
    form = ReviewForm()
    if not form.validate():
        flash(" ".join(str(e) for errs in form.errors.values() for e in errs), "error")
        return redirect(url_for("supervision.attention")), 303
    try:
        ops.mark_reviewed(_viewer(), event_id, kind, form.comment.data)
    except ops.SupervisionError as err:
        db.session.rollback()
        flash(str(err), "error")
        return redirect(url_for("supervision.attention")), 303
    flash(_("Punkten är markerad som granskad."), "info")
    return redirect(url_for("supervision.attention"))


@bp.route("/stickprov", methods=["GET", "POST"])
@requires("audit.review")
def samples():
    viewer = _viewer()
    form = DrawSampleForm()
    if request.method == "POST":
        if not policy.has_permission(viewer, "audit.sign_sample"):
            policy.deny(viewer, permission="audit.sign_sample", object_type="log_sample")
        if form.validate_on_submit():
            try:
                sample = ops.draw_sample(viewer, db.session.get(Unit, viewer.unit_id), form.period.data)
            except ops.SupervisionError as err:
                db.session.rollback()
                flash(str(err), "error")
                return render_template("supervision/samples.html", samples=ops.list_samples(viewer), form=form,
                                       units=ops.unit_names()), 422
            return redirect(url_for("supervision.sample", sample_id=sample.id))
        return render_template("supervision/samples.html", samples=ops.list_samples(viewer), form=form,
                               units=ops.unit_names()), 422
    if policy.has_permission(viewer, "audit.sign_sample") and viewer.unit_id:
        # The month's sample is drawn on the first visit after the month ended (or by `caseapp supervision sample`).
        ops.draw_sample(None, db.session.get(Unit, viewer.unit_id), ops.previous_period())
    form.period.data = form.period.data or ops.previous_period()
    return render_template("supervision/samples.html", samples=ops.list_samples(viewer), form=form,
                           units=ops.unit_names())


@bp.get("/stickprov/<uuid:sample_id>")
@requires("audit.review")
def sample(sample_id: uuid.UUID):
    s = policy.get_log_sample(_viewer(), sample_id)
    events = ops.sample_events(s)
    return render_template(
        "supervision/sample.html", sample=s, events=events, names=ops.staff_names(
            [e.actor_user_id for e in events.values()] + [i.checked_by for i in s.items] + [s.signed_by]),
        item_form=SampleItemForm(), sign_form=SignOffForm(), decrypt=ops.decrypt_note,
        can_sign=policy.has_permission(_viewer(), "audit.sign_sample") and s.unit_id == _viewer().unit_id,
        findings=ops.FINDINGS, conclusions=ops.CONCLUSIONS, units=ops.unit_names())


@bp.post("/stickprov/<uuid:sample_id>/post/<uuid:item_id>")
@requires("audit.sign_sample")
def check_item(sample_id: uuid.UUID, item_id: uuid.UUID):
    s = policy.get_log_sample(_viewer(), sample_id, "sign")
    form = SampleItemForm()
    if not form.validate():
        flash(" ".join(str(e) for errs in form.errors.values() for e in errs), "error")
        return redirect(url_for("supervision.sample", sample_id=s.id)), 303
    try:
        ops.check_item(_viewer(), s, item_id, form.finding.data, form.note.data)
    except ops.SupervisionError as err:
        db.session.rollback()
        flash(str(err), "error")
        return redirect(url_for("supervision.sample", sample_id=s.id)), 303
    return redirect(url_for("supervision.sample", sample_id=s.id, _anchor=f"post-{item_id}"))


@bp.post("/stickprov/<uuid:sample_id>/signera")
@requires("audit.sign_sample")
def sign_sample(sample_id: uuid.UUID):
    s = policy.get_log_sample(_viewer(), sample_id, "sign")
    form = SignOffForm()
    if not form.validate():
        flash(" ".join(str(e) for errs in form.errors.values() for e in errs), "error")
        return redirect(url_for("supervision.sample", sample_id=s.id)), 303
    try:
        ops.sign_off(_viewer(), s, form.conclusion.data, form.comment.data)
    except ops.SupervisionError as err:
        db.session.rollback()
        flash(str(err), "error")
        return redirect(url_for("supervision.sample", sample_id=s.id)), 303
    flash(_("Granskningen är signerad."), "info")
    return redirect(url_for("supervision.sample", sample_id=s.id))


# --- emergency access (nödåtkomst) ---------------------------------------------------------------------------


@bp.app_template_global("audit_subjects")
def _audit_subjects(event):
    """The people an audit event is about (one, or those a list page showed)."""
    return audit.subjects_of(event)


@bp.app_template_global("emergency_grants")
def emergency_grants(case) -> list[emergency.Banner]:
    """Active emergency grants on a case (the banner on the case page)."""
    return emergency.active_grants(current_user, case)


@bp.route("/nodatkomst", methods=["GET", "POST"])
@requires("case.emergency")
def emergency_access():
    viewer = _viewer()
    form = EmergencyAccessForm()
    if request.method == "GET":
        return render_template("supervision/emergency.html", form=form, errors={}, minutes=emergency.minutes())
    if not form.validate_on_submit():
        errors = {name: " ".join(str(e) for e in errs) for name, errs in form.errors.items()}
        return render_template("supervision/emergency.html", form=form, errors=errors,
                               minutes=emergency.minutes()), 422
    try:
        outcome = emergency.request_access(viewer, form.target.data, form.reason.data)
    except emergency.EmergencyError as err:
        db.session.rollback()
        for name, message in err.errors.items():
            getattr(form, name).errors = [message]
        return render_template("supervision/emergency.html", form=form, errors=err.errors,
                               minutes=emergency.minutes()), 422
    if outcome.grants:
        until = outcome.grants[0].expires_at
        flash(_("Nödåtkomst gäller till %(time)s, bara för läsning. Åtkomsten loggas och granskas av "
                "enhetschefen.", time=format_time(until)), "info")
    else:
        flash(_("Du har redan behörighet till ärendet; ingen nödåtkomst behövdes."), "info")
    cases = outcome.cases
    if len(cases) == 1:
        return redirect(url_for("cases.view", case_id=cases[0]))
    grant_or_case = outcome.grants[0].person_id if outcome.grants else outcome.already_readable[0].person_id
    return redirect(url_for("cases.person_cases", person_id=grant_or_case))


def format_time(when) -> str:
    from caseapp.timeutil import to_local

    return to_local(when).strftime("%H:%M")
