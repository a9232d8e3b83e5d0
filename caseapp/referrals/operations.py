"""Referral operations: partners, sharing consent, referrals (draft, send, the partner's answer, outcome),
disclosures, the referral letter (HTML data and PDF) and the overviews.

Plain arguments in (the acting user, records loaded through `policy`, the data). Everything is validated before
anything changes; nothing here commits. Sending (and every disclosure) is checked by `check_basis`: a valid
consent of the person that covers the recipient and every chosen data category on the day, or a legal basis
from `catalogue.SHARING_BASES` with a justification. A refusal writes nothing but a "denied" audit event (kept
when the request rolls back) and raises `ReferralError` with a Swedish message. docs/referrals.md describes it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import uuid
import zlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from caseapp.cases import operations as case_ops
from caseapp.cases.catalogue import ConsentGiver, DecisionStatus
from caseapp.cases.models import Case, Decision, Intervention
from caseapp.cases.operations import CaseworkError, check_date, clean_text, today
from caseapp.cases.presence import reach_presence
from caseapp.extensions import db
from caseapp.people.models import Person, Protection
from caseapp.referrals.catalogue import (
    CATEGORY_LABELS,
    CATEGORY_ORDER,
    CHANNEL_LABELS,
    NEXT_STATES,
    OUTCOME_LABELS,
    PARTNER_KIND_LABELS,
    PARTNER_SEED,
    SHARING_BASIS_BY_CODE,
    STATE_LABELS,
    WAITING_STATES,
    Channel,
    DataCategory,
    Outcome,
    PartnerKind,
    ReferralState,
    join_codes,
)
from caseapp.referrals.models import Disclosure, Partner, Referral, SharingConsent
from caseapp.security import audit, policy
from caseapp.timeutil import utcnow

MAX_TEXT = 4000
MAX_EXCERPT = 8000
MAX_SHORT = 200
CONSENT_YEARS = 3  # how far ahead a consent may run


class ReferralError(CaseworkError):
    """Refused input or a refused sending: Swedish messages per form field ("" for the whole form)."""


def _raise(errors: dict[str, str]) -> None:
    if errors:
        raise ReferralError(errors)


def _enum(cls, value: Any, name: str, errors: dict[str, str], message: str):
    try:
        return cls(value)
    except (ValueError, TypeError):
        errors[name] = message
        return None


def _categories(values: Any, name: str, errors: dict[str, str], *, required: bool = True) -> list[DataCategory]:
    values = list(values or [])
    result = []
    for v in values:
        try:
            result.append(DataCategory(v))
        except (ValueError, TypeError):
            errors[name] = _("Okänd uppgiftskategori.")
            return []
    if required and not result:
        errors[name] = _("Välj minst en kategori av uppgifter.")
    return [c for c in CATEGORY_ORDER if c in set(result)]


def _as_uuid(value: Any) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value)) if value not in (None, "") else None
    except (ValueError, TypeError):
        return None


def _audit_codes(codes: Iterable[Any]) -> str:
    return ".".join(str(c) for c in codes)[:80]


# --------------------------------------------------------------------------------------------- partners


def ensure_partners() -> int:
    """Add the seed partners that are missing (by name). Returns how many were added."""
    existing = set(db.session.scalars(select(Partner.name)))
    added = 0
    for name, kind, contact in PARTNER_SEED:
        if name not in existing:
            db.session.add(Partner(id=uuid.uuid4(), name=name, kind=kind, contact=contact, active=True))
            added += 1
    db.session.flush()
    return added


def partners(*, active_only: bool = True) -> list[Partner]:
    query = select(Partner).order_by(Partner.name)
    if active_only:
        query = query.where(Partner.active.is_(True))
    return list(db.session.scalars(query))


@dataclass
class PartnerData:
    name: Any = None
    kind: Any = None
    contact: Any = None
    active: Any = True


def save_partner(actor: Any, data: PartnerData, existing: Partner | None = None) -> Partner:
    errors: dict[str, str] = {}
    name = clean_text(data.name, "name", errors, max_len=120, required=True, multiline=False)
    kind = _enum(PartnerKind, data.kind, "kind", errors, _("Välj vilken sorts samverkanspartner det är."))
    contact = clean_text(data.contact, "contact", errors, max_len=MAX_SHORT, multiline=False) or ""
    if name and db.session.scalar(select(Partner.id).where(
            Partner.name == name, Partner.id != (existing.id if existing else uuid.UUID(int=0)))) is not None:
        errors["name"] = _("Det finns redan en samverkanspartner med det namnet.")
    _raise(errors)
    now = utcnow()
    partner = existing or Partner(id=uuid.uuid4(), created_at=now)
    partner.name, partner.kind, partner.contact = name, kind, contact
    partner.active = bool(data.active)
    partner.updated_at = now
    if existing is None:
        db.session.add(partner)
    audit.record("update" if existing else "create", actor=actor, object_type="partner", object_id=partner.id,
                 details={"kind": kind.value, "active": partner.active})
    return partner


# ------------------------------------------------------------------------------------------ consent


@dataclass
class ConsentData:
    giver: Any = None
    giver_name: Any = None
    form: Any = None
    given_on: Any = None
    valid_from: Any = None
    valid_to: Any = None
    partner_ids: Any = field(default_factory=list)
    partner_kinds: Any = field(default_factory=list)
    categories: Any = field(default_factory=list)
    purpose: Any = None
    notes: Any = None


def record_consent(actor: Any, case: Case, data: ConsentData) -> SharingConsent:
    """A sharing consent of the case's person, recorded in `case` (the actor must write the case)."""
    errors: dict[str, str] = {}
    giver = _enum(ConsentGiver, data.giver, "giver", errors, _("Välj vem som lämnat samtycket."))
    giver_name = clean_text(data.giver_name, "giver_name", errors, max_len=120, multiline=False)
    if giver is ConsentGiver.GUARDIAN and not giver_name and "giver_name" not in errors:
        errors["giver_name"] = _("Ange vårdnadshavarens namn.")
    if giver is ConsentGiver.GUARDIAN:
        person = db.session.get(Person, case.person_id)
        info = person.identity_info if person is not None and not person.is_shredded else None
        if info is not None and not info.is_child(today()):
            errors["giver"] = _("Personen är vuxen: samtycket lämnas av personen själv.")
    if data.form not in ("muntligt", "skriftligt"):
        errors["form"] = _("Välj om samtycket är muntligt eller skriftligt.")
    given = check_date(data.given_on, "given_on", errors, past_only=True)
    start = check_date(data.valid_from, "valid_from", errors, future_years=1)
    end = check_date(data.valid_to, "valid_to", errors, future_years=CONSENT_YEARS)
    if start and end and end < start:
        errors["valid_to"] = _("Samtycket kan inte gälla till ett datum före det börjar gälla.")
    if given and start and start < given:
        errors["valid_from"] = _("Samtycket kan inte gälla från ett datum före det lämnades.")
    chosen_partners: list[Partner] = []
    for raw in data.partner_ids or []:
        pid = _as_uuid(raw)
        partner = db.session.get(Partner, pid) if pid else None
        if partner is None:
            errors["partner_ids"] = _("Okänd mottagare.")
            break
        chosen_partners.append(partner)
    kinds = []
    for raw in data.partner_kinds or []:
        kind = _enum(PartnerKind, raw, "partner_kinds", errors, _("Okänd sorts mottagare."))
        if kind is None:
            break
        kinds.append(kind)
    if not chosen_partners and not kinds and "partner_ids" not in errors and "partner_kinds" not in errors:
        errors["partner_ids"] = _("Ange vilka mottagare samtycket gäller.")
    categories = _categories(data.categories, "categories", errors)
    purpose = clean_text(data.purpose, "purpose", errors, max_len=MAX_TEXT, required=True,
                         required_message=_("Ange syftet som samtycket gäller."))
    notes = clean_text(data.notes, "notes", errors, max_len=MAX_TEXT)
    _raise(errors)
    consent = SharingConsent(id=uuid.uuid4(), person_id=case.person_id, case_id=case.id, giver=giver,
                             form=data.form, given_on=given, valid_from=start, valid_to=end,
                             partner_kinds=join_codes(k.value for k in kinds),
                             categories=join_codes(c.value for c in categories), recorded_by=actor.id,
                             recorded_at=utcnow())
    consent.purpose = purpose
    consent.giver_name = giver_name
    consent.notes = notes
    consent.partners = chosen_partners
    db.session.add(consent)
    audit.record("create", actor=actor, object_type="sharing_consent", object_id=consent.id,
                 subject_person_id=case.person_id,
                 details={"case": case.id, "giver": giver.value, "categories": _audit_codes(categories)})
    return consent


def withdraw_consent(actor: Any, consent: SharingConsent, case: Case, on: Any) -> list[Referral]:
    """Withdraw a consent from `on` (today or earlier). Every future sending that relies on it is refused from
    then on; returns the referrals that relied on it (they show the withdrawal)."""
    errors: dict[str, str] = {}
    if consent.is_withdrawn:
        errors[""] = _("Samtycket är redan återkallat.")
    day = check_date(on, "withdrawn_on", errors, past_only=True, not_before=consent.given_on,
                     not_before_message=_("Samtycket kan inte återkallas före det lämnades."))
    _raise(errors)
    consent.withdrawn_on = day
    consent.withdrawn_at = utcnow()
    consent.withdrawn_by = actor.id
    relying = referrals_relying_on(consent)
    audit.record("update", actor=actor, object_type="sharing_consent", object_id=consent.id,
                 subject_person_id=consent.person_id, details={"withdrawn": day.isoformat(),
                                                               "referrals": len(relying)})
    return relying


def referrals_relying_on(consent: SharingConsent) -> list[Referral]:
    return list(db.session.scalars(select(Referral).where(Referral.consent_id == consent.id)
                                   .order_by(Referral.created_at)))


def consent_status(consent: SharingConsent, on: date | None = None) -> str:
    """"withdrawn", "not_yet_valid", "expired" or "valid" on the day."""
    on = on or today()
    if consent.is_withdrawn and (consent.withdrawn_on is None or consent.withdrawn_on <= on):
        return "withdrawn"
    if on < consent.valid_from:
        return "not_yet_valid"
    if on > consent.valid_to:
        return "expired"
    return "valid"


def consent_status_label(status: str) -> str:
    return {"withdrawn": _("Återkallat"), "not_yet_valid": _("Gäller inte än"), "expired": _("Har gått ut"),
            "valid": _("Gäller")}[status]


def consents_for(actor: Any, person_id: uuid.UUID) -> list[SharingConsent]:
    """The person's consents the actor may see (recorded in cases the actor reads), newest first."""
    return list(db.session.scalars(policy.consents_of_person(actor, person_id)
                                   .order_by(SharingConsent.recorded_at.desc())))


def view_consent(actor: Any, consent: SharingConsent) -> None:
    audit.record("view", actor=actor, object_type="sharing_consent", object_id=consent.id,
                 subject_person_id=consent.person_id, persist_on_failure=True)


# ------------------------------------------------------------------------------------- the basis check


@dataclass
class Refusal:
    reason: str  # a code for the audit event
    message: str  # Swedish, for the user
    field: str = ""


def check_basis(person: Person, partner: Partner, categories: list[DataCategory], *,
                consent: SharingConsent | None, legal_basis: str | None, justification: str | None,
                on: date) -> Refusal | None:
    """Whether data of `categories` about `person` may go to `partner` on `on`: None if so, else the refusal.

    Either a consent of that person, valid on the day (given, from/to, not withdrawn), naming the partner (or
    its kind) and covering every category; or a legal basis from the catalogue, allowed for the partner's kind
    (and the person's age), with a written justification. Never both, never neither."""
    if not partner.active:
        return Refusal("partner_inactive", _("Mottagaren är inte längre aktiv i partnerlistan."), "partner_id")
    if not categories:
        return Refusal("no_categories", _("Välj vilka uppgifter som ska lämnas."), "categories")
    if consent is not None and legal_basis:
        return Refusal("two_bases", _("Välj antingen ett samtycke eller en rättslig grund, inte båda."), "")
    if consent is not None:
        if consent.person_id != person.id:
            return Refusal("consent_other_person", _("Samtycket gäller en annan person."), "consent_id")
        status = consent_status(consent, on)
        if status == "withdrawn":
            return Refusal("consent_withdrawn", _("Samtycket är återkallat. Uppgifterna får inte lämnas med stöd "
                                                  "av det."), "consent_id")
        if status == "expired":
            return Refusal("consent_expired", _("Samtycket gällde till och med %(date)s och har gått ut.",
                                                date=consent.valid_to.isoformat()), "consent_id")
        if status == "not_yet_valid":
            return Refusal("consent_not_yet_valid", _("Samtycket gäller först från %(date)s.",
                                                      date=consent.valid_from.isoformat()), "consent_id")
        if not consent.covers_partner(partner):
            return Refusal("consent_other_recipient", _("Samtycket gäller inte mottagaren %(name)s.",
                                                        name=partner.name), "consent_id")
        missing = [c for c in categories if c not in consent.category_codes]
        if missing:
            return Refusal("consent_other_data", _("Samtycket omfattar inte: %(list)s. Välj bort de uppgifterna "
                                                   "eller be om ett nytt samtycke.",
                                                   list=", ".join(str(CATEGORY_LABELS[c]) for c in missing)),
                           "categories")
        return None
    if not legal_basis:
        return Refusal("no_basis", _("Det finns inget giltigt samtycke och ingen rättslig grund. Uppgifterna får "
                                     "inte lämnas."), "consent_id")
    basis = SHARING_BASIS_BY_CODE.get(legal_basis)
    if basis is None or not basis.active:
        return Refusal("basis_unknown", _("Välj en rättslig grund ur listan."), "legal_basis")
    if not justification:
        return Refusal("no_justification", _("En rättslig grund kräver en motivering: skriv varför uppgifterna "
                                             "lämnas och varför de behövs."), "justification")
    if basis.recipient_kinds and partner.kind not in basis.recipient_kinds:
        return Refusal("basis_recipient", _("%(basis)s gäller inte utlämnande till %(name)s.",
                                            basis=basis.provision, name=partner.name), "legal_basis")
    if basis.max_age is not None:
        info = person.identity_info if not person.is_shredded else None
        if info is not None and info.age(on) >= basis.max_age:
            return Refusal("basis_age", _("%(basis)s gäller bara den som inte har fyllt %(age)d år.",
                                          basis=basis.provision, age=basis.max_age), "legal_basis")
    return None


def _refuse(actor: Any, refusal: Refusal, *, object_type: str, object_id: Any, subject: Any,
            partner: Partner | None) -> None:
    """Audit the refused disclosure (kept when the request rolls back) and raise."""
    audit.record("denied", outcome="denied", actor=actor, object_type=object_type, object_id=object_id,
                 subject_person_id=subject,
                 details={"permission": "referral.send", "reason": refusal.reason,
                          "partner": partner.id if partner else None},
                 persist_on_failure=True)
    raise ReferralError({refusal.field: refusal.message} if refusal.field else refusal.message)


# ---------------------------------------------------------------------------------------- disclosures


def record_disclosure(actor: Any, case: Case, recipient_partner: Partner | None, legal_basis_code: str | None,
                      justification: Any, categories: Iterable[Any], *, consent: SharingConsent | None = None,
                      description: Any = None, recipient_detail: Any = None, channel: Any = Channel.PHONE,
                      disclosed_on: Any = None, source: str = "manual",
                      referral: Referral | None = None, content: str | None = None) -> Disclosure:
    """Record that data about the case's person was disclosed to `recipient_partner` (for instance to the
    police without consent, OSL 10 kap. 18 b or 18 c §), and write its "disclose" audit event.

    The same check as a referral: a valid consent covering the recipient and the categories, or a legal basis
    with a justification. The actor must write the case (load it with `policy.get_case(user, id, "write")`).
    `source` names the flow ("manual", "referral", or e.g. "dv_risk" for the domestic-violence team's
    risk-of-serious-violence flow); `content` is the document as it left, if there was one (kept encrypted). Refused: a "denied" audit event and `ReferralError`; nothing is written."""
    errors: dict[str, str] = {}
    if recipient_partner is None:
        errors["partner_id"] = _("Välj mottagare.")
    cats = _categories(categories, "categories", errors)
    text = clean_text(justification, "justification", errors, max_len=MAX_TEXT)
    what = clean_text(description, "description", errors, max_len=MAX_TEXT, required=referral is None,
                      required_message=_("Beskriv vilka uppgifter som lämnades."))
    detail = clean_text(recipient_detail, "recipient_detail", errors, max_len=MAX_SHORT, multiline=False)
    how = _enum(Channel, channel, "channel", errors, _("Välj hur uppgifterna lämnades."))
    day = check_date(disclosed_on if disclosed_on is not None else today(), "disclosed_on", errors,
                     past_only=True)
    if not isinstance(source, str) or not source.replace("_", "").isalnum() or len(source) > 32:
        errors[""] = _("Ogiltig källa.")
    if legal_basis_code in ("", None):
        legal_basis_code = None
    elif legal_basis_code not in SHARING_BASIS_BY_CODE:
        errors["legal_basis"] = _("Välj en rättslig grund ur listan.")
    _raise(errors)
    person = db.session.get(Person, case.person_id)
    refusal = check_basis(person, recipient_partner, cats, consent=consent, legal_basis=legal_basis_code,
                          justification=text, on=day)
    if refusal is not None:
        _refuse(actor, refusal, object_type="referral" if referral else "disclosure",
                object_id=referral.id if referral else None, subject=case.person_id, partner=recipient_partner)
    item = Disclosure(id=uuid.uuid4(), case_id=case.id, person_id=case.person_id, unit_id=case.unit_id,
                      partner_id=recipient_partner.id, referral_id=referral.id if referral else None,
                      consent_id=consent.id if consent else None, legal_basis=legal_basis_code,
                      categories=join_codes(c.value for c in cats), channel=how, source=source,
                      disclosed_on=day, recorded_by=actor.id, recorded_at=utcnow())
    item.justification = text
    item.description = what
    item.recipient_detail = detail
    item.content = content
    db.session.add(item)
    audit.record("disclose", actor=actor, object_type="disclosure", object_id=item.id,
                 subject_person_id=case.person_id,
                 details={"partner": recipient_partner.id, "basis": legal_basis_code or "consent",
                          "consent": consent.id if consent else None, "referral": referral.id if referral else None,
                          "categories": _audit_codes(c.value for c in cats), "source": source})
    return item


def view_disclosure(actor: Any, item: Disclosure) -> None:
    audit.record("view", actor=actor, object_type="disclosure", object_id=item.id,
                 subject_person_id=item.person_id, persist_on_failure=True)


# ------------------------------------------------------------------------------------------ referrals


@dataclass
class ReferralData:
    partner_id: Any = None
    purpose: Any = None
    categories: Any = field(default_factory=list)
    consent_id: Any = None
    legal_basis: Any = None
    justification: Any = None
    journal_excerpt: Any = None
    assessment: Any = None
    include_address: Any = False
    follow_up_on: Any = None


def _clean_referral(actor: Any, case: Case, data: ReferralData, errors: dict[str, str]):
    pid = _as_uuid(data.partner_id)
    partner = db.session.get(Partner, pid) if pid else None
    if partner is None or not partner.active:
        errors["partner_id"] = _("Välj en mottagare ur partnerlistan.")
    purpose = clean_text(data.purpose, "purpose", errors, max_len=MAX_TEXT, required=True,
                         required_message=_("Ange syftet med remissen."))
    cats = _categories(data.categories, "categories", errors)
    consent = None
    cid = _as_uuid(data.consent_id)
    if data.consent_id not in (None, "") and cid is None:
        errors["consent_id"] = _("Okänt samtycke.")
    elif cid is not None:
        consent = db.session.scalar(policy.consents_of_person(actor, case.person_id)
                                    .where(SharingConsent.id == cid))
        if consent is None:
            errors["consent_id"] = _("Okänt samtycke.")
    basis = data.legal_basis or None
    if basis is not None and basis not in SHARING_BASIS_BY_CODE:
        errors["legal_basis"] = _("Välj en rättslig grund ur listan.")
    elif consent is not None and basis:
        errors["legal_basis"] = _("Välj antingen ett samtycke eller en rättslig grund, inte båda.")
    justification = clean_text(data.justification, "justification", errors, max_len=MAX_TEXT)
    excerpt = clean_text(data.journal_excerpt, "journal_excerpt", errors, max_len=MAX_EXCERPT)
    assessment = clean_text(data.assessment, "assessment", errors, max_len=MAX_EXCERPT)
    if DataCategory.JOURNAL_EXCERPT in cats and not excerpt and "journal_excerpt" not in errors:
        errors["journal_excerpt"] = _("Skriv utdraget ur journalen, eller välj bort kategorin.")
    if DataCategory.ASSESSMENT in cats and not assessment and "assessment" not in errors:
        errors["assessment"] = _("Skriv bedömningen, eller välj bort kategorin.")
    follow_up = check_date(data.follow_up_on, "follow_up_on", errors, required=False,
                           not_before=today(), not_before_message=_("Uppföljningsdatumet kan inte ha passerat."))
    return {"partner": partner, "purpose": purpose, "cats": cats, "consent": consent, "basis": basis,
            "justification": justification, "excerpt": excerpt, "assessment": assessment, "follow_up": follow_up}


def _apply(referral: Referral, v: dict, include_address: bool) -> None:
    referral.partner_id = v["partner"].id
    referral.partner = v["partner"]
    referral.categories = join_codes(c.value for c in v["cats"])
    referral.consent_id = v["consent"].id if v["consent"] else None
    referral.consent = v["consent"]
    referral.legal_basis = v["basis"]
    referral.follow_up_on = v["follow_up"]
    referral.include_address = include_address and DataCategory.CONTACT in v["cats"]
    referral.purpose = v["purpose"]
    referral.justification = v["justification"]
    # Texts of categories not chosen are not kept: the letter could never show them, nor could a later edit.
    referral.journal_excerpt = v["excerpt"] if DataCategory.JOURNAL_EXCERPT in v["cats"] else None
    referral.assessment = v["assessment"] if DataCategory.ASSESSMENT in v["cats"] else None
    referral.updated_at = utcnow()


def create_referral(actor: Any, case: Case, data: ReferralData) -> Referral:
    errors: dict[str, str] = {}
    if not case.is_open:
        errors[""] = _("Ärendet är avslutat; ingen ny remiss kan skrivas.")
    v = _clean_referral(actor, case, data, errors)
    _raise(errors)
    referral = Referral(id=uuid.uuid4(), case_id=case.id, person_id=case.person_id, unit_id=case.unit_id,
                        state=ReferralState.DRAFT, created_by=actor.id, created_at=utcnow())
    _apply(referral, v, bool(data.include_address))
    db.session.add(referral)
    audit.record("create", actor=actor, object_type="referral", object_id=referral.id,
                 subject_person_id=case.person_id,
                 details={"case": case.id, "partner": v["partner"].id, "categories": _audit_codes(v["cats"])})
    return referral


def update_referral(actor: Any, referral: Referral, case: Case, data: ReferralData) -> None:
    errors: dict[str, str] = {}
    if referral.state is not ReferralState.DRAFT:
        errors[""] = _("Bara ett utkast kan ändras. En skickad remiss är en handling som redan lämnats ut.")
    v = _clean_referral(actor, case, data, errors)
    _raise(errors)
    _apply(referral, v, bool(data.include_address))
    audit.record("update", actor=actor, object_type="referral", object_id=referral.id,
                 subject_person_id=case.person_id,
                 details={"partner": v["partner"].id, "categories": _audit_codes(v["cats"])})


def view_referral(actor: Any, referral: Referral, page: str = "referral") -> None:
    audit.record("view", actor=actor, object_type="referral", object_id=referral.id,
                 subject_person_id=referral.person_id, details={"page": page}, persist_on_failure=True)


def _check_protected(actor: Any, referral: Referral, person: Person, confirmed: bool, action: str) -> None:
    if person.protection is not Protection.NONE and not confirmed:
        audit.record("denied", outcome="denied", actor=actor, object_type="referral", object_id=referral.id,
                     subject_person_id=person.id,
                     details={"permission": f"referral.{action}", "reason": "protected_not_confirmed"},
                     persist_on_failure=True)
        raise ReferralError({"confirm_protected": _(
            "Personen har skyddade personuppgifter (%(level)s). Granska brevet och bekräfta granskningen innan "
            "något lämnar förvaltningen.", level=person.protection.label)})


def send_referral(actor: Any, referral: Referral, case: Case, *, confirm_protected: bool = False,
                  channel: Any = Channel.SECURE_EMAIL, on: Any = None) -> Disclosure:
    """Send a draft: check the basis (consent or legal basis) and the protected-identity review, then mark it
    sent and record the disclosure ("disclose" audit event). A refusal changes nothing and is audited."""
    errors: dict[str, str] = {}
    if referral.state is not ReferralState.DRAFT:
        errors[""] = _("Remissen är redan skickad.")
    if not case.is_open:
        errors[""] = _("Ärendet är avslutat; remissen kan inte skickas.")
    day = check_date(on if on is not None else today(), "sent_on", errors, past_only=True)
    how = _enum(Channel, channel, "channel", errors, _("Välj hur remissen skickas."))
    _raise(errors)
    person = db.session.get(Person, case.person_id)
    if person.is_shredded:
        raise ReferralError(_("Personens uppgifter är gallrade."))
    refusal = check_basis(person, referral.partner, referral.category_codes, consent=referral.consent,
                          legal_basis=referral.legal_basis, justification=referral.justification, on=day)
    if refusal is not None:
        _refuse(actor, refusal, object_type="referral", object_id=referral.id, subject=person.id,
                partner=referral.partner)
    _check_protected(actor, referral, person, confirm_protected, "send")
    referral.state = ReferralState.SENT
    referral.sent_on = day
    referral.sent_at = utcnow()
    referral.sent_by = actor.id
    letter = _build_for(referral, case, person, confirmed=confirm_protected)
    disclosure = record_disclosure(actor, case, referral.partner, referral.legal_basis, referral.justification,
                                   referral.category_codes, consent=referral.consent, channel=how,
                                   disclosed_on=day, source="referral", referral=referral,
                                   content=json.dumps(dataclasses.asdict(letter), ensure_ascii=False))
    referral.updated_at = utcnow()
    audit.record("update", actor=actor, object_type="referral", object_id=referral.id,
                 subject_person_id=person.id, details={"state": ReferralState.SENT.value,
                                                       "disclosure": disclosure.id})
    return disclosure


@dataclass
class ProgressData:
    target: Any = None
    on: Any = None
    text: Any = None
    outcome_code: Any = None
    follow_up_on: Any = None


def progress_referral(actor: Any, referral: Referral, case: Case, data: ProgressData) -> None:
    """Record the partner's side: received, accepted or declined (with the answer), completed (with the
    outcome), or cancel. Dates are when it happened; each step writes its audit event."""
    errors: dict[str, str] = {}
    target = _enum(ReferralState, data.target, "target", errors, _("Välj vad som har hänt."))
    if target is not None and target not in NEXT_STATES[referral.state]:
        errors["target"] = _("Remissen kan inte gå från %(from)s till %(to)s.",
                             **{"from": str(STATE_LABELS[referral.state]), "to": str(STATE_LABELS[target])})
    not_before = referral.sent_on or referral.created_at.date()
    day = check_date(data.on, "on", errors, past_only=True, not_before=not_before,
                     not_before_message=_("Datumet ligger före remissen skickades."))
    text = clean_text(data.text, "text", errors, max_len=MAX_TEXT)
    outcome = None
    if target is ReferralState.COMPLETED:
        outcome = _enum(Outcome, data.outcome_code, "outcome_code", errors, _("Välj utfallet."))
    elif data.outcome_code not in (None, ""):
        _enum(Outcome, data.outcome_code, "outcome_code", errors, _("Välj utfallet."))
    if target in (ReferralState.ACCEPTED, ReferralState.DECLINED) and not text and "text" not in errors:
        errors["text"] = _("Skriv mottagarens svar.")
    if target is ReferralState.CANCELLED and not text and "text" not in errors:
        errors["text"] = _("Ange varför remissen makuleras.")
    follow_up = check_date(data.follow_up_on, "follow_up_on", errors, required=False, not_before=today(),
                           not_before_message=_("Uppföljningsdatumet kan inte ha passerat."))
    _raise(errors)
    referral.state = target
    if target is ReferralState.RECEIVED:
        referral.received_on = day
    elif target in (ReferralState.ACCEPTED, ReferralState.DECLINED):
        referral.answered_on = day
        referral.answer = text
        if referral.received_on is None:
            referral.received_on = day
    elif target is ReferralState.COMPLETED:
        referral.closed_on = day
        referral.outcome_code = outcome
        referral.outcome = text
    elif target is ReferralState.CANCELLED:
        referral.closed_on = day
        referral.cancel_reason = text
    if follow_up is not None:
        referral.follow_up_on = follow_up
    referral.updated_at = utcnow()
    audit.record("update", actor=actor, object_type="referral", object_id=referral.id,
                 subject_person_id=referral.person_id,
                 details={"state": target.value, "outcome": outcome.value if outcome else None})


# ------------------------------------------------------------------------------------------- the letter


@dataclass
class LetterSection:
    heading: str
    lines: list[str]


@dataclass
class Letter:
    title: str
    recipient: str
    recipient_contact: str
    sender: str
    reference: str
    date: str
    basis: str
    purpose: str
    sections: list[LetterSection]
    protected: bool
    address_withheld: bool


def build_letter(referral: Referral, case: Case, person: Person, *, confirmed: bool = False,
                 sender_name: str = "", unit_name: str = "") -> Letter:
    """The letter's content: the purpose, the basis, and exactly the chosen categories. A protected address
    never appears: not for skyddad folkbokföring or fingerade personuppgifter (not stored anyway), and for a
    sekretessmarkering only when the worker chose to include it and confirmed the review."""
    cats = referral.category_codes
    sections: list[LetterSection] = []
    protected = person.protection is not Protection.NONE
    address_withheld = False
    if DataCategory.IDENTITY in cats:
        sections.append(LetterSection(str(CATEGORY_LABELS[DataCategory.IDENTITY]),
                                      [person.full_name, person.identity_display]))
    if DataCategory.CONTACT in cats:
        lines = []
        if person.phone:
            lines.append(_("Telefon: %(v)s", v=person.phone))
        if person.email:
            lines.append(_("E-post: %(v)s", v=person.email))
        show_address = (person.protection is Protection.NONE
                        or (person.protection is Protection.SEKRETESSMARKERING and referral.include_address
                            and confirmed))
        if person.address and show_address and not person.protection.forbids_address:
            lines.append(_("Adress: %(v)s", v=person.address.replace("\n", ", ")))
        elif protected:
            address_withheld = True
            lines.append(_("Adressen lämnas inte ut (skyddade personuppgifter)."))
        sections.append(LetterSection(str(CATEGORY_LABELS[DataCategory.CONTACT]), lines or [_("Inga uppgifter.")]))
    if DataCategory.CASE_SUMMARY in cats:
        sections.append(LetterSection(str(CATEGORY_LABELS[DataCategory.CASE_SUMMARY]), [case.summary or ""]))
    if DataCategory.INTERVENTIONS in cats:
        items = db.session.scalars(select(Intervention).where(Intervention.case_id == case.id)
                                   .order_by(Intervention.start_on))
        lines = [f"{i.type.name}: {i.start_on.isoformat()}" + (f" – {i.end_on.isoformat()}" if i.end_on else "")
                 for i in items]
        sections.append(LetterSection(str(CATEGORY_LABELS[DataCategory.INTERVENTIONS]),
                                      lines or [_("Inga insatser.")]))
    if DataCategory.DECISIONS in cats:
        from caseapp.cases.catalogue import DECISION_LABELS

        rows = db.session.scalars(select(Decision).where(Decision.case_id == case.id,
                                                         Decision.status == DecisionStatus.APPROVED)
                                  .order_by(Decision.decided_on))
        lines = [f"{d.decided_on.isoformat()}: {DECISION_LABELS[d.kind]}" for d in rows]
        sections.append(LetterSection(str(CATEGORY_LABELS[DataCategory.DECISIONS]), lines or [_("Inga beslut.")]))
    if DataCategory.JOURNAL_EXCERPT in cats:
        sections.append(LetterSection(str(CATEGORY_LABELS[DataCategory.JOURNAL_EXCERPT]),
                                      [referral.journal_excerpt or ""]))
    if DataCategory.ASSESSMENT in cats:
        sections.append(LetterSection(str(CATEGORY_LABELS[DataCategory.ASSESSMENT]), [referral.assessment or ""]))
    if referral.consent is not None:
        basis = _("Uppgifterna lämnas med samtycke, lämnat %(date)s.", date=referral.consent.given_on.isoformat())
    elif referral.legal_basis:
        basis = _("Uppgifterna lämnas med stöd av %(basis)s.",
                  basis=SHARING_BASIS_BY_CODE[referral.legal_basis].provision)
    else:
        basis = _("Ingen grund för utlämnande är vald (utkast).")
    sender = unit_name + (f", {sender_name}" if sender_name else "")
    return Letter(title=_("Remiss till %(name)s", name=referral.partner.name), recipient=referral.partner.name,
                  recipient_contact=referral.partner.contact, sender=sender, reference=case.reference,
                  date=(referral.sent_on or today()).isoformat(), basis=basis, purpose=referral.purpose or "",
                  sections=sections, protected=protected, address_withheld=address_withheld)


def _build_for(referral: Referral, case: Case, person: Person, *, confirmed: bool) -> Letter:
    from caseapp.accounts.models import Unit, User

    sender = db.session.get(User, referral.sent_by or referral.created_by)
    unit = db.session.get(Unit, case.unit_id)
    return build_letter(referral, case, person, confirmed=confirmed,
                        sender_name=sender.display_name if sender else "", unit_name=unit.name if unit else "")


def sent_letter(referral: Referral) -> Letter | None:
    """The letter as it was sent (kept on the referral's disclosure), or None for a draft."""
    item = db.session.scalar(select(Disclosure).where(Disclosure.referral_id == referral.id)
                             .order_by(Disclosure.recorded_at).limit(1))
    if item is None or item.content_enc is None:
        return None
    data = json.loads(item.content)
    data["sections"] = [LetterSection(**s) for s in data["sections"]]
    return Letter(**data)


def letter_for(actor: Any, referral: Referral, case: Case, *, confirmed: bool = False) -> tuple[Letter, Person]:
    """The letter to show, print or export: once sent, the letter as sent; a draft as it would go now. For a
    protected identity without the confirmed review, always built afresh without the address (the sent
    letter may hold a sekretessmarkering address that was explicitly included)."""
    person = db.session.get(Person, case.person_id)
    if person.is_shredded:
        raise ReferralError(_("Personens uppgifter är gallrade."))
    if person.protection is Protection.NONE or confirmed:
        sent = sent_letter(referral)
        if sent is not None:
            return sent, person
    return _build_for(referral, case, person, confirmed=confirmed), person


def print_letter(actor: Any, referral: Referral, case: Case, *, confirmed: bool) -> Letter:
    """The printable letter: refused for a protected identity without the confirmed review; audited "print"."""
    letter, person = letter_for(actor, referral, case, confirmed=confirmed)
    _check_protected(actor, referral, person, confirmed, "print")
    audit.record("print", actor=actor, object_type="referral", object_id=referral.id, subject_person_id=person.id,
                 details={"categories": _audit_codes(c.value for c in referral.category_codes)})
    return letter


def export_letter_pdf(actor: Any, referral: Referral, case: Case, *, confirmed: bool,
                      compress: bool = True) -> bytes:
    """The letter as PDF: refused for a protected identity without the confirmed review; audited "export"."""
    letter, person = letter_for(actor, referral, case, confirmed=confirmed)
    _check_protected(actor, referral, person, confirmed, "export")
    audit.record("export", actor=actor, object_type="referral", object_id=referral.id, subject_person_id=person.id,
                 details={"format": "pdf", "categories": _audit_codes(c.value for c in referral.category_codes)})
    return render_pdf(letter, compress=compress)


_PDF_REPLACE = {"–": "-", "—": "-", "’": "'", "‘": "'", "“": '"', "”": '"', "…": "...", "•": "-", "\u00a0": " "}


def _latin1(text: str) -> str:
    """The PDF core fonts cover Latin-1 (Swedish letters included); anything else becomes '?'."""
    for k, v in _PDF_REPLACE.items():
        text = text.replace(k, v)
    return text.encode("latin-1", "replace").decode("latin-1")


def render_pdf(letter: Letter, *, compress: bool = True) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_compression(compress)
    pdf.set_title(_latin1(letter.title))
    pdf.set_creator("caseapp")
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def para(text: str, size: int = 11, style: str = "", gap: float = 1.5) -> None:
        pdf.set_font("Helvetica", style, size)
        pdf.multi_cell(width, 6, _latin1(text), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    para(letter.title, 16, "B", 3)
    para(_("Till: %(name)s", name=letter.recipient) + (f" ({letter.recipient_contact})"
                                                       if letter.recipient_contact else ""))
    para(_("Från: %(sender)s", sender=letter.sender))
    para(_("Vår referens: %(ref)s · Datum: %(date)s", ref=letter.reference, date=letter.date), gap=4)
    para(_("Syfte"), 12, "B", 0.5)
    para(letter.purpose, gap=3)
    for section in letter.sections:
        para(section.heading, 12, "B", 0.5)
        for line in section.lines:
            para(line, gap=0.5)
        pdf.ln(2.5)
    para(letter.basis, 10, "I", 2)
    para(_("Uppgifterna omfattas av sekretess hos mottagaren enligt offentlighets- och sekretesslagen i den mån "
           "den gäller där. Sprid dem inte vidare."), 9, "I")
    return bytes(pdf.output())


def pdf_text(data: bytes) -> bytes:
    """The uncompressed content of a PDF (its streams inflated), for searching the bytes (tests, checks)."""
    out = [data]
    start = 0
    while True:
        i = data.find(b"stream", start)
        if i < 0:
            break
        begin = i + len(b"stream")
        begin += 2 if data[begin:begin + 2] == b"\r\n" else 1
        end = data.find(b"endstream", begin)
        if end < 0:
            break
        with contextlib.suppress(zlib.error):  # an uncompressed stream is already in `data`
            out.append(zlib.decompress(data[begin:end]))
        start = end + len(b"endstream")
    return b"\n".join(out)


# ------------------------------------------------------------------------------------------ overviews


@dataclass
class CaseSharing:
    referrals: list[Referral]
    consents: list[SharingConsent]
    disclosures: list[Disclosure]
    today: date


def case_sharing(actor: Any, case: Case) -> CaseSharing:
    """A case's referrals (with the consent they rely on), the person's consents visible to the actor and the
    case's disclosures. The caller has loaded the case through the policy (read)."""
    refs = list(db.session.scalars(select(Referral).where(Referral.case_id == case.id)
                                   .order_by(Referral.created_at.desc())))
    discl = list(db.session.scalars(select(Disclosure).where(Disclosure.case_id == case.id)
                                    .order_by(Disclosure.recorded_at.desc())))
    return CaseSharing(refs, consents_for(actor, case.person_id), discl, today())


@dataclass
class CasePanel:
    referrals: list[Referral]
    withdrawn_consents: frozenset[uuid.UUID]
    today: date


def case_panel(case: Case) -> CasePanel:
    """What the referrals panel of the case page shows: the case's referrals with their partner (joined), and
    which of the consents they rely on are withdrawn (one Core query, no consent objects). The caller has loaded
    the case through the policy (read); the case page's own view event covers what is shown."""
    from caseapp.cases.presence import case_presence

    if not case_presence(case.id).referrals:
        return CasePanel([], frozenset(), today())
    refs = list(db.session.scalars(select(Referral).where(Referral.case_id == case.id)
                                   .order_by(Referral.created_at.desc())))
    consent_ids = {r.consent_id for r in refs if r.consent_id is not None}
    withdrawn = frozenset(db.session.scalars(select(SharingConsent.id).where(
        SharingConsent.id.in_(consent_ids), SharingConsent.withdrawn_at.is_not(None)))) if consent_ids else frozenset()
    return CasePanel(refs, withdrawn, today())


def _record_list(actor: Any, person_ids: Iterable[uuid.UUID], page: str) -> None:
    audit.record_list(actor, person_ids, details={"page": page}, persist_on_failure=True,
                      once_per_request="referrals_listed")


@dataclass
class WaitingRow:
    referral: Referral
    case: Case
    person: Person


def waiting_past_follow_up(actor: Any, *, mine_only: bool = False, limit: int = 50) -> list[WaitingRow]:
    """Referrals sent and not answered whose follow-up date has passed, of cases the actor reads (a worker's
    start page: the cases assigned to them)."""
    if not reach_presence(actor).waiting_referrals:  # (most actors have none anywhere in their reach)
        return []
    query = (policy.visible_referrals(actor).add_columns(Case)
             .where(Referral.state.in_(list(WAITING_STATES)), Referral.follow_up_on.is_not(None),
                    Referral.follow_up_on < today()).order_by(Referral.follow_up_on).limit(limit))
    if mine_only:
        query = query.where(policy.assigned_cases_clause(actor))
    rows = db.session.execute(query).all()
    people = case_ops.people_by_id(c.person_id for _r, c in rows)
    result = [WaitingRow(r, c, people.get(c.person_id)) for r, c in rows]
    _record_list(actor, [r.case.person_id for r in result], "referrals_waiting")
    return result


@dataclass
class PartnerRow:
    partner: Partner
    by_state: dict[str, int]
    by_outcome: dict[str, int]
    total: int


def unit_overview(actor: Any) -> list[PartnerRow]:
    """Counts of the referrals the actor may read, per partner and state, and per partner and outcome (no
    personal data)."""
    sub = policy.visible_referrals(actor).subquery()
    by_state = db.session.execute(select(sub.c.partner_id, sub.c.state, func.count())
                                  .group_by(sub.c.partner_id, sub.c.state)).all()
    by_outcome = db.session.execute(select(sub.c.partner_id, sub.c.outcome_code, func.count())
                                    .where(sub.c.outcome_code.is_not(None))
                                    .group_by(sub.c.partner_id, sub.c.outcome_code)).all()
    states: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
    outcomes: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
    for pid, state, n in by_state:
        states[pid][str(getattr(state, "value", state))] = n
    for pid, code, n in by_outcome:
        outcomes[pid][str(getattr(code, "value", code))] = n
    rows = []
    for partner in partners(active_only=False):
        if partner.id in states:
            rows.append(PartnerRow(partner, states[partner.id], outcomes.get(partner.id, {}),
                                   sum(states[partner.id].values())))
    return rows


LABELS = {"STATE": STATE_LABELS, "CATEGORY": CATEGORY_LABELS, "KIND": PARTNER_KIND_LABELS,
          "OUTCOME": OUTCOME_LABELS, "CHANNEL": CHANNEL_LABELS}
