"""`caseapp demo` puts a signed FREDA assessment, a protection and action plan and a safety plan on the
relationsvåldsteam's brottsoffer case of the demo person born 1995-03-24 (birth number 238); safe to run twice."""

from __future__ import annotations

from sqlalchemy import func, select

from caseapp.accounts.models import Unit
from caseapp.cases.models import Case
from caseapp.cases.workflow import FocusArea
from caseapp.demo import load_demo
from caseapp.violence import operations as ops
from caseapp.violence.catalogue import Kind, PlanKind
from caseapp.violence.models import Plan, RiskAssessment


def test_demo_violence(app, db):
    load_demo()
    db.session.commit()
    load_demo()
    db.session.commit()
    items = list(db.session.scalars(select(RiskAssessment)))
    plans = list(db.session.scalars(select(Plan)))
    assert sorted(a.kind for a in items) == sorted([Kind.FREDA_KORTFRAGOR, Kind.FREDA_FARLIGHET])
    assert all(a.is_signed for a in items)
    assert sorted(p.kind for p in plans) == sorted([PlanKind.SKYDD, PlanKind.SAKERHET])
    case = db.session.get(Case, items[0].case_id)
    unit = db.session.get(Unit, case.unit_id)
    assert case.focus is FocusArea.BROTTSOFFER and unit.code == "relationsvaldsteamet"
    assert {p.case_id for p in plans} == {case.id}
    danger = next(a for a in items if a.kind is Kind.FREDA_FARLIGHET)
    assert ops.decoded(danger)[1]["level"] == "hog"
    assert db.session.scalar(select(func.count()).select_from(Plan).where(Plan.assessment_id == danger.id)) == 2
