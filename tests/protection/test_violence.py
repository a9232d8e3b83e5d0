"""Victim and perpetrator: the same worker on both sides needs the victim unit's manager's override (with an
encrypted reason, audited); the link is seen only from the victim's side; witnessing children get a reminder
until they have a case of their own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from caseapp.cases import operations as ops
from caseapp.cases.workflow import FocusArea, Intake
from caseapp.extensions import db as _db
from caseapp.protection import operations as pops
from caseapp.protection.models import ViolenceLink, ViolenceOverride
from tests.cases.conftest import PNR_ADULT, PNR_ADULT2, PNR_CHILD
from tests.cases.test_access import _login
from tests.conftest import audit_events
from tests.protection.conftest import VICTIM

REASON = "Ingen annan handläggare med tolkkunskap finns i december."


@pytest.fixture()
def same_unit(app, db, staff, catalogue, person_factory):
    """Victim case (assigned rvt) and perpetrator case (assigned rvt2), both in the relationsvåldsteam."""
    a, b = staff["rvt"].user, staff["rvt2"].user
    victim = person_factory(a, PNR_ADULT, given_name=VICTIM)
    case = ops.open_case(a, victim, ops.NewCase(FocusArea.BROTTSOFFER.value, Intake.ANSOKAN.value,
                                                ops.today() - timedelta(days=3), "Våld."), unit_id=a.unit_id)
    _db.session.commit()
    perp = person_factory(b, PNR_ADULT2, given_name="Torbjörn")
    perp_case = ops.open_case(b, perp, ops.NewCase(FocusArea.LAMNA_KRIMINALITET.value, Intake.ANSOKAN.value,
                                                   ops.today() - timedelta(days=3), "Program."), unit_id=b.unit_id)
    _db.session.flush()
    link = pops.create_link(a, case, pops.LinkData(PNR_ADULT2, perp_case.reference))
    _db.session.commit()
    return {"case": case.id, "perp_case": perp_case.id, "link": link.id}


def test_same_worker_on_both_sides_is_refused_without_override(app, same_unit, staff):
    chef = _login(app, staff["rvt_chef"])
    resp = chef.post(f"/arenden/{same_unit['case']}/tilldela", data={"worker": str(staff["rvt2"].id)})
    assert resp.status_code == 422
    assert "samma handläggare på båda sidor" in resp.get_data(as_text=True)
    resp = chef.post(f"/arenden/{same_unit['perp_case']}/tilldela", data={"worker": str(staff["rvt"].id)})
    assert resp.status_code == 422
    # An empty reason on the override page is refused too; nothing was assigned.
    resp = chef.post(f"/arenden/{same_unit['case']}/tilldela-undantag", data={"worker": str(staff["rvt2"].id),
                                                                             "override_reason": ""})
    assert resp.status_code == 422
    assert _db.session.scalar(select(ViolenceOverride.id)) is None
    assert _login(app, staff["rvt2"]).get(f"/arenden/{same_unit['case']}").status_code == 404


def test_override_by_the_victims_manager_is_recorded_encrypted_and_audited(app, same_unit, staff):
    chef = _login(app, staff["rvt_chef"])
    resp = chef.post(f"/arenden/{same_unit['case']}/tilldela-undantag",
                     data={"worker": str(staff["rvt2"].id), "override_reason": REASON})
    assert resp.status_code == 302
    override = _db.session.scalar(select(ViolenceOverride))
    assert override.user_id == staff["rvt2"].id and override.granted_by == staff["rvt_chef"].id
    assert override.reason == REASON
    raw = _db.session.execute(text("SELECT reason_enc FROM violence_overrides")).scalar()
    assert REASON.encode() not in bytes(raw) and b"tolk" not in bytes(raw)
    event = audit_events("update", actor_user_id=staff["rvt_chef"].id, object_type="violence_link")[-1]
    assert event.details_dict == {"override": str(staff["rvt2"].id)}
    assert event.subject_person_id is not None
    assert _login(app, staff["rvt2"]).get(f"/arenden/{same_unit['case']}").status_code == 200


def test_a_worker_cannot_override_and_only_the_manager_may(app, same_unit, staff):
    case = _db.session.get(ops.Case, same_unit["case"])
    with pytest.raises(ops.CaseworkError, match="båda sidor"):
        ops.assign(staff["rvt"].user, case, staff["rvt2"].id, override_reason=REASON)
    _db.session.rollback()
    # The worker has no assign permission at all on the override page.
    assert _login(app, staff["rvt"]).post(f"/arenden/{same_unit['case']}/tilldela-undantag",
                                          data={"worker": str(staff["rvt2"].id),
                                                "override_reason": REASON}).status_code == 403


def test_creating_a_link_with_the_same_worker_needs_the_override(app, staff, catalogue, person_factory):
    a = staff["rvt"].user
    victim = person_factory(a, PNR_ADULT, given_name=VICTIM)
    case = ops.open_case(a, victim, ops.NewCase("brottsoffer", "ansokan", ops.today(), "Våld."), unit_id=a.unit_id)
    _db.session.commit()  # before the next registration (see the report: flush order of cases and transitions)
    perp = person_factory(a, PNR_ADULT2, given_name="Torbjörn")
    ops.open_case(a, perp, ops.NewCase("lamna_kriminalitet", "ansokan", ops.today(), "P."), unit_id=a.unit_id)
    _db.session.commit()
    with pytest.raises(pops.ProtectionError, match="båda sidor"):
        pops.create_link(a, case, pops.LinkData(PNR_ADULT2, None, REASON))  # a worker cannot override
    _db.session.rollback()
    c = _login(app, staff["rvt_chef"])
    resp = c.post(f"/arenden/{case.id}/vald/koppling", data={"perpetrator_identity": PNR_ADULT2})
    assert resp.status_code == 422 and "båda sidor" in resp.get_data(as_text=True)
    resp = c.post(f"/arenden/{case.id}/vald/koppling", data={"perpetrator_identity": PNR_ADULT2,
                                                           "override_reason": REASON})
    assert resp.status_code == 302
    link = _db.session.scalar(select(ViolenceLink))
    assert link.perpetrator_person_id == perp.id
    assert _db.session.scalar(select(ViolenceOverride.user_id)) == a.id


def test_link_shows_only_on_the_victims_side(app, victim_world, staff):
    for who in ("rvt", "rvt_chef"):
        c = _login(app, staff[who])
        body = c.get(f"/arenden/{victim_world['case']}/vald").get_data(as_text=True)
        assert victim_world["perp_reference"] in body, who
        assert "Förövare och barn i hushållet" in c.get(f"/arenden/{victim_world['case']}").get_data(as_text=True)
    # The perpetrator's file shows no relation, no link, nothing of the victim to their worker.
    c = _login(app, staff["perp_worker"])
    for path in (f"/personer/{victim_world['perpetrator']}", f"/arenden/person/{victim_world['perpetrator']}"):
        body = c.get(path).get_data(as_text=True)
        assert VICTIM not in body and "Våld i nära relation" not in body and victim_world["reference"] not in body
    # Link events name the victim only, so that "who has read" of the perpetrator shows nothing of them.
    assert not audit_events("create", object_type="violence_link", subject_person_id=victim_world["perpetrator"])


def test_witness_child_reminder_until_the_child_has_a_case(app, staff, catalogue, person_factory):
    a = staff["rvt"]
    victim = person_factory(a.user, PNR_ADULT, given_name=VICTIM)
    case = ops.open_case(a.user, victim, ops.NewCase("brottsoffer", "ansokan", ops.today(), "Våld."),
                         unit_id=a.user.unit_id)
    _db.session.commit()
    c = _login(app, a)
    resp = c.post(f"/arenden/{case.id}/vald/barn", data={"identity": PNR_CHILD, "given_name": "Lilla",
                                                       "family_name": "Barn"})
    assert resp.status_code == 302
    assert "saknar ett eget öppet ärende" in c.get(f"/arenden/{case.id}").get_data(as_text=True)
    start = c.get("/").get_data(as_text=True)
    assert "Barn utan eget ärende" in start and "Lilla Barn" in start
    child = pops.witness_children(a.user, case)[0].child
    assert child is not None and child.full_name == "Lilla Barn"
    # Adding the same child twice, or an adult, is refused with a message.
    again = c.post(f"/arenden/{case.id}/vald/barn", data={"identity": PNR_CHILD})
    assert again.status_code == 422 and "redan kopplat" in again.get_data(as_text=True)
    adult = c.post(f"/arenden/{case.id}/vald/barn", data={"identity": PNR_ADULT2, "given_name": "Vuxen",
                                                        "family_name": "X"})
    assert adult.status_code == 422 and "inte ett barn" in adult.get_data(as_text=True)
    ops.open_case(a.user, child, ops.NewCase("brottsoffer", "anmalan", ops.today(), "Barn som bevittnat våld."),
                  unit_id=a.user.unit_id)
    _db.session.commit()
    assert "saknar ett eget öppet ärende" not in c.get(f"/arenden/{case.id}").get_data(as_text=True)
    assert "Barn utan eget ärende" not in c.get("/").get_data(as_text=True)


def test_child_of_a_protected_victim_inherits_the_protection(app, victim_world, staff):
    from caseapp.people.models import Person

    child = _db.session.get(Person, victim_world["child"])
    assert child.protection.value == "skyddad_folkbokforing"
    assert _login(app, staff["rvt2"]).get(f"/personer/{child.id}").status_code == 404
    assert _login(app, staff["rvt"]).get(f"/personer/{child.id}").status_code == 200


def test_a_relation_to_the_protected_victim_does_not_show_on_the_perpetrators_file(app, victim_world, staff):
    from caseapp.cases.catalogue import RelationKind
    from caseapp.cases.models import PersonRelation

    _db.session.add(PersonRelation(person_id=victim_world["perpetrator"], relative_id=victim_world["victim"],
                                   kind=list(RelationKind)[0], created_by=staff["perp_worker"].id))
    _db.session.commit()
    c = _login(app, staff["perp_worker"])
    body = c.get(f"/personer/{victim_world['perpetrator']}").get_data(as_text=True)
    assert "En person som du inte har åtkomst till" not in body and VICTIM not in body
    # The victim's own worker still sees the link row (the perpetrator is not visible to them: not named).
    rows = ops.relations_for(staff["rvt"].user, _db.session.get(ops.Person, victim_world["victim"]))
    assert any(r.other is None for r in rows)
