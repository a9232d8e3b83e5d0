"""Casework end to end through the routes and operations: workflow with recorded transitions, children's
deadlines and extensions by decision, decisions and approval, interventions with consents and follow-ups, groups
with attendance, the start page, the caseload, search, and the administrator's intervention catalogue."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from caseapp.cases import operations as ops
from caseapp.cases import workflow
from caseapp.cases.catalogue import DecisionStatus, legal_bases_for
from caseapp.cases.models import Case, CaseTransition, Decision, GroupAttendance, InterventionType
from caseapp.cases.workflow import CaseDates, FocusArea, Intake, State
from caseapp.extensions import db as _db
from tests.cases.conftest import PNR_CHILD
from tests.conftest import AuthActions, audit_events


def _login(app, account):
    c = app.test_client()
    assert AuthActions(c).login(account).status_code == 302
    return c


def _type(code):
    return _db.session.scalar(_db.select(InterventionType).where(InterventionType.code == code))


# --- pure workflow additions ---------------------------------------------------------------------------------


def test_transition_dates_and_next_due():
    d = CaseDates(received=date(2026, 3, 2))
    d = workflow.transition_dates(d, State.AKTUALISERING, State.FORHANDSBEDOMNING, date(2026, 3, 3))
    assert d.forhandsbedomning_done is None
    d = workflow.transition_dates(d, State.FORHANDSBEDOMNING, State.UTREDNING, date(2026, 3, 10))
    assert d.forhandsbedomning_done == date(2026, 3, 10) and d.utredning_started == date(2026, 3, 10)
    d = workflow.transition_dates(d, State.UTREDNING, State.BESLUT, date(2026, 5, 1))
    assert d.utredning_done == date(2026, 5, 1)
    # A new investigation after a follow-up gets a fresh clock and no old extension.
    d = workflow.transition_dates(CaseDates(date(2026, 1, 1), utredning_started=date(2026, 1, 2),
                                            utredning_done=date(2026, 2, 1), utredning_extended_to=date(2026, 7, 1)),
                                  State.UPPFOLJNING, State.UTREDNING, date(2026, 9, 1))
    assert (d.utredning_started, d.utredning_done, d.utredning_extended_to) == (date(2026, 9, 1), None, None)
    facts = workflow.CaseFacts(FocusArea.UNGA_I_RISK, Intake.ANMALAN, child=True)
    assert workflow.next_due(CaseDates(date(2026, 3, 2)).deadlines(facts)) == date(2026, 3, 3)
    # An application about a child has no förhandsbedömning clock; a partner's referral does.
    assert workflow.deadlines(workflow.CaseFacts(FocusArea.UNGA_I_RISK, Intake.ANSOKAN, True), received=date(2026, 1, 1),
                              forhandsbedomning_done=None, skyddsbedomning_done=None, utredning_started=None,
                              utredning_done=None, utredning_extended_to=None) == []
    remiss = workflow.CaseFacts(FocusArea.UNGA_I_RISK, Intake.REMISS, True)
    assert workflow.allowed_transitions(remiss, State.AKTUALISERING) == [State.FORHANDSBEDOMNING, State.AVSLUTAD]


def test_legal_bases_follow_the_new_social_services_act():
    kinds = {b.code for b in legal_bases_for(None, date(2026, 11, 1))}
    assert "sol2025_bistand" in kinds and not any(c.startswith("sol2001") for c in kinds)
    assert {b.code for b in legal_bases_for(None, date(2025, 6, 30))} >= {"sol2001_4_1", "sol2001_11_2"}


# --- workflow through the routes --------------------------------------------------------------------------


def test_child_report_workflow_deadlines_and_recorded_transitions(app, team, catalogue, person_factory):
    worker = team["unga"]
    child = person_factory(worker.user, PNR_CHILD, given_name="Lo")
    received = ops.today() - timedelta(days=20)
    c = _login(app, worker)
    resp = c.post(f"/arenden/ny/{child.id}", data={"focus": "unga_i_risk", "intake": "anmalan",
                                                   "received_on": received.isoformat(), "summary": "Orosanmälan."})
    assert resp.status_code == 302
    case = _db.session.scalar(_db.select(Case).where(Case.person_id == child.id))
    assert case.child and case.responsible_id == worker.id
    # Overdue: skyddsbedömning (received + 1) and förhandsbedömning (received + 14) have passed.
    assert case.next_due_on == received + timedelta(days=1)
    page = c.get(f"/arenden/{case.id}").get_data(as_text=True)
    assert "försenad" in page
    assert f'action="/arenden/{case.id}/skyddsbedomning"' in page and "Registrera skyddsbedömning" in page
    start = c.get("/").get_data(as_text=True)
    assert "Försenat" in start and case.reference in start
    # Skipping förhandsbedömning is refused for a report about a child.
    bad = c.post(f"/arenden/{case.id}/steg", data={"target": "utredning", "reason": "hoppa"})
    assert bad.status_code == 422
    assert c.post(f"/arenden/{case.id}/skyddsbedomning", data={"done_on": received.isoformat()}).status_code == 302
    assert "Registrera skyddsbedömning" not in c.get(f"/arenden/{case.id}").get_data(as_text=True)
    assert c.post(f"/arenden/{case.id}/steg", data={"target": "forhandsbedomning"}).status_code == 302
    assert c.post(f"/arenden/{case.id}/steg", data={"target": "utredning"}).status_code == 302
    _db.session.expire_all()
    case = _db.session.get(Case, case.id)
    assert case.state is State.UTREDNING and case.utredning_started_on == ops.today()
    assert case.next_due_on == workflow.add_months(ops.today(), 4)
    steps = list(_db.session.scalars(_db.select(CaseTransition).where(CaseTransition.case_id == case.id)
                                     .order_by(CaseTransition.at)))
    assert [s.to_state for s in steps] == [State.AKTUALISERING, State.FORHANDSBEDOMNING, State.UTREDNING]
    assert all(s.by == worker.id for s in steps)
    # Closing needs a reason, which is stored encrypted; re-opening too.
    assert c.post(f"/arenden/{case.id}/steg", data={"target": "avslutad", "reason": ""}).status_code == 422
    assert c.post(f"/arenden/{case.id}/steg", data={"target": "avslutad",
                                                    "reason": "Familjen flyttade."}).status_code == 302
    last = _db.session.scalar(_db.select(CaseTransition).where(CaseTransition.case_id == case.id)
                              .order_by(CaseTransition.at.desc()))
    assert last.reason == "Familjen flyttade." and b"flyttade" not in last.reason_enc
    assert c.post(f"/arenden/{case.id}/steg", data={"target": "utredning", "reason": "Ny anmälan."}).status_code == 302
    details = [e.details_dict.get("transition") for e in audit_events("update", object_type="case")]
    assert "utredning:avslutad" in details and "avslutad:utredning" in details


def test_extension_only_by_decision_with_reasons_approved_by_manager(app, team, catalogue, person_factory):
    worker, chef = team["unga"], team["unga_chef"]
    child = person_factory(worker.user, PNR_CHILD)
    case = ops.open_case(worker.user, child, ops.NewCase("unga_i_risk", "ansokan", ops.today() - timedelta(days=40),
                                                         "Ansökan om stöd."), unit_id=worker.user.unit_id)
    ops.transition(worker.user, case, "forhandsbedomning", None)
    ops.transition(worker.user, case, "utredning", None)
    _db.session.commit()
    due = case.next_due_on
    c = _login(app, worker)
    new_due = (due + timedelta(days=60)).isoformat()
    # No reasons: refused. Legal basis of the wrong kind: refused.
    resp = c.post(f"/arenden/{case.id}/beslut/nytt", data={"kind": "forlangd_utredningstid", "legal_basis":
                  "sol2025_utredningstid_barn", "decided_on": ops.today().isoformat(), "extends_to": new_due, "text": ""})
    assert resp.status_code == 422
    resp = c.post(f"/arenden/{case.id}/beslut/nytt", data={"kind": "forlangd_utredningstid", "legal_basis":
                  "sol2025_bistand", "decided_on": ops.today().isoformat(), "extends_to": new_due, "text": "Skäl"})
    assert resp.status_code == 422 and "Lagrummet" in resp.get_data(as_text=True)
    resp = c.post(f"/arenden/{case.id}/beslut/nytt", data={"kind": "forlangd_utredningstid", "legal_basis":
                  "sol2025_utredningstid_barn", "decided_on": ops.today().isoformat(), "extends_to": new_due,
                  "text": "Väntar på BUP-utlåtande."})
    assert resp.status_code == 302
    decision = _db.session.scalar(_db.select(Decision).where(Decision.case_id == case.id))
    assert decision.status is DecisionStatus.PROPOSED
    _db.session.expire_all()
    assert _db.session.get(Case, case.id).next_due_on == due  # not extended until the manager decides
    # The worker cannot approve; the manager can, and becomes the decision-maker.
    assert c.post(f"/beslut/{decision.id}/granska", data={"outcome": "approve"}).status_code == 403
    manager = _login(app, chef)
    assert "Beslut att godkänna" in manager.get("/").get_data(as_text=True)
    assert manager.post(f"/beslut/{decision.id}/granska", data={"outcome": "approve"}).status_code == 302
    _db.session.expire_all()
    decision = _db.session.get(Decision, decision.id)
    assert decision.status is DecisionStatus.APPROVED and decision.decision_maker_id == chef.id
    assert _db.session.get(Case, case.id).next_due_on == due + timedelta(days=60)
    # A made decision never changes.
    assert manager.post(f"/beslut/{decision.id}/granska", data={"outcome": "return", "note": "x"}).status_code == 422


def test_decision_made_directly_when_no_approval_needed(app, team, catalogue, case_factory):
    worker = team["unga"]
    case = case_factory(worker.user, focus=FocusArea.UNGA_I_RISK)
    with pytest.raises(ops.CaseworkError) as err:
        ops.propose_decision(worker.user, case, ops.DecisionData("inleda_utredning", "sol2025_utredning",
                                                                 case.received_on - timedelta(days=1), "x"))
    assert "decided_on" in err.value.errors
    d = ops.propose_decision(worker.user, case, ops.DecisionData("inleda_utredning", "sol2025_utredning",
                                                                 ops.today(), "Behov av utredning."))
    assert d.status is DecisionStatus.APPROVED and d.decision_maker_id == worker.id


def test_sig_needs_consents_of_young_person_and_guardian(app, team, catalogue, person_factory):
    worker = team["unga"]
    child = person_factory(worker.user, PNR_CHILD)
    case = ops.open_case(worker.user, child, ops.NewCase("unga_i_risk", "remiss", ops.today() - timedelta(days=2),
                                                         "Remiss från polisen (SIG)."), unit_id=worker.user.unit_id)
    _db.session.commit()
    sig = _type("sig")
    c = _login(app, worker)
    data = {"type_id": str(sig.id), "status": "pagaende", "start_on": ops.today().isoformat(),
            "responsible_id": str(worker.id), "goals": "Bryta kontakten med det kriminella nätverket.",
            "plan": "Handlingsplan med polis och skola.", "plan_agreed_on": ops.today().isoformat()}
    resp = c.post(f"/arenden/{case.id}/insatser/ny", data=data)
    assert resp.status_code == 422 and "samtycke" in resp.get_data(as_text=True)
    resp = c.post(f"/arenden/{case.id}/insatser/ny", data={**data, "status": "planerad"})
    assert resp.status_code == 302
    item_id = resp.headers["Location"].rsplit("/", 1)[-1]
    page = c.get(f"/insatser/{item_id}").get_data(as_text=True)
    assert "Samtycke saknas" in page
    edit = {**data, "status": "pagaende", "decision_id": ""}
    assert c.post(f"/insatser/{item_id}/andra", data=edit).status_code == 422
    for giver in ("personen", "vardnadshavare"):
        assert c.post(f"/insatser/{item_id}/samtycken", data={
            "giver": giver, "form": "skriftligt", "given_on": ops.today().isoformat(),
            "scope": "Polisen och skolan: uppgifter för handlingsplanen."}).status_code == 302
    assert c.post(f"/insatser/{item_id}/andra", data=edit).status_code == 302
    # Follow-ups: planned, shown on the start page, then done.
    assert c.post(f"/insatser/{item_id}/uppfoljningar", data={"due_on": ops.today().isoformat()}).status_code == 302
    assert "Uppföljningar" in c.get("/").get_data(as_text=True)


def test_end_before_start_and_needs_decision(app, team, catalogue, case_factory):
    worker = team["unga"]
    case = case_factory(worker.user, focus=FocusArea.LAMNA_KRIMINALITET)
    data = ops.InterventionData(_type("boende").id, "planerad", ops.today(), ops.today() - timedelta(days=1),
                                worker.id, "Eget boende.", None, None, None)
    with pytest.raises(ops.CaseworkError) as err:
        ops.add_intervention(worker.user, case, data)
    assert "end_on" in err.value.errors and "decision_id" in err.value.errors
    wrong_focus = ops.InterventionData(_type("sig").id, "planerad", ops.today(), None, worker.id, "x", None, None,
                                       None)
    with pytest.raises(ops.CaseworkError) as err:
        ops.add_intervention(worker.user, case, wrong_focus)
    assert "type_id" in err.value.errors


def test_group_sessions_and_attendance(app, team, catalogue, case_factory):
    worker = team["unga"]
    case = case_factory(worker.user, focus=FocusArea.ANHORIGSTOD)
    c = _login(app, worker)
    resp = c.post("/grupper/ny", data={"type_id": str(_type("anhorigcirkel").id), "name": "Anhörigcirkel hösten",
                                       "leader_id": str(worker.id), "start_on": (ops.today() - timedelta(days=7)).isoformat()})
    assert resp.status_code == 302
    group_url = resp.headers["Location"]
    assert c.post(f"{group_url}/deltagare", data={"case_id": str(case.id),
                                                  "joined_on": (ops.today() - timedelta(days=7)).isoformat()}).status_code == 302
    assert c.post(f"{group_url}/tillfallen", data={"held_on": (ops.today() - timedelta(days=1)).isoformat(),
                                                   "topic": "Att sätta gränser", "other_participants": "2"}).status_code == 302
    page = c.get(group_url).get_data(as_text=True)
    assert "Anna Andersson" in page and "Att sätta gränser" in page
    from caseapp.cases.models import Group
    group = _db.session.scalar(_db.select(Group))
    session, member = group.sessions[0], group.members[0]
    assert c.post(f"{group_url}/tillfallen/{session.id}/narvaro", data={"present": [str(member.id)]}).status_code == 302
    row = _db.session.scalar(_db.select(GroupAttendance))
    assert row.present and row.person_id == case.person_id
    assert audit_events("update", object_type="group_attendance")[-1].subject_person_id == case.person_id
    future = c.post(f"{group_url}/tillfallen", data={"held_on": (ops.today() + timedelta(days=400)).isoformat()})
    assert future.status_code == 422
    # The group and who attends are hidden from a colleague of another unit.
    outsider = _login(app, team["rvt"])
    assert outsider.get(group_url).status_code == 404


def test_caseload_and_lists_for_the_manager(app, team, catalogue, case_factory):
    worker, chef = team["unga"], team["unga_chef"]
    for _ in range(3):
        case_factory(worker.user, focus=FocusArea.UNGA_I_RISK)
    unassigned = case_factory(chef.user, focus=FocusArea.UNGA_I_RISK)
    assert unassigned.responsible_id is None
    c = _login(app, chef)
    page = c.get("/arenden/enhet").get_data(as_text=True)
    assert worker.user.display_name in page and "Ingen ansvarig" in page
    rows = {r.worker_id: r for r in ops.caseload(chef.user)}
    assert rows[worker.id].by_state[State.AKTUALISERING] == 3 and rows[None].total == 1
    listing = c.get("/arenden/?vy=unit").get_data(as_text=True)
    assert listing.count("/arenden/") >= 4
    assert c.get("/arenden/enhet").status_code == 200
    assert _login(app, worker).get("/arenden/enhet").status_code == 403


def test_search_by_personnummer_name_and_reference(app, team, catalogue, case_factory):
    worker = team["unga"]
    case = case_factory(worker.user, focus=FocusArea.UNGA_I_RISK, given_name="Signe", family_name="Åkesson")
    c = _login(app, worker)
    identity = case.person.identity  # 12 digits; search takes any written form
    for q in ("Signe", "akesson", case.reference, identity, f"{identity[2:8]}-{identity[8:]}"):
        body = c.post("/arenden/sok", data={"q": q}).get_data(as_text=True)
        assert case.reference in body, q
    assert c.post("/arenden/sok", data={"q": ""}).status_code == 422
    assert audit_events("search", actor_user_id=worker.id)


def test_catalogue_is_edited_by_the_administrator_only(app, team, catalogue):
    admin = _login(app, team["admin"])
    assert admin.get("/insatskatalog/").status_code == 200
    resp = admin.post("/insatskatalog/ny", data={"code": "foraldrastod", "focus": "unga_i_risk",
                                                 "name": "Föräldrastöd", "name_en": "Parent support", "active": "y"})
    assert resp.status_code == 302
    item = _type("foraldrastod")
    assert item.active and item.name_en == "Parent support"
    assert admin.post(f"/insatskatalog/{item.id}", data={"focus": "unga_i_risk", "name": "Föräldrastöd (ABC)",
                                                         "name_en": "Parent support"}).status_code == 302
    _db.session.expire_all()
    assert not _type("foraldrastod").active  # unchecked box: deactivated
    dup = admin.post("/insatskatalog/ny", data={"code": "sig", "focus": "unga_i_risk", "name": "x"})
    assert dup.status_code == 422
    worker = _login(app, team["unga"])
    assert worker.get("/insatskatalog/").status_code == 403
    assert worker.post(f"/insatskatalog/{item.id}", data={"name": "x"}).status_code == 403
    # The administrator reads no case content.
    assert admin.get("/arenden/").status_code == 403
