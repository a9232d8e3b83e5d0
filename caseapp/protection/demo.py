"""Demo data for protected identities and victims (`caseapp demo`): Sofia Gustafsson (skyddad folkbokföring,
relationsvåldsteamet) with an access list (maria.berg on it, nils.ek not), a record that she was informed, a
link to a perpetrator whose case is in omar.haddad's hands in "lamna-kriminalitet" (the programme with the
police), and a child who witnessed the violence with a case of her own. Test personnummer only; safe to run
twice (nothing is added when the link exists)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from caseapp.accounts import operations as account_ops
from caseapp.cases import operations as case_ops
from caseapp.cases.models import Case
from caseapp.extensions import db
from caseapp.people import operations as people_ops
from caseapp.people.demo import demo_number
from caseapp.protection import operations as ops
from caseapp.protection.models import ViolenceLink

VICTIM_NUMBER = demo_number(date(1995, 3, 24), 238)  # Sofia Gustafsson (people/demo.py)
PERPETRATOR_NUMBER = demo_number(date(1995, 9, 13), 239)
CHILD_NUMBER = demo_number(date(2019, 6, 12), 239)


def load_demo_protection() -> None:
    from caseapp.cases.demo import _person

    maria, nils = account_ops.find_user("maria.berg"), account_ops.find_user("nils.ek")
    omar, karin = account_ops.find_user("omar.haddad"), account_ops.find_user("karin.nyberg")
    victim = _person(VICTIM_NUMBER)
    if None in (maria, nils, omar, karin, victim):
        return
    victim_case = db.session.scalar(select(Case).where(Case.person_id == victim.id).order_by(Case.received_on))
    if victim_case is None or db.session.scalar(select(ViolenceLink.id).where(
            ViolenceLink.victim_case_id == victim_case.id).limit(1)) is not None:
        return
    if not any(r.user_id == maria.id for r in ops.access_rows(victim, active_only=True)):
        ops.grant_access(karin, victim, maria.id)
    today = case_ops.today()
    ops.record_notice(karin, victim, today - timedelta(days=20), maria.id)
    perpetrator = _person(PERPETRATOR_NUMBER) or people_ops.register_person(
        omar, people_ops.PersonData(given_name="Johan", family_name="Lindqvist", identity=PERPETRATOR_NUMBER,
                                    notes="Deltar i programmet mot våld i nära relationer."),
        unit_id=omar.unit_id, confirm_duplicate=True)
    db.session.flush()
    perp_case = db.session.scalar(select(Case).where(Case.person_id == perpetrator.id).limit(1)) or \
        case_ops.open_case(omar, perpetrator, case_ops.NewCase(
            "lamna_kriminalitet", "remiss", today - timedelta(days=14),
            "Remiss från polisen: programmet för att sluta utöva våld."), unit_id=omar.unit_id)
    db.session.flush()
    ops.create_link(maria, victim_case, ops.LinkData(PERPETRATOR_NUMBER, perp_case.reference))
    witness = ops.add_witness_child(maria, victim_case, ops.ChildData(CHILD_NUMBER, "Elin", "Gustafsson"))
    db.session.flush()
    child = db.session.get(people_ops.Person, witness.child_person_id)
    case_ops.open_case(maria, child, case_ops.NewCase(
        "brottsoffer", "anmalan", today - timedelta(days=19), "Barn som bevittnat våld i hemmet."),
        unit_id=maria.unit_id)
    db.session.flush()
