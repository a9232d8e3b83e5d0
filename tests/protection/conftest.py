"""Protected-identity fixtures: a protected victim's case with every kind of record, a perpetrator case in
another unit, a witnessing child; and the same world in a unit that shares."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from caseapp.accounts.models import Role
from caseapp.cases import operations as ops
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
    """The shared world of tests/cases/conftest.build_case_world, with the relative registered first."""
    from caseapp.people import operations as people_ops

    people_ops.register_person(a, people_ops.PersonData(given_name="Gunborg", family_name="Släkting",
                                                        identity=relative_pnr), unit_id=a.unit_id,
                               confirm_duplicate=True)
    return _cases.build_case_world(a, person, relative_pnr)


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
