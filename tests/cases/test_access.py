"""The access policy for casework, walked over every route that takes a record id.

A case in the domestic-violence team (a unit that does not share) with every kind of record hanging off it; then
every endpoint with a record id is requested by a worker of another unit, an unassigned colleague in the same
(non-sharing) unit, an administrator and an auditor. Each request is refused (403/404), the refusal is audited,
and no page, list or search shows the records to them.
"""

from __future__ import annotations

import uuid

import pytest
from flask import url_for

from caseapp.accounts.models import Role
from caseapp.cases import operations as ops
from caseapp.cases.models import JournalEntry
from caseapp.cases.workflow import FocusArea
from caseapp.extensions import db as _db
from caseapp.protection import operations as protection_ops
from caseapp.security import policy
from tests.cases.conftest import PNR_ADULT, PNR_ADULT2, build_case_world, violence_records
from tests.conftest import AuthActions, audit_events

NAME = "Vendela"
RELATIVE = "Gunborg"


@pytest.fixture()
def world(app, db, team, catalogue, person_factory):
    """A case in "rvt" assigned to team["rvt"], with a journal, a decision, an intervention, a group, a relation."""
    a = team["rvt"].user
    person = person_factory(a, PNR_ADULT, given_name=NAME, family_name="Östberg")
    relative = person_factory(a, PNR_ADULT2, given_name=RELATIVE, family_name="Östberg")
    case, ids = build_case_world(a, person, PNR_ADULT2)
    entry = _db.session.get(JournalEntry, ids["entry_id"])
    draft = ops.create_entry(a, case, ops.EntryData("anteckning", ops.today(), "Utkast."))
    _db.session.flush()
    objection = ops.add_objection(a, entry, ops.today(), "Stämmer inte.")
    link = protection_ops.create_link(a, case, protection_ops.LinkData(PNR_ADULT2))  # issue 7 routes
    access = protection_ops.grant_access(team["rvt_chef"].user, person, a.id)
    _db.session.commit()
    ids.update({"link_id": link.id, "access_id": access.id})
    return {"ids": ids, "draft": draft.id, "objection": objection.id, "relative": relative.id,
            "reference": case.reference}


def _record_routes(app):
    """(rule, method) of every endpoint that takes a record id, except staff administration, the log follow-up
    and the intervention catalogue (no case content; covered by their own tests)."""
    for rule in app.url_map.iter_rules():
        # Referrals have their own walk over the same outsiders (tests/referrals/test_access.py).
        if not rule.arguments or rule.endpoint.split(".")[0] in ("admin", "supervision", "static", "referrals"):
            continue
        if rule.endpoint in ("cases.edit_type",):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def _url(app, rule, ids) -> str:
    with app.test_request_context():
        return url_for(rule.endpoint, **{arg: ids[arg] for arg in rule.arguments})


def _login(app, account):
    c = app.test_client()
    assert AuthActions(c).login(account).status_code == 302
    return c


OUTSIDERS = ["other_unit", "unassigned", "admin", "auditor"]


@pytest.fixture()
def outsiders(team, make_user):
    return {
        "other_unit": make_user(Role.HANDLAGGARE, "unga"),
        "unassigned": team["rvt2"],
        "admin": team["admin"],
        "auditor": team["auditor"],
    }


def test_route_walk_refuses_outsiders_and_audits(app, world, outsiders):
    routes = list(_record_routes(app))
    assert len(routes) >= 30
    endpoints = {r.endpoint for r, _m in routes}
    assert {"cases.view", "cases.entry", "cases.decision", "cases.intervention", "cases.group",
            "people.view"} <= endpoints
    for who in OUTSIDERS:
        account = outsiders[who]
        c = _login(app, account)
        for rule, method in routes:
            before = len(audit_events("denied", actor_user_id=account.id))
            resp = c.open(_url(app, rule, world["ids"]), method=method,
                          data={"text": "x", "target": "avslutad", "reason": "x", "worker": str(account.id)})
            assert resp.status_code in (403, 404), (who, rule.endpoint, method, resp.status_code)
            body = resp.get_data(as_text=True)
            assert NAME not in body and world["reference"] not in body, (who, rule.endpoint)
            denied = audit_events("denied", actor_user_id=account.id)
            assert len(denied) == before + 1, (who, rule.endpoint, method)
        # Nothing was written by any of these requests: the case still has its one transition and entry.
    case = _db.session.get(__import__("caseapp.cases.models", fromlist=["Case"]).Case, world["ids"]["case_id"])
    assert case.state.value == "aktualisering"


def test_refusals_of_case_records_name_the_subject(app, world, outsiders):
    c = _login(app, outsiders["other_unit"])
    c.get(f"/arenden/{world['ids']['case_id']}")
    denied = audit_events("denied", actor_user_id=outsiders["other_unit"].id)[-1]
    assert denied.subject_person_id == world["ids"]["person_id"]
    assert denied.object_type == "case"


def test_lists_and_search_never_show_outsiders_the_records(app, world, outsiders):
    for who in ("other_unit", "unassigned"):
        c = _login(app, outsiders[who])
        pages = [c.get(u) for u in ("/", "/arenden/", "/arenden/?vy=unit&avslutade=1", "/grupper/", "/personer/")]
        searches = [c.post("/arenden/sok", data={"q": q}) for q in (PNR_ADULT, NAME, world["reference"])]
        searches += [c.post("/personer/sok", data={"name": NAME}), c.post("/personer/sok", data={"identity": PNR_ADULT})]
        for resp in pages + searches:
            assert resp.status_code == 200
            body = resp.get_data(as_text=True)
            for echoed in (NAME, PNR_ADULT, world["reference"]):  # the search form shows what was typed
                body = body.replace(f'value="{echoed}"', "")
            assert NAME not in body and world["reference"] not in body and "Stödgrupp" not in body, who
    for who in ("admin", "auditor"):
        c = _login(app, outsiders[who])
        assert NAME not in c.get("/").get_data(as_text=True)
        assert c.post("/arenden/sok", data={"q": NAME}).status_code == 403


def test_assigned_worker_reads_everything_and_reads_are_audited(app, world, team):
    a = team["rvt"]
    c = _login(app, a)
    ids = world["ids"]
    for path, object_type in ((f"/arenden/{ids['case_id']}", "case"), (f"/journal/{ids['entry_id']}", "journal_entry"),
                              (f"/beslut/{ids['decision_id']}", "decision"),
                              (f"/insatser/{ids['intervention_id']}", "intervention")):
        resp = c.get(path)
        assert resp.status_code == 200, path
        assert NAME in resp.get_data(as_text=True)
        view = audit_events("view", actor_user_id=a.id, object_type=object_type)[-1]
        assert view.subject_person_id == ids["person_id"]
    assert c.get(f"/grupper/{ids['group_id']}").status_code == 200
    body = c.get("/").get_data(as_text=True)
    assert NAME in body and "Utkast att signera" in body
    assert audit_events("list", actor_user_id=a.id, subject_person_id=ids["person_id"])


def test_unit_manager_reads_and_assigns_but_not_other_units(app, world, team):
    chef = team["rvt_chef"]
    c = _login(app, chef)
    ids = world["ids"]
    page = c.get(f"/arenden/{ids['case_id']}")
    assert page.status_code == 200 and f'action="/arenden/{ids["case_id"]}/tilldela"' in page.get_data(as_text=True)
    worker_page = _login(app, team["rvt"]).get(f"/arenden/{ids['case_id']}").get_data(as_text=True)
    assert "/tilldela" not in worker_page and f'action="/arenden/{ids["case_id"]}/steg"' in worker_page
    assert c.get("/arenden/enhet").status_code == 200
    resp = c.post(f"/arenden/{ids['case_id']}/tilldela", data={"worker": str(team["rvt2"].id)})
    assert resp.status_code == 302
    assert audit_events("update", actor_user_id=chef.id, object_type="case")[-1].details_dict["assign"] == \
        str(team["rvt2"].id)
    # The newly assigned colleague now reads the case (and the person).
    c2 = _login(app, team["rvt2"])
    assert c2.get(f"/arenden/{ids['case_id']}").status_code == 200
    assert c2.get(f"/personer/{ids['person_id']}").status_code == 200
    other_chef = _login(app, team["unga_chef"])
    assert other_chef.get(f"/arenden/{ids['case_id']}").status_code == 404


def test_drafts_are_the_authors_only(app, world, team):
    chef = _login(app, team["rvt_chef"])
    assert chef.get(f"/journal/{world['draft']}").status_code == 404
    assert "Utkast." not in chef.get(f"/arenden/{world['ids']['case_id']}").get_data(as_text=True)


def test_sharing_unit_colleague_reads_but_does_not_write(app, team, catalogue, case_factory):
    owner, colleague = team["unga"], team["unga2"]
    case = case_factory(owner.user, focus=FocusArea.UNGA_I_RISK)
    c = _login(app, colleague)
    assert c.get(f"/arenden/{case.id}").status_code == 200
    resp = c.post(f"/arenden/{case.id}/journal/ny", data={"entry_type": "mote", "event_date": "2026-01-01",
                                                          "text": "x"})
    assert resp.status_code == 403
    assert audit_events("denied", actor_user_id=colleague.id)[-1].details_dict["permission"] == "case.write"


def test_person_visibility_follows_cases(app, team, catalogue, person_factory):
    a, colleague = team["rvt"].user, team["rvt2"].user
    person = person_factory(a)
    # Without a case the registering unit sees the person (so that a case can be opened) ...
    assert policy.can_see_person(colleague, person)
    ops.open_case(a, person, ops.NewCase("brottsoffer", "ansokan", ops.today(), "x"), unit_id=a.unit_id)
    _db.session.commit()
    # ... once the person has a case, only through cases the user may read (the team does not share).
    assert not policy.can_see_person(colleague, person)
    assert policy.can_see_person(a, person)
    assert _db.session.scalar(policy.visible_people(colleague).where(
        policy.people_visibility_clause(colleague))) is None


def test_relation_grants_no_access(app, team, catalogue, person_factory, case_factory):
    a, other = team["rvt"].user, team["unga"].user
    victim = person_factory(a, PNR_ADULT, given_name=NAME)
    ops.open_case(a, victim, ops.NewCase("brottsoffer", "ansokan", ops.today(), "x"), unit_id=a.unit_id)
    relative = person_factory(other, PNR_ADULT2, given_name=RELATIVE)
    ops.open_case(other, relative, ops.NewCase("unga_i_risk", "ansokan", ops.today(), "y"), unit_id=other.unit_id)
    _db.session.commit()
    # "other" cannot link to the victim: the victim is not visible to them, so the number finds no one.
    with pytest.raises(ops.CaseworkError, match="Ingen person"):
        ops.add_relation(other, relative, PNR_ADULT, "foralder")
    _db.session.rollback()
    # A link made where both are visible still shows nothing of the other side to someone who sees only one.
    chef_rvt = team["rvt_chef"].user
    rows = ops.relations_for(chef_rvt, victim)
    assert rows == []
    assert not policy.can_see_person(other, victim)


def test_get_case_with_garbage_id_is_a_404(app, world, team):
    c = _login(app, team["rvt"])
    assert c.get(f"/arenden/{uuid.uuid4()}").status_code == 404
    assert c.get("/arenden/inte-ett-id").status_code == 404


def test_person_data_is_changed_only_by_those_who_write_a_case(app, team, catalogue, case_factory):
    owner, colleague = team["unga"], team["unga2"]
    case = case_factory(owner.user, focus=FocusArea.UNGA_I_RISK)
    data = {"given_name": "Anna", "family_name": "Ändrad", "identity": PNR_ADULT, "protection": "none"}
    reader = _login(app, colleague)
    assert reader.get(f"/personer/{case.person_id}").status_code == 200
    assert reader.post(f"/personer/{case.person_id}/andra", data=data).status_code == 403
    assert audit_events("denied", actor_user_id=colleague.id)[-1].subject_person_id == case.person_id
    writer = _login(app, owner)
    assert writer.post(f"/personer/{case.person_id}/andra", data=data).status_code == 302


def test_unassigned_reads_land_on_the_attention_list(app, team, catalogue, case_factory):
    from datetime import timedelta as _td

    from caseapp.cases.operations import unassigned_reads
    from caseapp.timeutil import utcnow

    owner, colleague, chef = team["unga"], team["unga2"], team["unga_chef"]
    case = case_factory(owner.user, focus=FocusArea.UNGA_I_RISK)
    _login(app, colleague).get(f"/arenden/{case.id}")
    _login(app, owner).get(f"/arenden/{case.id}")
    _login(app, chef).get(f"/arenden/{case.id}")
    flagged = unassigned_reads(chef.user, utcnow() - _td(days=1))
    assert [(k, e.actor_user_id, d["case"]) for k, e, d in flagged] == [("unassigned", colleague.id, str(case.id))]
    page = _login(app, chef).get("/logg/uppmarksamhet").get_data(as_text=True)
    assert "Läsning av ärende utan tilldelning" in page


def test_unassigned_reads_of_referrals_and_assessments_land_on_the_attention_list(app, team, catalogue,
                                                                                 case_factory):
    """Records of the referral and domestic-violence packages count as case records for the rule."""
    from datetime import timedelta as _td

    from caseapp.cases.operations import unassigned_reads
    from caseapp.referrals import operations as referral_ops
    from caseapp.referrals.models import Partner
    from caseapp.timeutil import utcnow

    owner, colleague, chef = team["unga"], team["unga2"], team["unga_chef"]
    case = case_factory(owner.user, focus=FocusArea.BROTTSOFFER)
    assessment, plan = violence_records(owner.user, case)
    police = Partner(name="Polisen", kind="polis", contact="", active=True)
    _db.session.add(police)
    _db.session.flush()
    disclosure = referral_ops.record_disclosure(owner.user, case, police, "osl_10_18c", "Risk för allvarligt våld.",
                                                ["identitet"], description="Namn.")
    _db.session.commit()
    c = _login(app, colleague)  # "unga" shares: the colleague may read, unassigned
    for path in (f"/vald/bedomningar/{assessment.id}", f"/vald/planer/{plan.id}", f"/utlamnanden/{disclosure.id}"):
        assert c.get(path).status_code == 200, path
    flagged = unassigned_reads(chef.user, utcnow() - _td(days=1))
    assert {e.object_type for _k, e, _d in flagged} == {"risk_assessment", "violence_plan", "disclosure"}
    assert {d["case"] for _k, _e, d in flagged} == {str(case.id)}


def test_an_assignment_changed_within_a_request_changes_access_at_once(app, team, catalogue, case_factory):
    """The policy reads a case's assignments once per request (the case page lists the same rows); assigning
    or unassigning in the same request is seen by the next check, before anything is committed."""
    rvt, rvt2, chef = team["rvt"].user, team["rvt2"].user, team["rvt_chef"].user
    case = case_factory(rvt, focus=FocusArea.BROTTSOFFER)
    with app.test_request_context("/"):
        assert policy.case_access(rvt2, case) == frozenset()
        assert [a.user_id for a in ops.active_assignments(case)] == [rvt.id]
        assignment = ops.assign(chef, case, rvt2.id)
        assert policy.case_access(rvt2, case) == {policy.READ, policy.WRITE}
        assert {a.user_id for a in ops.active_assignments(case)} == {rvt.id, rvt2.id}
        ops.unassign(chef, case, assignment.id)
        assert policy.case_access(rvt2, case) == frozenset()
        assert [a.user_id for a in ops.active_assignments(case)] == [rvt.id]
        _db.session.rollback()
