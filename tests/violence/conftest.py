"""Fixtures of the domestic-violence work: a brottsoffer case in the non-sharing relationsvåldsteam ("rvt") with
a signed FREDA assessment, a draft, a protection and action plan and a safety plan, all made through the
operations; and complete form values for every instrument."""

from __future__ import annotations

from datetime import timedelta

import pytest

from caseapp.cases import operations as case_ops
from caseapp.cases.workflow import FocusArea, Intake
from caseapp.extensions import db as _db
from caseapp.violence import catalogue as cat
from caseapp.violence import operations as ops
from tests.cases import conftest as _cases
from tests.cases.conftest import PNR_ADULT

# The casework fixtures, shared (they live in tests/cases/conftest.py).
catalogue, person_factory, case_factory, team = _cases.catalogue, _cases.person_factory, _cases.case_factory, _cases.team

VICTIM = "Vendela"
SECRET_MOTIVATION = "Strypförsöket i oktober vid Råcksta träsk"
SECRET_CHANNEL = "Ring bara till nummer 070-1740699 efter klockan nio"
SECRET_CODE_WORD = "Blåbärspaj betyder fara"
SECRET_MEASURE = "Skyddat boende i Solberga"
SECRET_DESCRIPTION = "Han slog henne med ett strykjärn i köket"


def values(kind: cat.Kind | str, **extra) -> dict[str, str]:
    """Complete, valid form values for an assessment of `kind`."""
    kind = cat.Kind(kind)
    v: dict[str, str] = {"assessed_on": case_ops.today().isoformat()}
    if kind in (cat.Kind.FREDA_KORTFRAGOR, cat.Kind.FREDA_FARLIGHET):
        v.update({f"q_{i.code}": "ja" for i in cat.ITEMS_BY_KIND[kind]})
    elif kind is cat.Kind.FREDA_BESKRIVNING:
        for t in cat.VIOLENCE_TYPES:
            v[f"t_{t.code}"] = "nej"
        v.update({"t_fysiskt": "ja", "fq_fysiskt": "veckovis", "started": "senaste_aret", "injuries": "ja",
                  "children": "vet_ej", "description": SECRET_DESCRIPTION})
    elif kind is cat.Kind.PATRIARK:
        v.update({f"r_{f.code}": "medel" for f in cat.PATRIARK_FACTORS})
    elif kind is cat.Kind.FRI:
        v.update({"method": "SARA", "area_0_name": "Eskalering", "area_0_rating": "hog"})
    if kind in cat.JUDGED:
        v.update({"level": "hog", "acute": "ja", "motivation": SECRET_MOTIVATION})
    v.update(extra)
    return v


def safety_values(**extra) -> dict[str, str]:
    return {"review_on": (case_ops.today() + timedelta(days=14)).isoformat(), "channels": SECRET_CHANNEL,
            "code_words": SECRET_CODE_WORD, **extra}


def protection_values(assessment_id, **extra) -> dict[str, str]:
    return {"review_on": (case_ops.today() + timedelta(days=30)).isoformat(), "assessment_id": str(assessment_id),
            "m_0_measure": SECRET_MEASURE, "m_0_responsible": "Handläggaren", **extra}


@pytest.fixture()
def rvt_case(db, team, catalogue, person_factory):
    a = team["rvt"].user
    person = person_factory(a, PNR_ADULT, given_name=VICTIM, family_name="Östberg")
    case = case_ops.open_case(a, person, case_ops.NewCase(FocusArea.BROTTSOFFER.value, Intake.ANMALAN.value,
                                                          case_ops.today() - timedelta(days=5), "Våld."),
                              unit_id=a.unit_id)
    _db.session.commit()
    return case


@pytest.fixture()
def vworld(rvt_case, team):
    a = team["rvt"].user
    signed = ops.create_assessment(a, rvt_case, cat.Kind.FREDA_FARLIGHET, values("freda_farlighet"), sign=True)
    draft = ops.create_assessment(a, rvt_case, cat.Kind.FREDA_KORTFRAGOR, values("freda_kortfragor"))
    _db.session.flush()
    protection = ops.create_plan(a, rvt_case, cat.PlanKind.SKYDD, protection_values(signed.id))
    safety = ops.create_plan(a, rvt_case, cat.PlanKind.SAKERHET, safety_values(assessment_id=str(signed.id)))
    _db.session.commit()
    return {"case": rvt_case, "signed": signed.id, "draft": draft.id, "protection": protection.id,
            "safety": safety.id, "person_id": rvt_case.person_id}
