"""Casework views: thin. Records are loaded through `policy` (which refuses and audits), the work is done in
`operations`, forms only carry fields. Refused input re-renders the page with 422 and Swedish messages; the
request then rolls back, so nothing is half-written (the read events of the re-rendered page are kept)."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.globals import _cv_app
from flask_babel import get_translations
from flask_babel import gettext as _
from flask_login import current_user
from jinja2 import pass_eval_context
from markupsafe import Markup, escape

from caseapp.cases import catalogue as cat
from caseapp.cases import operations as ops
from caseapp.cases import presence, workflow
from caseapp.cases.forms import (
    AssignForm,
    ConsentForm,
    CorrectionForm,
    DecisionForm,
    EntryForm,
    FollowUpDoneForm,
    FollowUpForm,
    GroupForm,
    InterventionForm,
    LeaveForm,
    MemberForm,
    NewCaseForm,
    ObjectionForm,
    RelationForm,
    ReviewForm,
    SearchForm,
    SessionForm,
    SkyddsbedomningForm,
    TransitionForm,
    TypeForm,
    WithdrawForm,
)
from caseapp.cases.models import Decision, Group, ImmutableRecordError, InterventionType, JournalEntry
from caseapp.extensions import db
from caseapp.i18n import cached_gettext as _cached_gettext
from caseapp.i18n import request_locale as _request_locale
from caseapp.people.models import Person
from caseapp.security import policy
from caseapp.security.permissions import requires
from caseapp.timeutil import local_text
from caseapp.views import submit_form

bp = Blueprint("cases", __name__)

_LABEL_TABLES = {
    "STATE_LABELS": workflow.STATE_LABELS, "FOCUS_LABELS": workflow.FOCUS_LABELS,
    "INTAKE_LABELS": workflow.INTAKE_LABELS, "ENTRY_TYPE_LABELS": cat.ENTRY_TYPE_LABELS,
    "DECISION_LABELS": cat.DECISION_LABELS, "DECISION_STATUS_LABELS": cat.DECISION_STATUS_LABELS,
    "INTERVENTION_STATUS_LABELS": cat.INTERVENTION_STATUS_LABELS, "RELATION_LABELS": cat.RELATION_LABELS,
    "CONSENT_GIVER_LABELS": cat.CONSENT_GIVER_LABELS, "CONSENT_FORM_LABELS": cat.CONSENT_FORM_LABELS,
}
_LABELS_BY_LOCALE: dict[str, dict[str, dict]] = {}


class _Casework:
    """`cw` in templates: the catalogue's labels as plain strings in the current language (translated once per
    language and process, looked up once per request), and a few constants."""

    ORDER = workflow.ORDER
    OPEN_STATES = ops.OPEN_STATES
    legal_basis_label = staticmethod(cat.legal_basis_label)
    today = staticmethod(ops.today)

    def __getattr__(self, name: str):
        if name not in _LABEL_TABLES:
            raise AttributeError(name)
        # The app context's `g` straight from its context variable: templates look labels up hundreds of times
        # per page, and going through the `g` proxy each time costs more than the lookup.
        per_request = _cv_app.get().g.__dict__
        labels = per_request.get("casework_labels")
        if labels is None:
            locale = _request_locale()
            labels = _LABELS_BY_LOCALE.get(locale)
            if labels is None:
                labels = _LABELS_BY_LOCALE[locale] = {
                    table: {k: str(v) for k, v in values.items()} for table, values in _LABEL_TABLES.items()}
            per_request["casework_labels"] = labels
        return labels[name]


CW = _Casework()


def fast_url(endpoint: str, **values) -> str:
    """`url_for` from Python code without `flask.url_for`'s proxy lookups: the app's own, which keeps each
    endpoint's URL pattern (caseapp.urls.CaseApp; lists render hundreds of links)."""
    return _cv_app.get().app.url_for(endpoint, **values)


@bp.record_once
def _jinja_globals(state) -> None:
    env = state.app.jinja_env
    env.globals["cw"] = CW  # labels and catalogues, also inside imported macros
    env.globals["fast_url"] = fast_url
    # The same semantics as Flask-Babel's installation (newstyle, autoescaped), with the per-language memo.
    env.install_gettext_callables(gettext=_cached_gettext,
                                  ngettext=lambda s, p, n: get_translations().ungettext(s, p, n), newstyle=True)
    env.globals["_"] = _template_gettext


_TRANSLATED_MARKUP: dict[tuple[str, str], Markup] = {}


@pass_eval_context
def _template_gettext(eval_ctx, message: str, **variables) -> str:
    """The template's `_()`: what the installed newstyle gettext does (translate, mark safe where the template
    autoescapes, fill in the variables escaped), in one call. Jinja's `_` alias resolves `gettext` and calls it,
    which calls the translation function: three context calls per string, about fifty strings per page. A string
    without variables is the same markup every time (`%` with no values still turns "%%" into "%"): kept per
    language, as the translation is."""
    if not eval_ctx.autoescape:
        return _cached_gettext(message) % variables
    if variables:
        return Markup(_cached_gettext(message)) % variables  # noqa: S704 (our catalog, as Jinja's own gettext)
    key = (_request_locale(), message)
    text = _TRANSLATED_MARKUP.get(key)
    if text is None:
        text = _TRANSLATED_MARKUP[key] = Markup(_cached_gettext(message)) % {}  # noqa: S704 (as above)
    return text


@bp.app_template_global("casework_start_panels")
def _start_panels():
    """The start page's casework panels (templates/main/_panels.html includes them)."""
    return ops.start_panels(_user())


@bp.app_template_global("casework_person_section")
def _person_section(person):
    """Cases, groups and relatives of a person, for the person page (only what the viewer may see)."""
    user = _user()
    if person is None or person.is_shredded or not policy.has_permission(user, "case.read"):
        return None
    return SimpleNamespace(cases=ops.cases_of_person(user, person), groups=ops.groups_of_person(user, person),
                           relations=ops.relations_for(user, person))


@bp.app_errorhandler(ImmutableRecordError)
def _immutable(err):
    return render_template("errors/error.html", code=409, title=_("Uppgiften kan inte ändras"),
                           text=_("Signerade anteckningar, invändningar, fattade beslut och ärendets historik är "
                                  "allmänna handlingar och ändras aldrig. Skriv en rättelse i stället.")), 409


_ENTRY_STRINGS: dict[str, SimpleNamespace] = {}


def _entry_strings() -> SimpleNamespace:
    """The loop-invariant strings of a journal entry, translated once per language and process (catalogs are
    compiled at build time; see _cached_gettext), for templates/cases/_entry_macro."""
    locale = _request_locale()
    strings = _ENTRY_STRINGS.get(locale)
    if strings is None:
        # Attributes, not dict keys: the template's `T.draft` is a getattr, which on a dict first fails (an
        # AttributeError raised and caught per lookup, about a hundred per case page) before the item lookup.
        strings = _ENTRY_STRINGS[locale] = SimpleNamespace(**_translate_entry_strings())
    return strings


def _translate_entry_strings() -> dict[str, str]:
    return {"draft": _("Utkast – inte signerat"), "correction": _("Rättelse"), "corrected": _("Rättad"),
            "struck": _("Överstruken text:"), "see_fix": _("Se rättelsen"),
            "fixes": _("Rättar en tidigare anteckning."), "show_old": _("Visa den rättade texten"),
            "reason": _("Skäl:"), "objection": _("Invändning"), "edit": _("Ändra utkastet"), "sign": _("Signera"),
            "discard": _("Ta bort utkastet"), "fix": _("Rätta"), "object": _("Anteckna invändning"),
            "show": _("Visa anteckningen"),
            # Patterns with variables, filled in by _entry_lines as the template `_()` fills them in: the
            # translation is trusted markup (our catalog), every value is escaped first.
            "written": _("Skriven %(when)s av %(who)s"), "signed": _("signerad %(when)s"),
            "fixed_by": _("Rättad %(when)s av %(who)s."),
            "objection_head": _("Personens invändning, framförd %(date)s"),
            "objection_note": _("Antecknad %(when)s av %(who)s")}


class _EntryLine:
    """One journal entry as templates/cases/_entry_macro.html shows it: its texts, links and flags worked out
    here, so that the template only places them. In the template, the attribute lookups, calls and `%`
    formatting of an entry cost about 40 µs (20 entries on a case page); worked out here they cost a few."""

    __slots__ = ("id", "css", "date", "type_label", "draft", "meta", "text", "fixed_note", "fixed_by", "old_url",
                 "reason", "objections", "edit_url", "sign_url", "discard_url", "fix_url", "object_url",
                 "show_url")


def _entry_lines(entries, corrected_by, objections, names, can_write: bool, user_id) -> list[_EntryLine]:
    """The entries in the given order, each with what the macro shows: the correction that strikes it
    through (its old text stays readable), the entry it corrects, the person's objections next to it, and the
    actions the viewer has (a draft: its author edits, signs or discards it; a signed entry: a writer corrects
    it once, and records objections)."""
    T = _entry_strings()
    labels = CW.ENTRY_TYPE_LABELS
    lines = []
    for e in entries:
        line = _EntryLine()
        line.id = e.id
        corr = corrected_by.get(e.id)
        draft = e.signed_at is None
        line.css = "entry" + (" entry-struck" if corr else "") + (" entry-draft" if draft else "")
        line.date = e.event_date.isoformat()
        line.type_label = labels[e.entry_type]
        line.draft = draft
        meta = T.written % {"when": local_text(e.written_at), "who": escape(names.get(e.author_id, "–"))}
        if not draft:
            meta += " · " + T.signed % {"when": local_text(e.signed_at)}
        line.meta = Markup(meta)  # noqa: S704 (our catalog; the values are escaped above)
        line.text = e.text
        if corr is not None:
            line.fixed_note = Markup(T.fixed_by % {  # noqa: S704 (as above)
                "when": local_text(corr.written_at), "who": escape(names.get(corr.author_id, "–"))})
            line.fixed_by = corr.id
        else:
            line.fixed_note = line.fixed_by = None
        line.old_url = fast_url("cases.entry", entry_id=e.corrects_id) if e.corrects_id else None
        line.reason = e.correction_reason
        line.objections = [
            (Markup(T.objection_head % {"date": o.stated_on.isoformat()}), o.text,  # noqa: S704 (as above)
             Markup(T.objection_note % {"when": local_text(o.recorded_at),  # noqa: S704 (as above)
                                        "who": escape(names.get(o.recorded_by, "–"))}))
            for o in objections.get(e.id, ())]
        mine = draft and e.author_id == user_id
        line.edit_url = fast_url("cases.edit_entry", entry_id=e.id) if mine else None
        line.sign_url = fast_url("cases.sign_entry", entry_id=e.id) if mine else None
        line.discard_url = fast_url("cases.discard_entry", entry_id=e.id) if mine else None
        writable = not draft and can_write
        line.fix_url = fast_url("cases.correct_entry", entry_id=e.id) if writable and corr is None else None
        line.object_url = fast_url("cases.object_entry", entry_id=e.id) if writable else None
        line.show_url = fast_url("cases.entry", entry_id=e.id)
        lines.append(line)
    return lines


def _user():
    return current_user._get_current_object()


def _lang() -> str:
    from flask import session

    return session.get("lang", "sv")


def _errors(form, err: ops.CaseworkError | None = None) -> list[str]:
    general = form.add_errors(err.errors) if err is not None else []
    return general


def _worker_choices(unit_id, blank: str | None = None):
    workers = db.session.scalars(policy.assignable_workers(unit_id))
    return ([("", blank)] if blank is not None else []) + [(str(w.id), w.display_name) for w in workers]


# ------------------------------------------------------------------------------------------------ lists


@bp.get("/arenden/")
@requires("case.read")
def index():
    user = _user()
    manager = user.role.value == "enhetschef"
    scope = request.args.get("vy", "mine")
    scope = scope if scope in ("mine", "unit") else "mine"
    state = request.args.get("lage") or None
    if state not in {s.value for s in workflow.State}:
        state = None
    worker = ops._as_uuid(request.args.get("handlaggare")) if scope == "unit" else None
    f = ops.CaseFilter(scope=scope, state=state, worker=worker, overdue=request.args.get("forsenade") == "1",
                       include_closed=request.args.get("avslutade") == "1")
    page = request.args.get("sida", default=1, type=int) or 1
    rows, total, pages = ops.list_cases(user, f, page=page)
    workers = _worker_choices(user.unit_id) if scope == "unit" and user.unit_id else []
    args = {k: v for k, v in request.args.items() if k != "sida"}
    return render_template("cases/list.html", rows=rows, total=total, page=min(max(1, page), pages), pages=pages,
                           f=f, manager=manager, workers=workers, args=args,
                           shares=policy._unit_shares(user.unit_id))


@bp.get("/arenden/enhet")
@requires("case.caseload")
def caseload():
    rows = ops.caseload(_user())
    totals = {s: sum(r.by_state.get(s, 0) for r in rows) for s in ops.OPEN_STATES}
    return render_template("cases/caseload.html", rows=rows, totals=totals,
                           overdue=sum(r.overdue for r in rows))


@bp.route("/arenden/sok", methods=["GET", "POST"])
@requires("case.search")
def search():
    # POST: search terms never end up in URLs, logs, history or referrers.
    form = SearchForm()
    if request.method == "GET":
        return render_template("cases/search.html", form=form, result=None)
    if not form.validate_on_submit():
        return render_template("cases/search.html", form=form, result=None), 422
    try:
        result = ops.search(_user(), form.q.data)
    except ops.CaseworkError as err:
        return render_template("cases/search.html", form=form, result=None, errors=_errors(form, err)), 422
    return render_template("cases/search.html", form=form, result=result)


# ------------------------------------------------------------------------------------------------ cases


@bp.route("/arenden/ny/<uuid:person_id>", methods=["GET", "POST"])
@requires("case.create")
def new(person_id: uuid.UUID):
    user = _user()
    person = policy.get_person(user, person_id, "read")
    unit_id = policy.case_creation_unit(user)
    form = NewCaseForm()
    ops.view_case_person(user, person, "case_new")
    needs_child = person.identity_info is None
    if request.method == "GET":
        form.received_on.data = ops.today()
        return render_template("cases/new.html", form=form, person=person, needs_child=needs_child)
    return submit_form(
        form, lambda: ops.open_case(user, person, ops.NewCase(form.focus.data, form.intake.data,
                                                              form.received_on.data, form.summary.data,
                                                              form.child.data), unit_id=unit_id),
        lambda errors: (render_template("cases/new.html", form=form, person=person, needs_child=needs_child,
                                        errors=errors), 422),
        lambda case: (_("Ärendet %(ref)s är öppnat.", ref=case.reference),
                      url_for("cases.view", case_id=case.id)))


def _render_case(case, status: int = 200, *, errors=None, transition_form=None, assign_form=None,
                 skydd_form=None):
    user = _user()
    access = policy.case_access(user, case)
    person = db.session.get(Person, case.person_id)
    offset = request.args.get("aldre", default=0, type=int) or 0
    view = ops.journal(user, case, offset=offset)
    allowed = workflow.allowed_transitions(ops.facts(case), case.state)
    show_skydd = bool(case.child and workflow.is_report(case.intake) and case.skyddsbedomning_done_on is None
                      and case.is_open)
    # Each form only where the page shows it (templates/cases/view.html): building a WTForms form costs.
    if "write" in access:
        if transition_form is None:
            transition_form = TransitionForm(formdata=None)
        transition_form.target.choices = [("", _("Välj …"))] + [(s.value, str(workflow.STATE_LABELS[s]))
                                                                for s in allowed]
        if skydd_form is None and show_skydd:
            skydd_form = SkyddsbedomningForm(formdata=None)
            skydd_form.done_on.data = ops.today()
    if "assign" in access:  # (and no worker list query otherwise)
        if assign_form is None:
            assign_form = AssignForm(formdata=None)
        assign_form.worker.choices = _worker_choices(case.unit_id, _("Välj …"))
    assignments = ops.active_assignments(case)
    steps = ops.transitions(case)
    decisions = ops.decisions(case)
    items = ops.interventions(case)
    names = ops.staff_names([a.user_id for a in assignments] + [s.by for s in steps]
                            + [e.author_id for e in view.entries] + [d.proposed_by for d in decisions]
                            + [d.decision_maker_id for d in decisions] + [i.responsible_id for i in items]
                            + [e.author_id for e in view.corrected_by.values()]
                            + [o.recorded_by for v in view.objections.values() for o in v])
    today = ops.today()
    entry_lines = _entry_lines(view.entries, view.corrected_by, view.objections, names, "write" in access, user.id)
    return render_template(
        "cases/view.html", case=case, person=person, access=access, journal=view, deadlines=ops.deadlines(case),
        allowed=allowed, transition_form=transition_form, assign_form=assign_form, skydd_form=skydd_form,
        assignments=assignments, steps=steps, decisions=decisions, interventions=items, names=names, today=today,
        visited={s.to_state for s in steps}, T=_entry_strings(), entry_lines=entry_lines,
        errors=errors or [], needs_reason={s.value: workflow.needs_reason(case.state, s) for s in allowed},
        show_skydd=show_skydd,
    ), status


@bp.get("/arenden/<uuid:case_id>")
@requires("case.read")
def view(case_id: uuid.UUID):
    presence.load_case_page(case_id)  # (the case and its facts in one statement; the policy decides next)
    case = policy.get_case(_user(), case_id, policy.READ)
    ops.view_case(_user(), case)
    return _render_case(case)


@bp.post("/arenden/<uuid:case_id>/steg")
@requires("case.write")
def transition(case_id: uuid.UUID):
    user = _user()
    case = policy.get_case(user, case_id, policy.WRITE)
    form = TransitionForm()

    def page(errors):
        ops.view_case(user, case)
        return _render_case(case, 422, errors=errors, transition_form=form)

    return submit_form(
        form, lambda: ops.transition(user, case, form.target.data, form.reason.data), page,
        lambda _r: (_("Ärendet är nu i läget %(state)s.", state=workflow.STATE_LABELS[case.state]),
                    url_for("cases.view", case_id=case.id)))


@bp.post("/arenden/<uuid:case_id>/skyddsbedomning")
@requires("case.write")
def skyddsbedomning(case_id: uuid.UUID):
    user = _user()
    case = policy.get_case(user, case_id, policy.WRITE)
    form = SkyddsbedomningForm()

    def page(errors):
        ops.view_case(user, case)
        return _render_case(case, 422, errors=errors, skydd_form=form)

    return submit_form(
        form, lambda: ops.record_skyddsbedomning(user, case, form.done_on.data), page,
        lambda _r: (_("Skyddsbedömningen är registrerad."), url_for("cases.view", case_id=case.id)))


@bp.post("/arenden/<uuid:case_id>/tilldela")
@requires("case.assign")
def assign(case_id: uuid.UUID):
    user = _user()
    case = policy.get_case(user, case_id, policy.ASSIGN)
    form = AssignForm()

    def page(errors):
        ops.view_case(user, case)
        return _render_case(case, 422, errors=errors, assign_form=form)

    return submit_form(
        form, lambda: ops.assign(user, case, form.worker.data, responsible=bool(form.responsible.data)), page,
        lambda _r: (_("Tilldelningen är sparad."), url_for("cases.view", case_id=case.id)))


@bp.post("/arenden/<uuid:case_id>/tilldelning/<uuid:assignment_id>/avsluta")
@requires("case.assign")
def unassign(case_id: uuid.UUID, assignment_id: uuid.UUID):
    user = _user()
    case = policy.get_case(user, case_id, policy.ASSIGN)
    ops.unassign(user, case, assignment_id)
    flash(_("Tilldelningen är avslutad."), "info")
    return redirect(url_for("cases.view", case_id=case.id))


@bp.get("/arenden/person/<uuid:person_id>")
@requires("case.read")
def person_cases(person_id: uuid.UUID):
    user = _user()
    person = policy.get_person(user, person_id, "read")
    ops.view_case_person(user, person, "person_cases")
    section = _person_section(person)
    return render_template("cases/person_cases.html", person=person, section=section)


# ---------------------------------------------------------------------------------------------- journal


def _entry_form_page(template: str, form, case, status: int = 200, **ctx):
    person = db.session.get(Person, case.person_id)
    return render_template(template, form=form, case=case, person=person, **ctx), status


@bp.route("/arenden/<uuid:case_id>/journal/ny", methods=["GET", "POST"])
@requires("journal.write")
def new_entry(case_id: uuid.UUID):
    user = _user()
    case = policy.get_case(user, case_id, policy.WRITE)
    ops.view_case(user, case, "journal_new")
    form = EntryForm()
    if request.method == "GET":
        form.event_date.data = ops.today()
        return _entry_form_page("cases/entry_form.html", form, case, entry=None)

    def write():
        entry = ops.create_entry(user, case, ops.EntryData(form.entry_type.data, form.event_date.data, form.text.data))
        if request.form.get("sign") == "1":
            ops.sign_entry(user, entry)
        return entry

    return submit_form(
        form, write, lambda errors: _entry_form_page("cases/entry_form.html", form, case, 422, entry=None,
                                                     errors=errors),
        lambda entry: (_("Anteckningen är signerad.") if entry.signed_at
                       else _("Utkastet är sparat. Signera det när det är klart."),
                       url_for("cases.view", case_id=case.id) + f"#entry-{entry.id}"))


@bp.get("/journal/<uuid:entry_id>")
@requires("case.read")
def entry(entry_id: uuid.UUID):
    user = _user()
    item, case = policy.get_journal_entry(user, entry_id, policy.READ)
    ops.view_entry(user, item)
    person = db.session.get(Person, case.person_id)
    chain = [item]
    while chain[0].corrects_id is not None and len(chain) < 50:
        chain.insert(0, db.session.get(JournalEntry, chain[0].corrects_id))
    follower = ops.correction_of(chain[-1]) if chain[-1].signed_at else None
    while follower is not None and len(chain) < 50:
        chain.append(follower)
        follower = ops.correction_of(follower)
    corrected_by, objections = ops.entry_context(chain)
    names = ops.staff_names([e.author_id for e in chain] + [o.recorded_by for v in objections.values() for o in v])
    lines = _entry_lines(chain, corrected_by, objections, names, "write" in policy.case_access(user, case), user.id)
    return render_template("cases/entry.html", entry=item, case=case, person=person, chain=chain,
                           entry_lines=lines, T=_entry_strings())


@bp.route("/journal/<uuid:entry_id>/andra", methods=["GET", "POST"])
@requires("journal.write")
def edit_entry(entry_id: uuid.UUID):
    user = _user()
    item, case = policy.get_journal_entry(user, entry_id, "author")
    ops.view_entry(user, item)
    if item.signed_at is not None:
        flash(_("Anteckningen är signerad och kan inte ändras. Skriv en rättelse i stället."), "error")
        return redirect(url_for("cases.entry", entry_id=item.id)), 303
    form = EntryForm()
    if request.method == "GET":
        form.entry_type.data = item.entry_type.value
        form.event_date.data = item.event_date
        form.text.data = item.text
        return _entry_form_page("cases/entry_form.html", form, case, entry=item)

    def write():
        ops.update_draft(user, item, ops.EntryData(form.entry_type.data, form.event_date.data, form.text.data))
        if request.form.get("sign") == "1":
            ops.sign_entry(user, item)

    return submit_form(
        form, write, lambda errors: _entry_form_page("cases/entry_form.html", form, case, 422, entry=item,
                                                     errors=errors),
        lambda _r: (_("Anteckningen är signerad.") if item.signed_at else _("Utkastet är sparat."),
                    url_for("cases.view", case_id=case.id) + f"#entry-{item.id}"))


@bp.post("/journal/<uuid:entry_id>/signera")
@requires("journal.write")
def sign_entry(entry_id: uuid.UUID):
    user = _user()
    item, case = policy.get_journal_entry(user, entry_id, "author")
    try:
        ops.sign_entry(user, item)
    except ops.CaseworkError as err:
        flash(" ".join(err.errors.values()), "error")
        return redirect(url_for("cases.entry", entry_id=item.id)), 303
    flash(_("Anteckningen är signerad."), "info")
    return redirect(url_for("cases.view", case_id=case.id) + f"#entry-{item.id}")


@bp.post("/journal/<uuid:entry_id>/ta-bort")
@requires("journal.write")
def discard_entry(entry_id: uuid.UUID):
    user = _user()
    item, case = policy.get_journal_entry(user, entry_id, "author")
    try:
        ops.discard_draft(user, item)
    except ops.CaseworkError as err:
        flash(" ".join(err.errors.values()), "error")
        return redirect(url_for("cases.entry", entry_id=item.id)), 303
    flash(_("Utkastet är borttaget."), "info")
    return redirect(url_for("cases.view", case_id=case.id))


@bp.route("/journal/<uuid:entry_id>/rattelse", methods=["GET", "POST"])
@requires("journal.write")
def correct_entry(entry_id: uuid.UUID):
    user = _user()
    item, case = policy.get_journal_entry(user, entry_id, policy.WRITE)
    ops.view_entry(user, item)
    form = CorrectionForm()
    if request.method == "GET":
        form.entry_type.data = item.entry_type.value
        form.event_date.data = item.event_date
        form.text.data = item.text
        return _entry_form_page("cases/correct.html", form, case, entry=item)
    return submit_form(
        form, lambda: ops.correct_entry(user, item, ops.EntryData(form.entry_type.data, form.event_date.data,
                                                                  form.text.data), form.reason.data),
        lambda errors: _entry_form_page("cases/correct.html", form, case, 422, entry=item, errors=errors),
        lambda new: (_("Rättelsen är signerad. Den tidigare texten finns kvar, överstruken."),
                     url_for("cases.view", case_id=case.id) + f"#entry-{new.id}"))


@bp.route("/journal/<uuid:entry_id>/invandning", methods=["GET", "POST"])
@requires("journal.write")
def object_entry(entry_id: uuid.UUID):
    user = _user()
    item, case = policy.get_journal_entry(user, entry_id, policy.WRITE)
    ops.view_entry(user, item)
    form = ObjectionForm()
    if request.method == "GET":
        form.stated_on.data = ops.today()
        return _entry_form_page("cases/objection.html", form, case, entry=item)
    return submit_form(
        form, lambda: ops.add_objection(user, item, form.stated_on.data, form.text.data),
        lambda errors: _entry_form_page("cases/objection.html", form, case, 422, entry=item, errors=errors),
        lambda _r: (_("Invändningen är antecknad vid anteckningen."),
                    url_for("cases.view", case_id=case.id) + f"#entry-{item.id}"))


# -------------------------------------------------------------------------------------------- decisions


def _decision_form_choices(form: DecisionForm) -> None:
    current = [(b.code, b.label) for b in cat.LEGAL_BASES if b.valid_to is None]
    older = [(b.code, b.label) for b in cat.LEGAL_BASES if b.valid_to is not None]
    form.legal_basis.choices = {"": [("", _("Välj …"))], _("Socialtjänstlag (2025:400)"): current,
                                _("Socialtjänstlag (2001:453), beslut före 1 juli 2025"): older}


@bp.route("/arenden/<uuid:case_id>/beslut/nytt", methods=["GET", "POST"])
@requires("decision.write")
def new_decision(case_id: uuid.UUID):
    user = _user()
    case = policy.get_case(user, case_id, policy.WRITE)
    ops.view_case(user, case, "decision_new")
    form = DecisionForm()
    _decision_form_choices(form)
    ctx = {"manager": user.role.value == "enhetschef", "approval": cat.NEEDS_APPROVAL}
    if request.method == "GET":
        form.decided_on.data = ops.today()
        if request.args.get("typ") in {k.value for k in cat.DecisionKind}:
            form.kind.data = request.args["typ"]
        return _entry_form_page("cases/decision_form.html", form, case, **ctx)
    return submit_form(
        form, lambda: ops.propose_decision(user, case, ops.DecisionData(
            form.kind.data, form.legal_basis.data, form.decided_on.data, form.text.data, form.extends_to.data)),
        lambda errors: _entry_form_page("cases/decision_form.html", form, case, 422, errors=errors, **ctx),
        lambda decision: (_("Beslutet är fattat.") if decision.is_made
                          else _("Beslutsförslaget väntar på enhetschefens godkännande."),
                          url_for("cases.decision", decision_id=decision.id)))


def _render_decision(decision: Decision, case, status: int = 200, form=None, errors=None):
    user = _user()
    person = db.session.get(Person, case.person_id)
    names = ops.staff_names([decision.proposed_by, decision.decision_maker_id])
    return render_template("cases/decision.html", decision=decision, case=case, person=person, names=names,
                           access=policy.case_access(user, case), form=form or ReviewForm(formdata=None),
                           errors=errors or []), status


@bp.get("/beslut/<uuid:decision_id>")
@requires("case.read")
def decision(decision_id: uuid.UUID):
    user = _user()
    item, case = policy.get_decision(user, decision_id, policy.READ)
    ops.view_decision(user, item)
    return _render_decision(item, case)


@bp.post("/beslut/<uuid:decision_id>/granska")
@requires("decision.approve")
def review_decision(decision_id: uuid.UUID):
    user = _user()
    item, case = policy.get_decision(user, decision_id, policy.APPROVE)
    form = ReviewForm()
    ops.view_decision(user, item)
    if not form.validate_on_submit() or form.outcome.data not in ("approve", "return"):
        form.outcome.errors = [*form.outcome.errors, _("Välj godkänn eller återförvisa.")]
        return _render_decision(item, case, 422, form)
    try:
        ops.review_decision(user, item, case, approve=form.outcome.data == "approve", note=form.note.data)
    except ops.CaseworkError as err:
        return _render_decision(item, case, 422, form, _errors(form, err))
    flash(_("Beslutet är fattat.") if item.is_made else _("Förslaget är återförvisat."), "info")
    return redirect(url_for("cases.decision", decision_id=item.id))


# ---------------------------------------------------------------------------------------- interventions


def _intervention_choices(form: InterventionForm, case, new: bool) -> None:
    lang = _lang()
    if new:
        form.type_id.choices = [("", _("Välj …"))] + [(str(t.id), t.display_name(lang))
                                                        for t in ops.intervention_types(case.focus)]
    form.responsible_id.choices = _worker_choices(case.unit_id, _("Välj …"))
    granted = [d for d in ops.decisions(case) if d.kind is cat.DecisionKind.BIFALL and d.is_made]
    form.decision_id.choices = [("", _("Inget beslut (insats utan biståndsbeslut)"))] + [
        (str(d.id), f"{d.decided_on.isoformat()} – {cat.legal_basis_label(d.legal_basis)}") for d in granted]


def _intervention_data(form: InterventionForm) -> ops.InterventionData:
    return ops.InterventionData(form.type_id.data, form.status.data, form.start_on.data, form.end_on.data,
                                form.responsible_id.data, form.goals.data, form.plan.data, form.plan_agreed_on.data,
                                form.decision_id.data)


@bp.route("/arenden/<uuid:case_id>/insatser/ny", methods=["GET", "POST"])
@requires("intervention.write")
def new_intervention(case_id: uuid.UUID):
    user = _user()
    case = policy.get_case(user, case_id, policy.WRITE)
    ops.view_case(user, case, "intervention_new")
    form = InterventionForm()
    _intervention_choices(form, case, new=True)
    types = ops.intervention_types(case.focus)
    if request.method == "GET":
        form.start_on.data = ops.today()
        form.status.data = cat.InterventionStatus.ACTIVE.value
        form.responsible_id.data = str(user.id)
        return _entry_form_page("cases/intervention_form.html", form, case, item=None, types=types)
    return submit_form(
        form, lambda: ops.add_intervention(user, case, _intervention_data(form)),
        lambda errors: _entry_form_page("cases/intervention_form.html", form, case, 422, item=None, types=types,
                                        errors=errors),
        lambda item: (_("Insatsen är registrerad."), url_for("cases.intervention", intervention_id=item.id)))


def _render_intervention(item, case, status: int = 200, *, errors=None, follow_form=None, done_form=None,
                         consent_form=None, withdraw_form=None, failed_id=None):
    user = _user()
    person = db.session.get(Person, case.person_id)
    names = ops.staff_names([item.responsible_id] + [f.done_by for f in item.follow_ups]
                            + [c.recorded_by for c in item.consents])
    if follow_form is None:
        follow_form = FollowUpForm(formdata=None)
    if done_form is None:
        done_form = FollowUpDoneForm(formdata=None)
        done_form.done_on.data = ops.today()
    if consent_form is None:
        consent_form = ConsentForm(formdata=None)
        consent_form.given_on.data = ops.today()
    if withdraw_form is None:
        withdraw_form = WithdrawForm(formdata=None)
        withdraw_form.withdrawn_on.data = ops.today()
    decision = db.session.get(Decision, item.decision_id) if item.decision_id else None
    return render_template(
        "cases/intervention.html", item=item, case=case, person=person, names=names, decision=decision,
        access=policy.case_access(user, case), follow_form=follow_form, done_form=done_form,
        consent_form=consent_form, withdraw_form=withdraw_form, errors=errors or [], failed_id=failed_id,
        missing=ops.missing_consents(item, case), today=ops.today(), lang=_lang()), status


@bp.get("/insatser/<uuid:intervention_id>")
@requires("case.read")
def intervention(intervention_id: uuid.UUID):
    user = _user()
    item, case = policy.get_intervention(user, intervention_id, policy.READ)
    ops.view_intervention(user, item)
    return _render_intervention(item, case)


@bp.route("/insatser/<uuid:intervention_id>/andra", methods=["GET", "POST"])
@requires("intervention.write")
def edit_intervention(intervention_id: uuid.UUID):
    user = _user()
    item, case = policy.get_intervention(user, intervention_id, policy.WRITE)
    ops.view_intervention(user, item)
    form = InterventionForm()
    _intervention_choices(form, case, new=False)
    ctx = {"item": item, "types": [item.type]}
    if request.method == "GET":
        form.status.data = item.status.value
        form.start_on.data = item.start_on
        form.end_on.data = item.end_on
        form.responsible_id.data = str(item.responsible_id)
        form.decision_id.data = str(item.decision_id) if item.decision_id else ""
        form.goals.data = item.goals
        form.plan.data = item.plan
        form.plan_agreed_on.data = item.plan_agreed_on
        return _entry_form_page("cases/intervention_form.html", form, case, **ctx)
    return submit_form(
        form, lambda: ops.update_intervention(user, item, case, _intervention_data(form)),
        lambda errors: _entry_form_page("cases/intervention_form.html", form, case, 422, errors=errors, **ctx),
        lambda _r: (_("Insatsen är uppdaterad."), url_for("cases.intervention", intervention_id=item.id)))


@bp.post("/insatser/<uuid:intervention_id>/uppfoljningar")
@requires("intervention.write")
def add_follow_up(intervention_id: uuid.UUID):
    user = _user()
    item, case = policy.get_intervention(user, intervention_id, policy.WRITE)
    form = FollowUpForm()
    ops.view_intervention(user, item)
    return submit_form(
        form, lambda: ops.add_follow_up(user, item, form.due_on.data),
        lambda errors: _render_intervention(item, case, 422, errors=errors, follow_form=form),
        lambda _r: (_("Uppföljningen är planerad."), url_for("cases.intervention", intervention_id=item.id)))


@bp.post("/insatser/<uuid:intervention_id>/uppfoljningar/<uuid:follow_up_id>")
@requires("intervention.write")
def complete_follow_up(intervention_id: uuid.UUID, follow_up_id: uuid.UUID):
    user = _user()
    item, case = policy.get_intervention(user, intervention_id, policy.WRITE)
    form = FollowUpDoneForm()
    ops.view_intervention(user, item)
    return submit_form(
        form, lambda: ops.complete_follow_up(user, item, follow_up_id, form.done_on.data, form.notes.data),
        lambda errors: _render_intervention(item, case, 422, errors=errors, done_form=form,
                                            failed_id=follow_up_id),
        lambda _r: (_("Uppföljningen är registrerad."),
                    url_for("cases.intervention", intervention_id=item.id)))


@bp.post("/insatser/<uuid:intervention_id>/samtycken")
@requires("intervention.write")
def add_consent(intervention_id: uuid.UUID):
    user = _user()
    item, case = policy.get_intervention(user, intervention_id, policy.WRITE)
    form = ConsentForm()
    ops.view_intervention(user, item)
    return submit_form(
        form, lambda: ops.add_consent(user, item, ops.ConsentData(
        form.giver.data, form.form.data, form.given_on.data, form.valid_until.data, form.scope.data)),
        lambda errors: _render_intervention(item, case, 422, errors=errors, consent_form=form),
        lambda _r: (_("Samtycket är registrerat."), url_for("cases.intervention", intervention_id=item.id)))


@bp.post("/insatser/<uuid:intervention_id>/samtycken/<uuid:consent_id>/aterkalla")
@requires("intervention.write")
def withdraw_consent(intervention_id: uuid.UUID, consent_id: uuid.UUID):
    user = _user()
    item, case = policy.get_intervention(user, intervention_id, policy.WRITE)
    form = WithdrawForm()
    ops.view_intervention(user, item)
    return submit_form(
        form, lambda: ops.withdraw_consent(user, item, consent_id, form.withdrawn_on.data),
        lambda errors: _render_intervention(item, case, 422, errors=errors, withdraw_form=form,
                                            failed_id=consent_id),
        lambda _r: (_("Samtycket är återkallat."), url_for("cases.intervention", intervention_id=item.id)))


# -------------------------------------------------------------------------------------------------- groups


@bp.get("/grupper/")
@requires("group.read")
def groups():
    user = _user()
    items = list(db.session.scalars(policy.visible_groups(user).order_by(Group.start_on.desc())))
    return render_template("cases/groups.html", groups=items, names=ops.staff_names(
        [g.leader_id for g in items] + [g.co_leader_id for g in items]), lang=_lang())


def _group_form_choices(form: GroupForm, unit_id) -> None:
    lang = _lang()
    form.type_id.choices = [("", _("Välj …"))] + [(str(t.id), t.display_name(lang))
                                                    for t in ops.intervention_types(group_based=True)]
    form.leader_id.choices = _worker_choices(unit_id, _("Välj …"))
    form.co_leader_id.choices = _worker_choices(unit_id, _("Ingen"))


@bp.route("/grupper/ny", methods=["GET", "POST"])
@requires("group.write")
def new_group():
    user = _user()
    unit_id = policy.group_unit_for_new(user)
    form = GroupForm()
    _group_form_choices(form, unit_id)
    if request.method == "GET":
        form.leader_id.data = str(user.id)
        form.start_on.data = ops.today()
        return render_template("cases/group_form.html", form=form)
    return submit_form(
        form, lambda: ops.create_group(user, unit_id, ops.GroupData(
            form.type_id.data, form.name.data, form.schedule.data, form.leader_id.data, form.co_leader_id.data,
            form.start_on.data, form.end_on.data)),
        lambda errors: (render_template("cases/group_form.html", form=form, errors=errors), 422),
        lambda group: (_("Gruppen är skapad. Lägg till deltagare och tillfällen."),
                       url_for("cases.group", group_id=group.id)))


def _render_group(group, status: int = 200, *, errors=None, session_form=None, member_form=None, leave_form=None):
    user = _user()
    access = policy.group_access(user, group)
    if session_form is None:
        session_form = SessionForm(formdata=None)
        session_form.held_on.data = ops.today()
    if member_form is None:
        member_form = MemberForm(formdata=None)
        member_form.joined_on.data = ops.today()
    candidates = ops.member_candidates(user, group) if "write" in access else []
    people = ops.people_by_id([m.person_id for m in group.members] + [c.person_id for c in candidates])
    for hidden in policy.hidden_person_ids(user, people):  # protected members the user may not open
        people.pop(hidden)
    member_form.case_id.choices = [("", _("Välj …"))] + [
        (str(c.id), f"{people[c.person_id].full_name} ({c.reference})") for c in candidates
        if c.person_id in people and not people[c.person_id].is_shredded]
    if leave_form is None:
        leave_form = LeaveForm(formdata=None)
        leave_form.left_on.data = ops.today()
    ops.view_group(user, group)
    return render_template(
        "cases/group.html", group=group, access=access, people=people, attendance=ops.attendance(group),
        session_form=session_form, member_form=member_form, leave_form=leave_form, errors=errors or [],
        names=ops.staff_names([group.leader_id, group.co_leader_id]), today=ops.today(), lang=_lang(),
        active_members=ops.active_members), status


@bp.get("/grupper/<uuid:group_id>")
@requires("group.read")
def group(group_id: uuid.UUID):
    item = policy.get_group(_user(), group_id, policy.READ)
    return _render_group(item)


@bp.post("/grupper/<uuid:group_id>/tillfallen")
@requires("group.write")
def add_session(group_id: uuid.UUID):
    user = _user()
    item = policy.get_group(user, group_id, policy.WRITE)
    form = SessionForm()
    return submit_form(
        form, lambda: ops.add_session(user, item, form.held_on.data, form.topic.data,
                                      form.other_participants.data),
        lambda errors: _render_group(item, 422, errors=errors, session_form=form),
        lambda _r: (_("Tillfället är registrerat."), url_for("cases.group", group_id=item.id)))


@bp.post("/grupper/<uuid:group_id>/tillfallen/<uuid:session_id>/narvaro")
@requires("group.write")
def attendance(group_id: uuid.UUID, session_id: uuid.UUID):
    user = _user()
    item = policy.get_group(user, group_id, policy.WRITE)
    try:
        ops.record_attendance(user, item, session_id, request.form.getlist("present"))
    except ops.CaseworkError as err:
        return _render_group(item, 422, errors=list(err.errors.values()))
    flash(_("Närvaron är sparad."), "info")
    return redirect(url_for("cases.group", group_id=item.id) + f"#session-{session_id}")


@bp.post("/grupper/<uuid:group_id>/deltagare")
@requires("group.write")
def add_member(group_id: uuid.UUID):
    user = _user()
    item = policy.get_group(user, group_id, policy.WRITE)
    form = MemberForm()
    return submit_form(
        form, lambda: ops.add_member(user, item, form.case_id.data, form.joined_on.data),
        lambda errors: _render_group(item, 422, errors=errors, member_form=form),
        lambda _r: (_("Deltagaren är tillagd."), url_for("cases.group", group_id=item.id)))


@bp.post("/grupper/<uuid:group_id>/deltagare/<uuid:member_id>/avsluta")
@requires("group.write")
def end_member(group_id: uuid.UUID, member_id: uuid.UUID):
    user = _user()
    item = policy.get_group(user, group_id, policy.WRITE)
    form = LeaveForm()
    return submit_form(
        form, lambda: ops.end_membership(user, item, member_id, form.left_on.data),
        lambda errors: _render_group(item, 422, errors=errors, leave_form=form),
        lambda _r: (_("Deltagandet är avslutat."), url_for("cases.group", group_id=item.id)))


# ----------------------------------------------------------------------------------------------- relations


@bp.route("/anhoriga/ny/<uuid:person_id>", methods=["GET", "POST"])
@requires("relation.write")
def new_relation(person_id: uuid.UUID):
    user = _user()
    person = policy.get_person(user, person_id, "read")
    ops.view_case_person(user, person, "relation_new")
    form = RelationForm()
    if request.method == "GET":
        return render_template("cases/relation_form.html", form=form, person=person)
    return submit_form(
        form, lambda: ops.add_relation(user, person, form.relative.data, form.kind.data),
        lambda errors: (render_template("cases/relation_form.html", form=form, person=person,
                                                   errors=errors), 422),
        lambda _r: (_("Den anhörige är kopplad. Kopplingen ger ingen åtkomst till den andres akt."),
                               url_for("cases.person_cases", person_id=person.id)))


@bp.post("/anhoriga/<uuid:relation_id>/avsluta")
@requires("relation.write")
def end_relation(relation_id: uuid.UUID):
    user = _user()
    relation = policy.get_relation(user, relation_id, policy.WRITE)
    try:
        ops.end_relation(user, relation)
    except ops.CaseworkError as err:
        flash(" ".join(err.errors.values()), "error")
        return redirect(url_for("cases.person_cases", person_id=relation.person_id)), 303
    flash(_("Kopplingen är borttagen."), "info")
    return redirect(url_for("cases.person_cases", person_id=relation.person_id))


# ------------------------------------------------------------------------------------ intervention catalogue


@bp.get("/insatskatalog/")
@requires("catalogue.admin")
def catalogue():
    items = ops.intervention_types(active_only=False)
    return render_template("cases/catalogue.html", items=items)


def _type_data(form: TypeForm) -> ops.TypeData:
    return ops.TypeData(form.code.data, form.focus.data, form.name.data, form.name_en.data, form.description.data,
                        form.partners.data, form.needs_consent.data, form.group_based.data, form.needs_decision.data,
                        form.active.data)


@bp.route("/insatskatalog/ny", methods=["GET", "POST"])
@requires("catalogue.admin")
def new_type():
    form = TypeForm()
    if request.method == "GET":
        return render_template("cases/type_form.html", form=form, item=None)
    return submit_form(
        form, lambda: ops.save_intervention_type(_user(), _type_data(form)),
        lambda errors: (render_template("cases/type_form.html", form=form, item=None, errors=errors), 422),
        lambda _r: (_("Insatsen är tillagd i katalogen."), url_for("cases.catalogue")))


@bp.route("/insatskatalog/<uuid:type_id>", methods=["GET", "POST"])
@requires("catalogue.admin")
def edit_type(type_id: uuid.UUID):
    item = db.session.get(InterventionType, type_id)
    if item is None:
        policy.deny(_user(), permission="catalogue.admin", object_type="intervention_type", object_id=type_id,
                    status=404)
    form = TypeForm(obj=item if request.method == "GET" else None)
    if request.method == "GET":
        form.focus.data = item.focus.value
        return render_template("cases/type_form.html", form=form, item=item)
    return submit_form(
        form, lambda: ops.save_intervention_type(_user(), _type_data(form), existing=item),
        lambda errors: (render_template("cases/type_form.html", form=form, item=item, errors=errors), 422),
        lambda _r: (_("Katalogen är uppdaterad."), url_for("cases.catalogue")))
