"""Referral views: thin. Records are loaded through `policy` (which refuses and audits), the work is done in
`operations`. Refused input re-renders with 422 and Swedish messages; the request then rolls back, so nothing is
written (the refusal of a sending and the read events of the page are kept)."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

from flask import Blueprint, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from caseapp.extensions import db
from caseapp.people.models import Person, Protection
from caseapp.referrals import catalogue as rc
from caseapp.referrals import operations as ops
from caseapp.referrals.forms import (
    ConsentForm,
    DisclosureForm,
    LetterForm,
    PartnerForm,
    ProgressForm,
    ReferralForm,
    SendForm,
    WithdrawForm,
)
from caseapp.referrals.models import Partner, SharingConsent
from caseapp.security import policy
from caseapp.security.permissions import requires
from caseapp.views import submit_form

bp = Blueprint("referrals", __name__)


class _Labels:
    """`rf` in templates: the referral catalogue's labels in the current language."""

    STATE_LABELS = rc.STATE_LABELS
    CATEGORY_LABELS = rc.CATEGORY_LABELS
    KIND_LABELS = rc.PARTNER_KIND_LABELS
    OUTCOME_LABELS = rc.OUTCOME_LABELS
    CHANNEL_LABELS = rc.CHANNEL_LABELS
    WAITING_STATES = rc.WAITING_STATES
    basis_label = staticmethod(rc.sharing_basis_label)
    consent_status = staticmethod(ops.consent_status)
    consent_status_label = staticmethod(ops.consent_status_label)

    @staticmethod
    def recipients(consent) -> str:
        return ", ".join([p.name for p in consent.partners]
                         + [str(rc.PARTNER_KIND_LABELS[k]) for k in consent.kind_codes])

    @staticmethod
    def categories(codes) -> str:
        return ", ".join(str(rc.CATEGORY_LABELS[c]) for c in codes)


@bp.record_once
def _jinja_globals(state) -> None:
    state.app.jinja_env.globals["rf"] = _Labels()


def _user():
    return current_user._get_current_object()


@bp.app_template_global("referrals_case_panel")
def _case_panel(case):
    """The referrals panel on the case page (templates/cases/view.html includes it)."""
    user = _user()
    if case is None or not policy.has_permission(user, "referral.read"):
        return None
    return SimpleNamespace(sharing=ops.case_panel(case), access=policy.case_access(user, case))


@bp.app_template_global("referrals_start_panel")
def _start_panel():
    """Referrals waiting for an answer past their follow-up date, on the worker's start page."""
    user = _user()
    if not policy.has_permission(user, "referral.read"):
        return None
    manager = user.role.value == "enhetschef"
    return SimpleNamespace(waiting=ops.waiting_past_follow_up(user, mine_only=not manager, limit=10),
                           manager=manager)


def _person(case) -> Person:
    return db.session.get(Person, case.person_id)


def _partner_choices(blank: str | None = None):
    items = [(str(p.id), p.name) for p in ops.partners()]
    return ([("", blank)] if blank is not None else []) + items


def _consent_choices(case, blank):
    items = []
    for c in ops.consents_for(_user(), case.person_id):
        status = ops.consent_status(c)
        recipients = _Labels.recipients(c)
        label = _("Lämnat %(date)s till %(to)s (%(recipients)s) – %(status)s", date=c.given_on.isoformat(),
                  to=c.valid_to.isoformat(), recipients=recipients, status=ops.consent_status_label(status))
        items.append((str(c.id), label))
    return [("", blank)] + items


# ---------------------------------------------------------------------------------------- the case's page


@bp.get("/arenden/<uuid:case_id>/remisser")
@requires("referral.read")
def case_sharing(case_id: uuid.UUID):
    user = _user()
    case = policy.get_case(user, case_id, policy.READ)
    from caseapp.cases import operations as case_ops

    case_ops.view_case(user, case, "referrals")
    sharing = ops.case_sharing(user, case)
    return render_template("referrals/case.html", case=case, person=_person(case), sharing=sharing,
                           access=policy.case_access(user, case), names=_names_for(sharing))


def _names_for(sharing):
    from caseapp.cases import operations as case_ops

    ids = [c.recorded_by for c in sharing.consents] + [c.withdrawn_by for c in sharing.consents]
    ids += [r.created_by for r in sharing.referrals] + [r.sent_by for r in sharing.referrals]
    ids += [d.recorded_by for d in sharing.disclosures]
    return case_ops.staff_names(ids)


# ---------------------------------------------------------------------------------------------- consents


def _consent_form_page(form, case, status=200, errors=None):
    form.partner_ids.choices = _partner_choices()
    return render_template("referrals/consent_form.html", form=form, case=case, person=_person(case),
                           errors=errors or []), status


@bp.route("/arenden/<uuid:case_id>/samtycken/nytt", methods=["GET", "POST"])
@requires("referral.write")
def new_consent(case_id: uuid.UUID):
    user = _user()
    case = policy.get_case(user, case_id, policy.WRITE)
    from caseapp.cases import operations as case_ops

    case_ops.view_case(user, case, "consent_new")
    form = ConsentForm()
    if request.method == "GET":
        form.given_on.data = form.valid_from.data = ops.today()
        return _consent_form_page(form, case)
    return submit_form(
        form, lambda: ops.record_consent(user, case, ops.ConsentData(
            form.giver.data, form.giver_name.data, form.form.data, form.given_on.data, form.valid_from.data,
            form.valid_to.data, form.partner_ids.data, form.partner_kinds.data, form.categories.data,
            form.purpose.data, form.notes.data)),
        lambda errors: _consent_form_page(form, case, 422, errors),
        lambda consent: (_("Samtycket är registrerat."), url_for("referrals.consent", consent_id=consent.id)))


def _render_consent(consent, case, status=200, withdraw_form=None, errors=None):
    if withdraw_form is None:
        withdraw_form = WithdrawForm(formdata=None)
        withdraw_form.withdrawn_on.data = ops.today()
    from caseapp.cases import operations as case_ops

    relying = ops.referrals_relying_on(consent)
    names = case_ops.staff_names([consent.recorded_by, consent.withdrawn_by])
    return render_template("referrals/consent.html", consent=consent, case=case, person=_person(case),
                           relying=relying, names=names, withdraw_form=withdraw_form,
                           access=policy.case_access(_user(), case), status=ops.consent_status(consent),
                           errors=errors or []), status


@bp.get("/samtycken/<uuid:consent_id>")
@requires("referral.read")
def consent(consent_id: uuid.UUID):
    user = _user()
    item, case = policy.get_sharing_consent(user, consent_id, policy.READ)
    ops.view_consent(user, item)
    return _render_consent(item, case)


@bp.post("/samtycken/<uuid:consent_id>/aterkalla")
@requires("referral.write")
def withdraw_consent(consent_id: uuid.UUID):
    user = _user()
    item, case = policy.get_sharing_consent(user, consent_id, policy.WRITE)
    form = WithdrawForm()

    def page(errors):
        ops.view_consent(user, item)
        return _render_consent(item, case, 422, form, errors)

    return submit_form(
        form, lambda: ops.withdraw_consent(user, item, case, form.withdrawn_on.data), page,
        lambda relying: (_("Samtycket är återkallat. Inga uppgifter kan lämnas med stöd av det (%(n)d remisser "
                           "byggde på det).", n=len(relying)), url_for("referrals.consent", consent_id=item.id)))


# --------------------------------------------------------------------------------------------- referrals


def _referral_form_page(form, case, referral=None, status=200, errors=None):
    form.partner_id.choices = _partner_choices(_("Välj …"))
    form.consent_id.choices = _consent_choices(case, _("Inget samtycke"))
    person = _person(case)
    return render_template("referrals/referral_form.html", form=form, case=case, person=person,
                           referral=referral, errors=errors or [],
                           sekretess=person.protection is Protection.SEKRETESSMARKERING), status


def _referral_data(form) -> ops.ReferralData:
    return ops.ReferralData(form.partner_id.data, form.purpose.data, form.categories.data, form.consent_id.data,
                            form.legal_basis.data, form.justification.data, form.journal_excerpt.data,
                            form.assessment.data, form.include_address.data, form.follow_up_on.data)


@bp.route("/arenden/<uuid:case_id>/remisser/ny", methods=["GET", "POST"])
@requires("referral.write")
def new_referral(case_id: uuid.UUID):
    user = _user()
    case = policy.get_case(user, case_id, policy.WRITE)
    from caseapp.cases import operations as case_ops

    case_ops.view_case(user, case, "referral_new")
    form = ReferralForm()
    if request.method == "GET":
        return _referral_form_page(form, case)
    return submit_form(
        form, lambda: ops.create_referral(user, case, _referral_data(form)),
        lambda errors: _referral_form_page(form, case, status=422, errors=errors),
        lambda referral: (_("Remissen är sparad som utkast. Granska brevet och skicka den."),
                          url_for("referrals.referral", referral_id=referral.id)))


@bp.route("/remisser/<uuid:referral_id>/andra", methods=["GET", "POST"])
@requires("referral.write")
def edit_referral(referral_id: uuid.UUID):
    user = _user()
    item, case = policy.get_referral(user, referral_id, policy.WRITE)
    ops.view_referral(user, item, "referral_edit")
    if request.method == "GET":
        form = ReferralForm(formdata=None, obj=item)
        form.partner_id.data = str(item.partner_id)
        form.consent_id.data = str(item.consent_id) if item.consent_id else ""
        form.legal_basis.data = item.legal_basis or ""
        form.categories.data = [c.value for c in item.category_codes]
        return _referral_form_page(form, case, item)
    form = ReferralForm()
    return submit_form(
        form, lambda: ops.update_referral(user, item, case, _referral_data(form)),
        lambda errors: _referral_form_page(form, case, item, 422, errors),
        lambda _r: (_("Utkastet är sparat."), url_for("referrals.referral", referral_id=item.id)))


def _render_referral(item, case, status=200, *, send_form=None, progress_form=None, letter_form=None,
                     errors=None):
    user = _user()
    letter, person = ops.letter_for(user, item, case)
    if send_form is None:
        send_form = SendForm(formdata=None)
    if letter_form is None:
        letter_form = LetterForm(formdata=None)
    if progress_form is None:
        progress_form = ProgressForm(formdata=None)
        progress_form.on.data = ops.today()
    progress_form.target.choices = [("", _("Välj …"))] + [
        (s.value, str(rc.STATE_LABELS[s])) for s in rc.NEXT_STATES[item.state]]
    from caseapp.cases import operations as case_ops

    names = case_ops.staff_names([item.created_by, item.sent_by])
    return render_template("referrals/referral.html", referral=item, case=case, person=person, letter=letter,
                           send_form=send_form, progress_form=progress_form, letter_form=letter_form,
                           access=policy.case_access(user, case), names=names, errors=errors or [],
                           today=ops.today()), status


@bp.get("/remisser/<uuid:referral_id>")
@requires("referral.read")
def referral(referral_id: uuid.UUID):
    user = _user()
    item, case = policy.get_referral(user, referral_id, policy.READ)
    ops.view_referral(user, item)
    return _render_referral(item, case)


@bp.post("/remisser/<uuid:referral_id>/skicka")
@requires("referral.write")
def send(referral_id: uuid.UUID):
    user = _user()
    item, case = policy.get_referral(user, referral_id, policy.WRITE)
    form = SendForm()
    ops.view_referral(user, item)
    return submit_form(
        form, lambda: ops.send_referral(user, item, case, confirm_protected=bool(form.confirm_protected.data),
                                        channel=form.channel.data),
        lambda errors: _render_referral(item, case, 422, send_form=form, errors=errors),
        lambda _r: (_("Remissen är skickad till %(name)s och utlämnandet är registrerat.", name=item.partner.name),
                    url_for("referrals.referral", referral_id=item.id)))


@bp.post("/remisser/<uuid:referral_id>/lage")
@requires("referral.write")
def progress(referral_id: uuid.UUID):
    user = _user()
    item, case = policy.get_referral(user, referral_id, policy.WRITE)
    form = ProgressForm()
    ops.view_referral(user, item)
    return submit_form(
        form, lambda: ops.progress_referral(user, item, case, ops.ProgressData(
            form.target.data, form.on.data, form.text.data, form.outcome_code.data, form.follow_up_on.data)),
        lambda errors: _render_referral(item, case, 422, progress_form=form, errors=errors),
        lambda _r: (_("Remissen är nu %(state)s.", state=rc.STATE_LABELS[item.state]),
                    url_for("referrals.referral", referral_id=item.id)))


@bp.post("/remisser/<uuid:referral_id>/utskrift")
@requires("referral.read")
def print_letter(referral_id: uuid.UUID):
    user = _user()
    item, case = policy.get_referral(user, referral_id, policy.READ)
    form = LetterForm()
    ops.view_referral(user, item)
    if not form.validate_on_submit():
        return _render_referral(item, case, 422, letter_form=form)
    try:
        letter = ops.print_letter(user, item, case, confirmed=bool(form.confirm_protected.data))
    except ops.ReferralError as err:
        return _render_referral(item, case, 422, letter_form=form, errors=form.add_errors(err.errors))
    return render_template("referrals/letter_print.html", letter=letter, referral=item)


@bp.post("/remisser/<uuid:referral_id>/pdf")
@requires("referral.read")
def pdf(referral_id: uuid.UUID):
    user = _user()
    item, case = policy.get_referral(user, referral_id, policy.READ)
    form = LetterForm()
    ops.view_referral(user, item)
    if not form.validate_on_submit():
        return _render_referral(item, case, 422, letter_form=form)
    try:
        data = ops.export_letter_pdf(user, item, case, confirmed=bool(form.confirm_protected.data))
    except ops.ReferralError as err:
        return _render_referral(item, case, 422, letter_form=form, errors=form.add_errors(err.errors))
    response = make_response(data)
    response.headers["Content-Type"] = "application/pdf"
    # The file name carries no personal data: the referral's id only.
    response.headers["Content-Disposition"] = f'attachment; filename="remiss-{item.id}.pdf"'
    return response


# ------------------------------------------------------------------------------------------- disclosures


def _disclosure_form_page(form, case, status=200, errors=None):
    form.partner_id.choices = _partner_choices(_("Välj …"))
    form.consent_id.choices = _consent_choices(case, _("Inget samtycke"))
    return render_template("referrals/disclosure_form.html", form=form, case=case, person=_person(case),
                           errors=errors or []), status


def _preselect_basis(form: DisclosureForm, code: str | None) -> None:
    """`?grund=osl_10_18c` (the domestic-violence team's "risk of serious violence" link): the legal basis chosen
    and, for a basis that names the police only, the police recipient; the worker still reviews everything."""
    basis = rc.SHARING_BASIS_BY_CODE.get(code or "")
    if basis is None:
        return
    form.legal_basis.data = basis.code
    if basis.recipient_kinds == frozenset({rc.PartnerKind.POLICE}):
        police = db.session.scalar(select(Partner.id).where(Partner.kind == rc.PartnerKind.POLICE, Partner.active)
                                   .order_by(Partner.name).limit(1))
        if police is not None:
            form.partner_id.data = str(police)


@bp.route("/arenden/<uuid:case_id>/utlamnanden/nytt", methods=["GET", "POST"])
@requires("referral.write")
def new_disclosure(case_id: uuid.UUID):
    user = _user()
    case = policy.get_case(user, case_id, policy.WRITE)
    from caseapp.cases import operations as case_ops

    case_ops.view_case(user, case, "disclosure_new")
    form = DisclosureForm()
    if request.method == "GET":
        form.disclosed_on.data = ops.today()
        _preselect_basis(form, request.args.get("grund"))
        return _disclosure_form_page(form, case)

    def record():
        pid = ops._as_uuid(form.partner_id.data)
        partner = db.session.get(Partner, pid) if pid else None
        consent = None
        cid = ops._as_uuid(form.consent_id.data)
        if cid is not None:
            consent = db.session.scalar(policy.consents_of_person(user, case.person_id)
                                        .where(SharingConsent.id == cid))
        if form.consent_id.data and consent is None:
            raise ops.ReferralError({"consent_id": _("Okänt samtycke.")})
        return ops.record_disclosure(user, case, partner, form.legal_basis.data, form.justification.data,
                                     form.categories.data, consent=consent, description=form.description.data,
                                     recipient_detail=form.recipient_detail.data, channel=form.channel.data,
                                     disclosed_on=form.disclosed_on.data)

    return submit_form(
        form, record, lambda errors: _disclosure_form_page(form, case, 422, errors),
        lambda item: (_("Utlämnandet är registrerat."),
                                     url_for("referrals.disclosure", disclosure_id=item.id)))


@bp.get("/utlamnanden/<uuid:disclosure_id>")
@requires("referral.read")
def disclosure(disclosure_id: uuid.UUID):
    user = _user()
    item, case = policy.get_disclosure(user, disclosure_id, policy.READ)
    ops.view_disclosure(user, item)
    from caseapp.cases import operations as case_ops

    return render_template("referrals/disclosure.html", item=item, case=case, person=_person(case),
                           names=case_ops.staff_names([item.recorded_by]))


# ---------------------------------------------------------------------------------------------- overview


@bp.get("/remisser/")
@requires("referral.read")
def overview():
    user = _user()
    return render_template("referrals/overview.html", rows=ops.unit_overview(user),
                           waiting=ops.waiting_past_follow_up(user), states=list(rc.ReferralState),
                           outcomes=list(rc.Outcome))


# ---------------------------------------------------------------------------------------------- partners


@bp.get("/partner/")
@requires("partner.admin")
def partners():
    return render_template("referrals/partners.html", partners=ops.partners(active_only=False))


@bp.route("/partner/ny", methods=["GET", "POST"])
@requires("partner.admin")
def new_partner():
    form = PartnerForm()
    if request.method == "GET":
        return render_template("referrals/partner_form.html", form=form, partner=None)
    return _save_partner(form, None)


@bp.route("/partner/<uuid:partner_id>", methods=["GET", "POST"])
@requires("partner.admin")
def edit_partner(partner_id: uuid.UUID):
    partner = policy.get_partner_for_admin(_user(), partner_id)
    if request.method == "GET":
        form = PartnerForm(formdata=None, obj=partner)
        form.kind.data = partner.kind.value
        return render_template("referrals/partner_form.html", form=form, partner=partner)
    return _save_partner(PartnerForm(), partner)


def _save_partner(form, partner):
    return submit_form(
        form, lambda: ops.save_partner(_user(), ops.PartnerData(form.name.data, form.kind.data, form.contact.data,
                                                                form.active.data), partner),
        lambda errors: (render_template("referrals/partner_form.html", form=form, partner=partner, errors=errors),
                        422),
        lambda _r: (_("Samverkanspartnern är sparad."), url_for("referrals.partners")))
