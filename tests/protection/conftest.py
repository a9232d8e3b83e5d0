"""Protected-identity fixtures: a protected victim's case with every kind of record, a perpetrator case in
another unit, a witnessing child; and the same world in a unit that shares."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from caseapp.accounts.models import Role
from caseapp.cases import operations as ops
from caseapp.cases.catalogue import ConsentGiver, DecisionKind, RelationKind
from caseapp.cases.models import InterventionType
from caseapp.cases.workflow import FocusArea, Intake
from caseapp.extensions import db as _db
from caseapp.people.demo import demo_number
from caseapp.people.models import Protection
from caseapp.protection import operations as pops
from tests.cases import conftest as _cases
from tests.cases.conftest import PNR_ADULT, PNR_ADULT2, PNR_CHILD

# The casework fixtures, shared with this package.
catalogue, person_factory, case_factory, team = _cases.catalogue, _cases.person_factory, _cases.case_factory, _cases.team

VICTIM = "Vendela"
VICTIM_FAMILY = "Östberg"
ADDRESS_PHONE = "070-9988776"
PERPETRATOR = "Torbjörn"
RELATIVE_PNR = demo_number(date(1996, 4, 12), 239)


def build_case_world(a, person, relative_pnr: str):
    """Every kind of record on one case of `person` (made by `a`, assigned to `a`): ids for a route walk."""
    from caseapp.people import operations as people_ops

    people_ops.register_person(a, people_ops.PersonData(given_name="Gunborg", family_name="Släkting",
                                                        identity=relative_pnr), unit_id=a.unit_id,
                               confirm_duplicate=True)
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
    from tests.cases.test_access import _violence_records

    assessment, plan = _violence_records(a, case)  # the domestic-violence team's records (caseapp.violence)
    _db.session.flush()
    assignment = ops.active_assignments(case)[0]
    return case, {
        "assessment_id": assessment.id, "plan_id": plan.id,
        "person_id": person.id, "case_id": case.id, "entry_id": entry.id, "decision_id": decision.id,
        "intervention_id": item.id, "follow_up_id": follow_up.id, "consent_id": consent.id, "group_id": group.id,
        "session_id": session.id, "member_id": member.id, "relation_id": relation.id,
        "assignment_id": assignment.id,
    }


@pytest.fixture()
def staff(team, make_user):
    return {**team, "perp_worker": make_user(Role.HANDLAGGARE, "lamna"),
            "lamna_chef": make_user(Role.ENHETSCHEF, "lamna")}


@pytest.fixture()
def victim_world(app, db, staff, catalogue, person_factory):
    """A victim with skyddad folkbokföring in the (non-sharing) relationsvåldsteam, assigned to staff["rvt"]
    (on the access list through the registration); a perpetrator with a case in "lamna", worked by
    staff["perp_worker"]; a link, a witnessing child, a notice."""
    a = staff["rvt"].user
    victim = person_factory(a, PNR_ADULT, given_name=VICTIM, family_name=VICTIM_FAMILY,
                            protection=Protection.SKYDDAD_FOLKBOKFORING, phone=ADDRESS_PHONE)
    case, ids = build_case_world(a, victim, RELATIVE_PNR)
    p = staff["perp_worker"].user
    perpetrator = person_factory(p, PNR_ADULT2, given_name=PERPETRATOR, family_name="Förövarsson")
    perp_case = ops.open_case(p, perpetrator, ops.NewCase(FocusArea.LAMNA_KRIMINALITET.value, Intake.ANSOKAN.value,
                                                          ops.today() - timedelta(days=2), "Programmet."),
                              unit_id=p.unit_id)
    _db.session.flush()
    link = pops.create_link(a, case, pops.LinkData(PNR_ADULT2, perp_case.reference))
    child = pops.add_witness_child(a, case, pops.ChildData(PNR_CHILD, "Lilla", VICTIM_FAMILY))
    chef = staff["rvt_chef"].user
    notice = pops.record_notice(chef, victim, ops.today(), a.id)
    _db.session.commit()
    access = pops.access_rows(victim, active_only=True)[0]
    ids.update({"access_id": access.id, "link_id": link.id})
    return {"ids": ids, "victim": victim.id, "case": case.id, "reference": case.reference,
            "perpetrator": perpetrator.id, "perp_case": perp_case.id, "perp_reference": perp_case.reference,
            "child": child.child_person_id, "notice": notice.id}


@pytest.fixture()
def sharing_world(app, db, staff, catalogue, person_factory):
    """A protected person (sekretessmarkering) in "unga", a unit that shares, assigned to staff["unga"]."""
    a = staff["unga"].user
    person = person_factory(a, PNR_ADULT, given_name=VICTIM, family_name=VICTIM_FAMILY,
                            protection=Protection.SEKRETESSMARKERING)
    case, ids = build_case_world(a, person, RELATIVE_PNR)
    link = pops.create_link(a, case, pops.LinkData(RELATIVE_PNR))
    _db.session.commit()
    ids.update({"access_id": pops.access_rows(person, active_only=True)[0].id, "link_id": link.id})
    return {"ids": ids, "victim": person.id, "case": case.id, "reference": case.reference}
