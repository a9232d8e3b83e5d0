"""`caseapp demo` adds a protected victim with an access list, a perpetrator case in another unit and a child
case; running it twice adds nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from caseapp.accounts.operations import find_user
from caseapp.cases.models import Case
from caseapp.demo import load_demo
from caseapp.people.models import Person
from caseapp.protection.models import ProtectedAccess, ProtectionNotice, ViolenceLink, WitnessChild
from caseapp.security import policy


def test_demo_protection(app, db):
    load_demo()
    db.session.commit()
    tables = (ProtectedAccess, ProtectionNotice, ViolenceLink, WitnessChild, Case)
    counts = {t: db.session.scalar(select(func.count()).select_from(t)) for t in tables}
    load_demo()
    db.session.commit()
    assert {t: db.session.scalar(select(func.count()).select_from(t)) for t in tables} == counts
    link = db.session.scalar(select(ViolenceLink))
    victim = db.session.get(Person, link.victim_person_id)
    assert victim.protection.value == "skyddad_folkbokforing" and victim.address is None
    maria, nils, omar = find_user("maria.berg"), find_user("nils.ek"), find_user("omar.haddad")
    assert policy.on_access_list(maria, victim.id) and not policy.on_access_list(nils, victim.id)
    assert policy.can_see_person(maria, victim)
    assert not policy.can_see_person(nils, victim) and not policy.can_see_person(omar, victim)
    perp_case = db.session.get(Case, link.perpetrator_case_id)
    assert perp_case.responsible_id == omar.id and perp_case.unit_id == omar.unit_id != maria.unit_id
    child = db.session.scalar(select(WitnessChild))
    assert db.session.scalar(select(Case.id).where(Case.person_id == child.child_person_id)) is not None
    assert db.session.scalar(select(ProtectionNotice.person_id)) == victim.id
