"""Operations of the domestic-violence work: record, sign and version risk assessments; make and revise the
protection and action plan and the safety plan; the case page panel and the start page's overdue reviews.

Plain arguments in (the acting user, records loaded through `policy`, the raw form values as a dict). Everything
is validated against the catalogue first; then records change; then `audit.record`. Nothing commits here.
Refused input raises `CaseworkError` (Swedish messages per form field), before anything is written.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, select

from caseapp.accounts.models import Role
from caseapp.cases.models import Case
from caseapp.cases.operations import (
    START_ITEMS,
    CaseworkError,
    check_date,
    clean_text,
    staff_names,
    today,
)
from caseapp.cases.presence import case_presence, reach_presence
from caseapp.extensions import db
from caseapp.security import audit, policy
from caseapp.timeutil import utcnow
from caseapp.violence import catalogue as cat
from caseapp.violence.catalogue import Kind, PlanKind, Status
from caseapp.violence.models import Plan, RiskAssessment

MAX_TEXT = 4000
MAX_LINE = 200
_HTML = re.compile(r"<\s*/?\s*[A-Za-z!?][^>]*>")


# ------------------------------------------------------------------------------------------------ validation


def _text(data: dict, name: str, errors: dict[str, str], *, max_len: int = MAX_TEXT, required: bool = False,
          required_message: str | None = None, multiline: bool = True) -> str | None:
    value = clean_text(data.get(name), name, errors, max_len=max_len, required=required,
                       required_message=required_message, multiline=multiline)
    if value is not None and _HTML.search(value):
        errors[name] = _("Texten får inte innehålla HTML-kod. Skriv vanlig text.")
        return None
    return value


def _choice(data: dict, name: str, allowed: dict, errors: dict[str, str], message: str, *,
            required: bool = True) -> str | None:
    value = data.get(name)
    if value in (None, ""):
        if required:
            errors[name] = message
        return None
    if not isinstance(value, str) or value not in allowed:
        errors[name] = _("Ogiltigt svar. %(hint)s", hint=message)
        return None
    return value


def _date(data: dict, name: str, errors: dict[str, str], **kwargs) -> date | None:
    """A date from a form value (ISO text or a date) checked with casework's rules."""
    value = data.get(name)
    if isinstance(value, str):
        value = value.strip()
        if not value:
            value = None
        else:
            try:
                value = date.fromisoformat(value)
            except ValueError:
                errors[name] = _("Ange ett giltigt datum (ÅÅÅÅ-MM-DD).")
                return None
    return check_date(value, name, errors, **kwargs)


def _raise(errors: dict[str, str]) -> None:
    if errors:
        raise CaseworkError(errors)


def _check_kind(kind: Any, case: Case, errors: dict[str, str]) -> Kind | None:
    try:
        kind = Kind(kind)
    except (ValueError, TypeError):
        errors[""] = _("Okänd bedömningsmetod.")
        return None
    if kind not in cat.kinds_for(case.focus):
        errors[""] = _("%(method)s används bara i ärenden inom fokusområdet brottsoffer.",
                       method=str(cat.KIND_LABELS[kind]))
        return None
    return kind


def _clean_content(kind: Kind, data: dict, errors: dict[str, str]) -> tuple[dict, dict | None]:
    """The structured content (and the summary judgement for the kinds that have one) from raw form values."""
    content: dict[str, Any] = {}
    if kind in (Kind.FREDA_KORTFRAGOR, Kind.FREDA_FARLIGHET):
        answers = {}
        for item in cat.ITEMS_BY_KIND[kind]:
            answers[item.code] = _choice(data, f"q_{item.code}", cat.ANSWERS, errors,
                                         _("Svara på frågan: ja, nej eller vet ej."))
        content = {"answers": answers, "notes": _text(data, "notes", errors)}
    elif kind is Kind.FREDA_BESKRIVNING:
        types = {}
        for item in cat.VIOLENCE_TYPES:
            answer = _choice(data, f"t_{item.code}", cat.ANSWERS, errors,
                             _("Ange om våldet förekommer: ja, nej eller vet ej."))
            freq = _choice(data, f"fq_{item.code}", cat.FREQUENCIES, errors,
                           _("Ange hur ofta våldet förekommer."), required=answer == "ja")
            if answer != "ja":
                freq = None
            types[item.code] = {"answer": answer, "frequency": freq}
        latest_on = _date(data, "latest_on", errors, required=False, past_only=True)
        content = {
            "types": types,
            "started": _choice(data, "started", cat.STARTED, errors, _("Ange när våldet började.")),
            "latest_on": latest_on.isoformat() if latest_on else None,
            "latest": _text(data, "latest", errors),
            "injuries": _choice(data, "injuries", cat.ANSWERS, errors,
                                _("Ange om personen har skadats: ja, nej eller vet ej.")),
            "injuries_text": _text(data, "injuries_text", errors),
            "children": _choice(data, "children", cat.ANSWERS, errors,
                                _("Ange om barn har varit närvarande: ja, nej eller vet ej.")),
            "children_text": _text(data, "children_text", errors),
            "description": _text(data, "description", errors, required=True,
                                 required_message=_("Beskriv våldet med egna ord.")),
        }
    elif kind is Kind.PATRIARK:
        ratings = {}
        for item in cat.PATRIARK_FACTORS:
            ratings[item.code] = _choice(data, f"r_{item.code}", cat.RATINGS, errors,
                                         _("Bedöm faktorn: låg, medel eller hög."))
        content = {"ratings": ratings, "notes": _text(data, "notes", errors)}
    elif kind is Kind.FRI:
        areas = []
        for i in range(cat.FREE_AREAS):
            name = _text(data, f"area_{i}_name", errors, max_len=MAX_LINE, multiline=False)
            rating = _choice(data, f"area_{i}_rating", cat.RATINGS, errors,
                             _("Bedöm riskområdet: låg, medel eller hög."), required=name is not None)
            notes = _text(data, f"area_{i}_notes", errors)
            if name is None and (rating or notes) and f"area_{i}_name" not in errors:
                errors[f"area_{i}_name"] = _("Ange riskområdets namn.")
            if name is not None:
                areas.append({"name": name, "rating": rating, "notes": notes})
        if not areas and not any(k.startswith("area_") for k in errors):
            errors["area_0_name"] = _("Ange minst ett riskområde.")
        content = {"method": _text(data, "method", errors, max_len=MAX_LINE, required=True, multiline=False,
                                   required_message=_("Ange vilken metod bedömningen följer.")),
                   "areas": areas}
    judgement = None
    if kind in cat.JUDGED:
        acute = _choice(data, "acute", {"ja": 1, "nej": 1}, errors, _("Ange om risken är akut: ja eller nej."))
        judgement = {
            "level": _choice(data, "level", cat.RATINGS, errors,
                             _("Ange din samlade bedömning av risken: låg, medel eller hög.")),
            "acute": acute == "ja" if acute else None,
            "motivation": _text(data, "motivation", errors, required=True,
                                required_message=_("Motivera din samlade bedömning.")),
        }
    return content, judgement


def _dump(value: dict | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def decoded(assessment: RiskAssessment) -> tuple[dict, dict]:
    """(content, judgement) of an assessment, decrypted and parsed."""
    content = json.loads(assessment.content) if assessment.content else {}
    judgement = json.loads(assessment.judgement) if assessment.judgement else {}
    return content, judgement


def form_values(assessment: RiskAssessment) -> dict[str, str]:
    """The stored answers as form values (to fill the edit form or a new version)."""
    content, judgement = decoded(assessment)
    values: dict[str, str] = {"assessed_on": assessment.assessed_on.isoformat()}
    for code, answer in (content.get("answers") or {}).items():
        values[f"q_{code}"] = answer or ""
    for code, rating in (content.get("ratings") or {}).items():
        values[f"r_{code}"] = rating or ""
    for code, t in (content.get("types") or {}).items():
        values[f"t_{code}"] = t.get("answer") or ""
        values[f"fq_{code}"] = t.get("frequency") or ""
    for i, area in enumerate(content.get("areas") or []):
        values[f"area_{i}_name"] = area.get("name") or ""
        values[f"area_{i}_rating"] = area.get("rating") or ""
        values[f"area_{i}_notes"] = area.get("notes") or ""
    for name in ("notes", "started", "latest_on", "latest", "injuries", "injuries_text", "children",
                 "children_text", "description", "method"):
        if content.get(name):
            values[name] = content[name]
    if judgement:
        values["level"] = judgement.get("level") or ""
        values["acute"] = {True: "ja", False: "nej"}.get(judgement.get("acute"), "")
        values["motivation"] = judgement.get("motivation") or ""
    return values


# ------------------------------------------------------------------------------------------------ assessments


def _check_open(case: Case, errors: dict[str, str]) -> None:
    if not case.is_open:
        errors[""] = _("Ärendet är avslutat. Öppna det igen för att göra en riskbedömning eller en plan.")


def create_assessment(actor: Any, case: Case, kind: Any, data: dict, *, sign: bool = False,
                      supersedes: RiskAssessment | None = None) -> RiskAssessment:
    errors: dict[str, str] = {}
    _check_open(case, errors)
    kind = _check_kind(kind, case, errors)
    assessed_on = _date(data, "assessed_on", errors, past_only=True)
    content, judgement = _clean_content(kind, data, errors) if kind else ({}, None)
    if supersedes is not None and (supersedes.case_id != case.id or not supersedes.is_signed
                                   or supersedes.kind is not kind):
        errors[""] = _("En ny version görs av en signerad bedömning av samma slag i samma ärende.")
    _raise(errors)
    now = utcnow()
    item = RiskAssessment(id=uuid.uuid4(), case_id=case.id, person_id=case.person_id, unit_id=case.unit_id,
                          kind=kind, status=Status.DRAFT, assessed_on=assessed_on,
                          supersedes_id=supersedes.id if supersedes else None, author_id=actor.id,
                          created_at=now, updated_at=now)
    item.content = _dump(content)
    item.judgement = _dump(judgement)
    db.session.add(item)
    details = {"case": str(case.id), "kind": kind.value}
    if supersedes is not None:
        details["supersedes"] = str(supersedes.id)
    audit.record("create", actor=actor, object_type="risk_assessment", object_id=item.id,
                 subject_person_id=case.person_id, details=details)
    if sign:
        _sign(actor, item)
    return item


def _refuse_signed(item: RiskAssessment) -> None:
    if item.is_signed:
        raise CaseworkError(_("Bedömningen är signerad och ändras aldrig. Gör en ny version i stället."))


def update_assessment(actor: Any, item: RiskAssessment, case: Case, data: dict, *, sign: bool = False) -> None:
    _refuse_signed(item)
    errors: dict[str, str] = {}
    _check_open(case, errors)
    assessed_on = _date(data, "assessed_on", errors, past_only=True)
    content, judgement = _clean_content(item.kind, data, errors)
    _raise(errors)
    item.assessed_on = assessed_on
    item.content = _dump(content)
    item.judgement = _dump(judgement)
    item.updated_at = utcnow()
    audit.record("update", actor=actor, object_type="risk_assessment", object_id=item.id,
                 subject_person_id=item.person_id, details={"kind": item.kind.value})
    if sign:
        _sign(actor, item)


def _sign(actor: Any, item: RiskAssessment) -> None:
    item.status = Status.SIGNED
    item.signed_at = item.updated_at = utcnow()
    audit.record("sign", actor=actor, object_type="risk_assessment", object_id=item.id,
                 subject_person_id=item.person_id, details={"kind": item.kind.value})


def sign_assessment(actor: Any, item: RiskAssessment, case: Case) -> None:
    _refuse_signed(item)
    errors: dict[str, str] = {}
    _check_open(case, errors)
    _raise(errors)
    _sign(actor, item)


def new_version(actor: Any, item: RiskAssessment, case: Case) -> RiskAssessment:
    """A draft copy of a signed assessment, dated today, by `actor`; the signed one stays as it is."""
    if not item.is_signed:
        raise CaseworkError(_("Ett utkast kan ändras direkt; en ny version görs av en signerad bedömning."))
    values = form_values(item)
    values["assessed_on"] = today().isoformat()
    return create_assessment(actor, case, item.kind, values, supersedes=item)


def view_assessment(actor: Any, item: RiskAssessment) -> None:
    audit.record("view", actor=actor, object_type="risk_assessment", object_id=item.id,
                 subject_person_id=item.person_id, details={"kind": item.kind.value}, persist_on_failure=True)


def assessments(actor: Any, case: Case) -> list[RiskAssessment]:
    """The case's assessments, newest first: signed ones, and the actor's own drafts."""
    return list(db.session.scalars(
        select(RiskAssessment).where(RiskAssessment.case_id == case.id)
        .where((RiskAssessment.status == Status.SIGNED) | (RiskAssessment.author_id == actor.id))
        .order_by(RiskAssessment.assessed_on.desc(), RiskAssessment.created_at.desc())))


def later_versions(item: RiskAssessment) -> list[RiskAssessment]:
    return list(db.session.scalars(select(RiskAssessment).where(
        RiskAssessment.supersedes_id == item.id, RiskAssessment.status == Status.SIGNED)
        .order_by(RiskAssessment.assessed_on)))


def signed_assessments(case: Case) -> list[RiskAssessment]:
    return list(db.session.scalars(select(RiskAssessment).where(
        RiskAssessment.case_id == case.id, RiskAssessment.status == Status.SIGNED)
        .order_by(RiskAssessment.assessed_on.desc(), RiskAssessment.created_at.desc())))


# ------------------------------------------------------------------------------------------------ plans


def _check_plan_kind(kind: Any, case: Case, errors: dict[str, str]) -> PlanKind | None:
    try:
        kind = PlanKind(kind)
    except (ValueError, TypeError):
        errors[""] = _("Okänd plan.")
        return None
    if kind is PlanKind.SAKERHET and case.focus not in cat.SAFETY_PLAN_FOCUS:
        errors[""] = _("Säkerhetsplanering görs i ärenden inom fokusområdet brottsoffer.")
        return None
    return kind


def _clean_plan(kind: PlanKind, case: Case, data: dict, errors: dict[str, str]) -> tuple[dict, date | None,
                                                                                        uuid.UUID | None]:
    review = _date(data, "review_on", errors, not_before=today(),
                        not_before_message=_("Datumet för uppföljning kan inte ligga i det förflutna."),
                        future_years=1)
    if review is not None and review > today() + timedelta(days=cat.REVIEW_MAX_DAYS):
        errors["review_on"] = _("Planen ska följas upp inom ett år.")
    assessment_id = None
    raw = data.get("assessment_id")
    if raw:
        try:
            assessment_id = uuid.UUID(str(raw))
        except ValueError:
            assessment_id = None
        signed = {a.id for a in signed_assessments(case)}
        if assessment_id not in signed:
            errors["assessment_id"] = _("Välj en signerad riskbedömning i ärendet.")
            assessment_id = None
    elif kind is PlanKind.SKYDD:
        errors["assessment_id"] = _("Skydds- och åtgärdsplanen bygger på en signerad riskbedömning. Välj den.")
    content: dict[str, Any]
    if kind is PlanKind.SKYDD:
        measures = []
        for i in range(cat.PLAN_MEASURES):
            measure = _text(data, f"m_{i}_measure", errors, max_len=MAX_TEXT)
            responsible = _text(data, f"m_{i}_responsible", errors, max_len=MAX_LINE, multiline=False)
            due = _date(data, f"m_{i}_due_on", errors, required=False)
            if measure is None and (responsible or due) and f"m_{i}_measure" not in errors:
                errors[f"m_{i}_measure"] = _("Beskriv åtgärden.")
            if measure is not None:
                if responsible is None and f"m_{i}_responsible" not in errors:
                    errors[f"m_{i}_responsible"] = _("Ange vem som ansvarar för åtgärden.")
                measures.append({"measure": measure, "responsible": responsible,
                                 "due_on": due.isoformat() if due else None})
        if not measures and not any(k.startswith("m_") for k in errors):
            errors["m_0_measure"] = _("Ange minst en åtgärd.")
        content = {"measures": measures, "notes": _text(data, "notes", errors)}
    else:
        content = {name: _text(data, name, errors) for name in cat.SAFETY_FIELDS}
        if not any(content.values()) and not any(k in errors for k in cat.SAFETY_FIELDS):
            errors["channels"] = _("Fyll i minst en del av säkerhetsplaneringen.")
    return content, review, assessment_id


def create_plan(actor: Any, case: Case, kind: Any, data: dict) -> Plan:
    errors: dict[str, str] = {}
    _check_open(case, errors)
    kind = _check_plan_kind(kind, case, errors)
    if kind is None:
        _raise(errors)
    content, review, assessment_id = _clean_plan(kind, case, data, errors)
    _raise(errors)
    plan_id = uuid.uuid4()
    plan = Plan(id=plan_id, series_id=plan_id, version=1, case_id=case.id, person_id=case.person_id,
                unit_id=case.unit_id, kind=kind, assessment_id=assessment_id, review_on=review,
                created_at=utcnow(), created_by=actor.id)
    plan.content = _dump(content)
    db.session.add(plan)
    audit.record("create", actor=actor, object_type="violence_plan", object_id=plan.id,
                 subject_person_id=case.person_id,
                 details={"case": str(case.id), "kind": kind.value, "version": 1,
                          "assessment": str(assessment_id) if assessment_id else None})
    return plan


def revise_plan(actor: Any, plan: Plan, case: Case, data: dict) -> Plan:
    """A new version of the plan; the old version stays readable, marked as superseded."""
    errors: dict[str, str] = {}
    if not plan.is_current:
        errors[""] = _("Det finns en nyare version av planen. Utgå från den senaste versionen.")
    _check_open(case, errors)
    content, review, assessment_id = _clean_plan(plan.kind, case, data, errors)
    _raise(errors)
    now = utcnow()
    new = Plan(id=uuid.uuid4(), series_id=plan.series_id, version=plan.version + 1, case_id=case.id,
               person_id=case.person_id, unit_id=case.unit_id, kind=plan.kind, assessment_id=assessment_id,
               review_on=review, created_at=now, created_by=actor.id)
    new.content = _dump(content)
    plan.superseded_at = now
    plan.superseded_by = actor.id
    db.session.add(new)
    audit.record("update", actor=actor, object_type="violence_plan", object_id=new.id,
                 subject_person_id=case.person_id,
                 details={"series": str(plan.series_id), "version": new.version, "supersedes": str(plan.id)})
    return new


def plan_content(plan: Plan) -> dict:
    return json.loads(plan.content) if plan.content else {}


def plan_values(plan: Plan) -> dict[str, Any]:
    content = plan_content(plan)
    values: dict[str, Any] = {"assessment_id": str(plan.assessment_id) if plan.assessment_id else ""}
    for i, m in enumerate(content.get("measures") or []):
        values[f"m_{i}_measure"] = m.get("measure") or ""
        values[f"m_{i}_responsible"] = m.get("responsible") or ""
        values[f"m_{i}_due_on"] = m.get("due_on") or ""
    for name in ("notes", *cat.SAFETY_FIELDS):
        if content.get(name):
            values[name] = content[name]
    return values


def view_plan(actor: Any, plan: Plan) -> None:
    audit.record("view", actor=actor, object_type="violence_plan", object_id=plan.id,
                 subject_person_id=plan.person_id, details={"kind": plan.kind.value, "version": plan.version},
                 persist_on_failure=True)


def plan_versions(plan: Plan) -> list[Plan]:
    return list(db.session.scalars(select(Plan).where(Plan.series_id == plan.series_id)
                                   .order_by(Plan.version.desc())))


def current_plans(case: Case) -> list[Plan]:
    return list(db.session.scalars(select(Plan).where(Plan.case_id == case.id, Plan.superseded_at.is_(None))
                                   .order_by(Plan.kind, Plan.created_at.desc())))


# ------------------------------------------------------------------------------------------------ panels


@dataclass
class CasePanel:
    assessments: list[RiskAssessment] = field(default_factory=list)
    plans: list[Plan] = field(default_factory=list)
    overdue: list[Plan] = field(default_factory=list)
    kinds: list[Kind] = field(default_factory=list)
    plan_kinds: list[PlanKind] = field(default_factory=list)
    names: dict = field(default_factory=dict)
    can_write: bool = False
    today: date | None = None


def case_panel(actor: Any, case: Case) -> CasePanel:
    """The case page's panel: the assessment history (date, kind, author, status) and the current plans with
    their review dates. Shows no content; reading the case already recorded a view, this records a "list"."""
    now = today()
    present = case_presence(case.id)  # most cases have neither: then no query for them
    items = assessments(actor, case) if present.assessments else []
    plans = current_plans(case) if present.current_plans else []
    panel = CasePanel(assessments=items, plans=plans, overdue=[p for p in plans if p.review_on < now],
                      kinds=cat.kinds_for(case.focus),
                      plan_kinds=[k for k in PlanKind if k is not PlanKind.SAKERHET
                                  or case.focus in cat.SAFETY_PLAN_FOCUS],
                      names=staff_names([a.author_id for a in items] + [p.created_by for p in plans]),
                      can_write=policy.WRITE in policy.case_access(actor, case) and case.is_open, today=now)
    if items or plans:
        audit.record("list", actor=actor, object_type="case", object_id=case.id, subject_person_id=case.person_id,
                     details={"page": "violence_panel", "assessments": len(items), "plans": len(plans)},
                     persist_on_failure=True)
    return panel


@dataclass
class OverdueReview:
    plan: Plan
    case: Case


def overdue_reviews(actor: Any) -> list[OverdueReview]:
    """Current plans whose review date has passed, in the actor's cases (a unit manager: the unit's cases)."""
    if not policy.has_permission(actor, "case.read"):
        return []
    if not reach_presence(actor).overdue_plans:  # (most actors have none anywhere in their reach)
        return []
    clause = policy.readable_cases_clause(actor) if actor.role is Role.ENHETSCHEF else \
        policy.assigned_cases_clause(actor)
    rows = db.session.execute(
        select(Plan, Case).join(Case, Case.id == Plan.case_id)
        .where(and_(Plan.superseded_at.is_(None), Plan.review_on < today(), clause))
        .order_by(Plan.review_on).limit(START_ITEMS)).all()
    result = [OverdueReview(p, c) for p, c in rows]
    for r in result:
        audit.record("list", actor=actor, object_type="violence_plan", object_id=r.plan.id,
                     subject_person_id=r.plan.person_id, details={"page": "start"}, persist_on_failure=True)
    return result
