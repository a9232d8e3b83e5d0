"""Demo data of the domestic-violence work for `caseapp demo`: on the relationsvåldsteam's brottsoffer case of the
demo person born 1988-09-09 (serial 986, Maria Berg's case, the police report about violence in a close
relationship), signed FREDA-kortfrågor and a FREDA-farlighetsbedömning, a protection and action plan built on it
and a safety plan. Test personnummer only; safe to run twice (a case that already has an assessment is skipped).
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from caseapp.cases.demo import _person, _user
from caseapp.cases.models import Case
from caseapp.cases.operations import today
from caseapp.cases.workflow import FocusArea
from caseapp.extensions import db
from caseapp.people.demo import demo_number
from caseapp.violence import catalogue as cat
from caseapp.violence import operations as ops
from caseapp.violence.models import RiskAssessment

DEMO_VICTIM = demo_number(date(1995, 3, 24), 238)


def load_demo_violence() -> None:
    worker = _user("maria.berg")
    person = _person(DEMO_VICTIM)
    if worker is None or person is None:
        return
    case = db.session.scalar(select(Case).where(Case.person_id == person.id, Case.focus == FocusArea.BROTTSOFFER,
                                                Case.unit_id == worker.unit_id).limit(1))
    if case is None or db.session.scalar(select(RiskAssessment.id).where(RiskAssessment.case_id == case.id)
                                         .limit(1)) is not None:
        return
    day = (today() - timedelta(days=19)).isoformat()
    short = {f"q_{i.code}": "ja" for i in cat.FREDA_KORTFRAGOR}
    short.update({"q_k4": "nej", "q_k6": "vet_ej", "assessed_on": day,
                  "notes": "Frågorna ställdes i enskilt samtal på säker plats."})
    ops.create_assessment(worker, case, cat.Kind.FREDA_KORTFRAGOR, short, sign=True)
    yes = {"f1", "f2", "f3", "f4", "f7", "f8", "f9", "f17"}
    danger = {f"q_{i.code}": ("ja" if i.code in yes else "nej") for i in cat.FREDA_FARLIGHET}
    danger.update({"q_f6": "vet_ej", "assessed_on": day, "level": "hog", "acute": "ja",
                   "motivation": "Våldet har ökat efter separationen, strypförsök i september och hot om att döda. "
                                 "Sofia är mycket rädd. Hög och akut risk; skyddat boende och kontaktförbud."})
    assessment = ops.create_assessment(worker, case, cat.Kind.FREDA_FARLIGHET, danger, sign=True)
    db.session.flush()
    review = (today() + timedelta(days=30)).isoformat()
    ops.create_plan(worker, case, cat.PlanKind.SKYDD, {
        "assessment_id": str(assessment.id), "review_on": review,
        "m_0_measure": "Ansöka om kontaktförbud tillsammans med Sofia.", "m_0_responsible": "Maria Berg",
        "m_0_due_on": (today() + timedelta(days=3)).isoformat(),
        "m_1_measure": "Plats på skyddat boende.", "m_1_responsible": "Maria Berg",
        "m_2_measure": "Kontakt med Relationsvåldscentrum och Brottsofferjouren.", "m_2_responsible": "Sofia",
    })
    ops.create_plan(worker, case, cat.PlanKind.SAKERHET, {
        "assessment_id": str(assessment.id), "review_on": (today() + timedelta(days=14)).isoformat(),
        "channels": "Bara den nya mobilen; aldrig sms till det gamla numret. Handläggaren ringer från skyddat nummer.",
        "places": "Mottagningen på Vällingby torg, bakre ingången. Aldrig hemma.",
        "code_words": "”Har du fått tvätten?” betyder att Sofia inte kan prata.",
        "who_to_call": "112 vid fara. Relationsvåldsteamet dagtid, socialjouren kvällar och helger.",
        "notes": "Packad väska med id-handlingar hos en väninna.",
    })
