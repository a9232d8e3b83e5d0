"""Casework fixtures: the intervention catalogue, people and cases made through the operations."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from caseapp.accounts.models import Role
from caseapp.cases import operations as ops
from caseapp.cases.catalogue import ConsentGiver, DecisionKind, RelationKind
from caseapp.cases.models import InterventionType
from caseapp.cases.workflow import FocusArea, Intake
from caseapp.extensions import db as _db
from caseapp.people import operations as people_ops
from caseapp.people.testnumbers import demo_number

PNR_ADULT = demo_number(date(1996, 3, 14), 238)
PNR_ADULT2 = demo_number(date(1995, 10, 9), 239)
PNR_CHILD = demo_number(date(2012, 1, 25), 238)
PNR_CHILD2 = demo_number(date(2011, 11, 24), 239)


@pytest.fixture()
def catalogue(db):
    ops.ensure_intervention_catalogue()
    db.session.commit()


@pytest.fixture()
def person_factory(db):
    """person_factory(actor, identity=..., given_name=..., family_name=...) -> Person (committed)."""

    def factory(actor, identity: str = PNR_ADULT, given_name: str = "Anna", family_name: str = "Andersson",
                **fields):
        data = people_ops.PersonData(given_name=given_name, family_name=family_name, identity=identity, **fields)
        person = people_ops.register_person(actor, data, unit_id=actor.unit_id, confirm_duplicate=True)
        _db.session.commit()
        return person

    return factory


@pytest.fixture()
def case_factory(db, person_factory):
    """case_factory(actor, person=None, focus=..., intake=..., received_on=...) -> Case (committed)."""

    def factory(actor, person=None, *, focus=FocusArea.LAMNA_KRIMINALITET, intake=Intake.ANSOKAN,
                received_on: date | None = None, summary: str = "Vill ha stöd.", **person_fields):
        person = person or person_factory(actor, **person_fields)
        case = ops.open_case(actor, person, ops.NewCase(focus.value, intake.value,
                                                        received_on or ops.today() - timedelta(days=3), summary),
                             unit_id=actor.unit_id)
        _db.session.commit()
        return case

    return factory


@pytest.fixture()
def team(make_user):
    """Staff in two units: "unga" (sharing) and "rvt" (not sharing)."""
    return {
        "unga": make_user(Role.HANDLAGGARE, "unga"),
        "unga2": make_user(Role.HANDLAGGARE, "unga"),
        "unga_chef": make_user(Role.ENHETSCHEF, "unga"),
        "rvt": make_user(Role.RELATIONSVALDSTEAM, "rvt"),
        "rvt2": make_user(Role.RELATIONSVALDSTEAM, "rvt"),
        "rvt_chef": make_user(Role.ENHETSCHEF, "rvt"),
        "admin": make_user(Role.SYSTEMFORVALTARE, None),
        "auditor": make_user(Role.LOGGGRANSKARE, None),
    }


def violence_records(a, case):
    """A signed FREDA assessment and a safety plan (caseapp.violence) in the case."""
    from caseapp.violence import operations as vops
    from tests.violence.conftest import safety_values, values

    assessment = vops.create_assessment(a, case, "freda_farlighet", values("freda_farlighet"), sign=True)
    return assessment, vops.create_plan(a, case, "sakerhet", safety_values())


def build_case_world(a, person, relative_pnr: str):
    """Every kind of record on one domestic-violence case of `person`, made by `a` (who is assigned to it): a
    signed journal entry, a decision, an intervention with a follow-up and a consent, a group with a session and
    the case as a member, a relation to the registered person `relative_pnr`, an assessment and a plan. Returns
    (case, ids): the ids by the names route arguments use, for route walks."""
    case = ops.open_case(a, person, ops.NewCase(FocusArea.BROTTSOFFER.value, Intake.ANMALAN.value,
                                                ops.today() - timedelta(days=5), "Våld i nära relation."),
                         unit_id=a.unit_id)
    entry = ops.create_entry(a, case, ops.EntryData("mote", ops.today() - timedelta(days=1), "Samtal om läget."))
    ops.sign_entry(a, entry)
    _db.session.flush()
    decision = ops.propose_decision(a, case, ops.DecisionData(DecisionKind.INLEDA_UTREDNING.value,
                                                              "sol2025_utredning", ops.today(), "Utreds."))
    itype = _db.session.scalar(_db.select(InterventionType).where(InterventionType.code == "stodsamtal_brottsoffer"))
    item = ops.add_intervention(a, case, ops.InterventionData(itype.id, "pagaende", ops.today(), None, a.id,
                                                              "Trygghet.", "Samtal varannan vecka.", None, None))
    _db.session.flush()
    follow_up = ops.add_follow_up(a, item, ops.today() + timedelta(days=30))
    consent = ops.add_consent(a, item, ops.ConsentData(ConsentGiver.PERSON.value, "muntligt", ops.today(), None,
                                                       "Brottsofferjouren: kontaktuppgifter."))
    circle = _db.session.scalar(_db.select(InterventionType).where(InterventionType.code == "anhorigcirkel"))
    group = ops.create_group(a, a.unit_id, ops.GroupData(circle.id, "Stödgrupp hösten", "", a.id, None,
                                                         ops.today() - timedelta(days=10), None))
    _db.session.flush()
    session = ops.add_session(a, group, ops.today() - timedelta(days=2), "Trygghet", 0)
    member = ops.add_member(a, group, case.id, ops.today() - timedelta(days=10))
    relation = ops.add_relation(a, person, relative_pnr, RelationKind.FORALDER.value)
    _db.session.flush()
    assessment, plan = violence_records(a, case)  # the domestic-violence team's records (caseapp.violence)
    _db.session.flush()
    assignment = ops.active_assignments(case)[0]
    return case, {
        "assessment_id": assessment.id, "plan_id": plan.id,
        "person_id": person.id, "case_id": case.id, "entry_id": entry.id, "decision_id": decision.id,
        "intervention_id": item.id, "follow_up_id": follow_up.id, "consent_id": consent.id, "group_id": group.id,
        "session_id": session.id, "member_id": member.id, "relation_id": relation.id,
        "assignment_id": assignment.id,
    }
