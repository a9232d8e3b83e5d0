"""Emergency access (nödåtkomst): who may ask, what a grant gives (read only, for a limited time), what is
logged and stored, and where it lands on the attention list. Plus the rule "reads of protected persons"."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from caseapp.accounts.models import Role
from caseapp.cases.models import Case
from caseapp.people.models import Person, Protection
from caseapp.security import policy
from caseapp.security.audit import AuditEvent
from caseapp.supervision import emergency
from caseapp.supervision import operations as ops
from caseapp.supervision.models import EmergencyAccess
from caseapp.timeutil import utcnow
from tests.cases.conftest import PNR_ADULT, PNR_ADULT2
from tests.conftest import AuthActions, audit_events

REASON = "Akut orosanmälan, klienten hörs av polisen nu"


@pytest.fixture()
def rvt_case(team, case_factory):
    """A case of the domestic-violence team (a unit that does not share), unknown to the "unga" staff."""
    return case_factory(team["rvt"].user, given_name="Sara", family_name="Emergencysson")


def client_for(app, account):
    c = app.test_client()
    assert AuthActions(c).login(account).status_code == 302
    return c


def ask(c, target, reason=REASON):
    return c.post("/logg/nodatkomst", data={"target": target, "reason": reason})


def grants(db):
    db.session.expire_all()
    return list(db.session.scalars(select(EmergencyAccess)))


def test_without_reason_refused_and_nothing_written(app, db, team, rvt_case):
    c = client_for(app, team["unga"])
    before = len(audit_events("emergency_access"))
    for reason in ("", "   ", "kort"):
        resp = ask(c, rvt_case.reference, reason)
        body = resp.get_data(as_text=True)
        assert resp.status_code == 422
        assert ("Ange skälet till nödåtkomsten" in body) or ("minst 10 tecken" in body)
        assert "Ingen nödåtkomst gavs" in body
    assert grants(db) == []
    assert len(audit_events("emergency_access")) == before
    assert c.get(f"/arenden/{rvt_case.id}").status_code == 404


def test_with_reason_read_only_then_expires(app, db, team, rvt_case):
    worker = team["unga"]
    c = client_for(app, worker)
    assert c.get(f"/arenden/{rvt_case.id}").status_code == 404  # outside their rights
    resp = ask(c, rvt_case.reference.lower())
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/arenden/{rvt_case.id}")
    [grant] = grants(db)
    assert grant.user_id == worker.id and grant.case_id == rvt_case.id and grant.person_id == rvt_case.person_id
    assert grant.expires_at - grant.granted_at == timedelta(minutes=60)
    # Readable now, with the banner; the person's file too.
    resp = c.get(f"/arenden/{rvt_case.id}")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert 'id="emergency-banner"' in body and "Du har nödåtkomst till ärendet till" in body
    assert c.get(f"/personer/{rvt_case.person_id}").status_code == 200
    # Lists and search follow the grant too (the grants are read with the signed-in user, once per request).
    found = c.post("/arenden/sok", data={"q": rvt_case.reference}).get_data(as_text=True)
    assert f"/arenden/{rvt_case.id}" in found
    # Writing is still refused (403: they may know the case now, not act in it).
    assert c.post(f"/arenden/{rvt_case.id}/journal/ny", data={"text": "x"}).status_code == 403
    assert c.post(f"/arenden/{rvt_case.id}/steg", data={"target": "utredning"}).status_code == 403
    assert policy.WRITE not in policy._case_access(worker.user, db.session.get(Case, rvt_case.id))
    assert c.get(f"/personer/{rvt_case.person_id}/andra").status_code == 403  # nor the person's registry data
    # After expiry it is refused again.
    grant.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert c.get(f"/arenden/{rvt_case.id}").status_code == 404
    assert c.get(f"/personer/{rvt_case.person_id}").status_code == 404
    assert f"/arenden/{rvt_case.id}" not in c.post("/arenden/sok", data={"q": rvt_case.reference}).get_data(
        as_text=True)


def test_time_limit_is_configurable(app, db, team, rvt_case):
    app.config["EMERGENCY_ACCESS_MINUTES"] = 15
    try:
        c = client_for(app, team["unga"])
        assert ask(c, rvt_case.reference).status_code == 302
    finally:
        app.config["EMERGENCY_ACCESS_MINUTES"] = 60
    [grant] = grants(db)
    assert grant.expires_at - grant.granted_at == timedelta(minutes=15)


def test_grant_audited_and_reads_are_view_events(app, db, team, rvt_case):
    worker = team["unga"]
    c = client_for(app, worker)
    assert ask(c, PNR_ADULT).status_code == 302  # by personnummer: all the person's cases
    [event] = audit_events("emergency_access", actor_user_id=worker.id)
    assert event.outcome == "ok" and event.object_type == "case" and event.object_id == str(rvt_case.id)
    assert event.subject_person_id == rvt_case.person_id
    [grant] = grants(db)
    assert event.details_dict["grant"] == str(grant.id) and event.details_dict["by"] == "personnummer"
    assert event.details_dict["protected"] is False
    assert REASON not in (event.details or "")
    c.get(f"/arenden/{rvt_case.id}")
    views = audit_events("view", actor_user_id=worker.id, object_type="case", object_id=str(rvt_case.id))
    assert len(views) == 1 and views[0].subject_person_id == rvt_case.person_id


def test_no_match_says_no_case_found_and_is_audited(app, db, team, rvt_case):
    worker = team["unga"]
    c = client_for(app, worker)
    for target in ("2026-ZZZZZ", PNR_ADULT2):
        resp = ask(c, target)
        assert resp.status_code == 422 and "Inget ärende hittades" in resp.get_data(as_text=True)
    failed = audit_events("emergency_access", actor_user_id=worker.id, outcome="failed")
    assert [e.details_dict["by"] for e in failed] == ["reference", "personnummer"]
    assert all(e.object_id is None and e.subject_person_id is None for e in failed)
    assert grants(db) == []
    resp = ask(c, "inte ett nummer")
    assert resp.status_code == 422 and "giltigt personnummer" in resp.get_data(as_text=True)


def test_reason_not_in_clear_in_database(app, db, team, rvt_case):
    c = client_for(app, team["unga"])
    assert ask(c, rvt_case.reference).status_code == 302
    [grant] = grants(db)
    raw = db.session.execute(text("SELECT reason_enc FROM emergency_access")).scalar_one()
    assert raw and REASON.encode() not in bytes(raw) and b"polisen" not in bytes(raw)
    assert grant.reason == REASON
    for row in db.session.execute(text("SELECT details FROM audit_events")).scalars():
        assert "polisen" not in (row or "")


@pytest.mark.parametrize("who", ["admin", "auditor"])
def test_administrator_and_auditor_refused(app, db, team, rvt_case, who):
    account = team[who]
    c = client_for(app, account)
    assert c.get("/logg/nodatkomst").status_code == 403
    assert ask(c, rvt_case.reference).status_code == 403
    assert grants(db) == []
    denied = audit_events("denied", actor_user_id=account.id)
    assert denied and all(e.details_dict.get("permission") == "case.emergency" for e in denied)
    assert policy.emergency_case_ids(account.user) == frozenset()
    with pytest.raises(Exception):  # noqa: B017 - the operation refuses too (abort 403)
        emergency.request_access(account.user, rvt_case.reference, REASON)


def test_grant_on_attention_list_of_owning_units_manager(app, db, team, rvt_case):
    worker = team["unga"]
    c = client_for(app, worker)
    assert ask(c, rvt_case.reference).status_code == 302
    [event] = audit_events("emergency_access", actor_user_id=worker.id)
    # The manager of the unit that owns the case (rvt) sees it, named as reviewer, with the reason.
    rvt_chief = team["rvt_chef"]
    items = [i for i in ops.attention_items(rvt_chief.user) if i.event.id == event.id]
    assert [i.kind for i in items] == ["emergency"]
    assert rvt_chief.user.display_name in items[0].detail["reviewers"]
    assert items[0].detail["reason"] == REASON
    body = client_for(app, rvt_chief).get("/logg/uppmarksamhet").get_data(as_text=True)
    assert f'id="item-{event.id}-emergency"' in body and "Granskas av enhetschef" in body and REASON in body
    # The reader's own manager sees it too, without the reason (they may not read the case).
    [mine] = [i for i in ops.attention_items(team["unga_chef"].user) if i.event.id == event.id]
    assert "reason" not in mine.detail and rvt_chief.user.display_name in mine.detail["reviewers"]
    # The auditor sees it, no reason.
    [aud] = [i for i in ops.attention_items(team["auditor"].user) if i.event.id == event.id]
    assert "reason" not in aud.detail
    # The owning unit's manager can mark it reviewed.
    ops.mark_reviewed(rvt_chief.user, event.id, "emergency", "Kontrollerat med handläggaren.")
    db.session.commit()
    assert not [i for i in ops.attention_items(rvt_chief.user) if i.event.id == event.id]


def test_other_units_manager_does_not_see_it(app, db, team, rvt_case, make_user):
    c = client_for(app, team["unga"])
    assert ask(c, rvt_case.reference).status_code == 302
    stranger = make_user(Role.ENHETSCHEF, "lamna")
    assert not [i for i in ops.attention_items(stranger.user) if i.kind.startswith("emergency")]


def test_protected_person_always_flagged(app, db, team, rvt_case):
    person = db.session.get(Person, rvt_case.person_id)
    person.protection = Protection.SEKRETESSMARKERING
    db.session.commit()
    c = client_for(app, team["unga"])
    assert ask(c, rvt_case.reference).status_code == 302
    [event] = audit_events("emergency_access", actor_user_id=team["unga"].id)
    assert event.details_dict["protected"] is True
    rvt_chief = team["rvt_chef"]
    kinds = {i.kind for i in ops.attention_items(rvt_chief.user) if i.event.id == event.id}
    assert kinds == {"emergency_protected"}
    # The reads under the grant show on the protected-person rule of the reader's own manager.
    c.get(f"/arenden/{rvt_case.id}")
    [view] = audit_events("view", actor_user_id=team["unga"].id, object_type="case")
    assert "protected" in {i.kind for i in ops.attention_items(team["unga_chef"].user) if i.event.id == view.id}


def test_rule_reads_of_protected_persons(app, db, team, case_factory, person_factory):
    worker = team["unga"]
    plain = case_factory(worker.user, given_name="Olle", family_name="Vanlig")
    hidden = case_factory(worker.user, identity=PNR_ADULT2, given_name="Hedda", family_name="Skyddad")
    person = db.session.get(Person, hidden.person_id)
    person.protection = Protection.SKYDDAD_FOLKBOKFORING
    db.session.commit()
    from caseapp.protection import operations as protection_ops

    protection_ops.grant_access(team["unga_chef"].user, person, worker.id)  # on the access list (issue 7)
    db.session.commit()
    c = client_for(app, worker)
    for case in (plain, hidden):
        assert c.get(f"/arenden/{case.id}").status_code == 200
        assert c.get(f"/personer/{case.person_id}").status_code == 200
    chief = team["unga_chef"].user
    flagged = [i for i in ops.attention_items(chief) if i.kind == "protected"]
    assert flagged and {i.event.subject_person_id for i in flagged} == {hidden.person_id}
    assert {i.event.action for i in flagged} <= {"view", "list", "search"}
    assert all(i.event.actor_user_id == worker.id for i in flagged)
    # Visible to the auditor too; not to another unit's manager.
    assert {i.event.id for i in ops.attention_items(team["auditor"].user) if i.kind == "protected"} >= \
        {i.event.id for i in flagged}
    assert not [i for i in ops.attention_items(team["rvt_chef"].user) if i.kind == "protected"]
    # Refused reads are not "reads" (they are on the list as refusals).
    assert all(i.event.outcome == "ok" for i in flagged)


def test_readable_clause_and_person_visibility_follow_the_grant(app, db, team, rvt_case):
    worker = team["unga"].user
    assert db.session.scalar(policy.visible_cases(worker).where(Case.id == rvt_case.id)) is None
    outcome = emergency.request_access(worker, rvt_case.reference, REASON)
    db.session.commit()
    assert [g.case_id for g in outcome.grants] == [rvt_case.id]
    assert db.session.scalar(policy.visible_cases(worker).where(Case.id == rvt_case.id)) is not None
    assert db.session.scalar(policy.visible_people(worker).where(Person.id == rvt_case.person_id)) is not None
    # The colleague without a grant still sees nothing.
    assert db.session.scalar(policy.visible_cases(team["unga2"].user).where(Case.id == rvt_case.id)) is None
    outcome.grants[0].expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert db.session.scalar(policy.visible_cases(worker).where(Case.id == rvt_case.id)) is None


def test_banner_shown_to_owning_units_staff(app, db, team, rvt_case):
    c = client_for(app, team["unga"])
    assert ask(c, rvt_case.reference).status_code == 302
    owner = client_for(app, team["rvt"])
    body = owner.get(f"/arenden/{rvt_case.id}").get_data(as_text=True)
    assert 'id="emergency-banner"' in body
    assert f"{team['unga'].user.display_name} har nödåtkomst till ärendet till" in body


def test_already_readable_needs_no_grant(app, db, team, case_factory):
    case = case_factory(team["unga"].user)
    c = client_for(app, team["unga_chef"])
    resp = ask(c, case.reference)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/arenden/{case.id}")
    assert grants(db) == []


def test_unknown_grant_ids_do_not_break_the_list(app, db, team):
    # An emergency_access event whose grant is gone (or never existed) still lists, without reviewer details.
    user = team["unga"].user
    db.session.add(AuditEvent(occurred_at=utcnow(), actor_user_id=user.id, actor_unit_id=user.unit_id,
                              actor_role=str(user.role), action="emergency_access", outcome="ok",
                              object_type="case", object_id=str(uuid.uuid4()),
                              details='{"grant":"' + str(uuid.uuid4()) + '"}'))
    db.session.commit()
    items = [i for i in ops.attention_items(team["unga_chef"].user) if i.kind == "emergency"]
    assert len(items) == 1 and "reviewers" not in items[0].detail


def test_colleague_not_on_the_access_list_gets_a_grant_for_a_protected_person(app, db, team, case_factory):
    """In a sharing unit a colleague reads the unit's cases, but not a protected person's (issue 7): an emergency
    grant is what opens it, read-only, flagged as protected."""
    case = case_factory(team["unga"].user, given_name="Hedda", family_name="Skyddad")
    person = db.session.get(Person, case.person_id)
    person.protection = Protection.SKYDDAD_FOLKBOKFORING
    db.session.commit()
    colleague = team["unga2"]
    c = client_for(app, colleague)
    assert c.get(f"/arenden/{case.id}").status_code == 404
    assert ask(c, case.reference).status_code == 302
    assert [g.case_id for g in grants(db)] == [case.id]
    assert c.get(f"/arenden/{case.id}").status_code == 200
    assert c.get(f"/personer/{case.person_id}").status_code == 404  # the person's own file stays closed
    [event] = audit_events("emergency_access", actor_user_id=colleague.id)
    assert event.details_dict["protected"] is True
    kinds = {i.kind for i in ops.attention_items(team["unga_chef"].user) if i.event.id == event.id}
    assert kinds == {"emergency_protected"}


def test_policy_reach_covers_every_readable_case_and_the_start_panels_follow_a_grant(app, db, team, rvt_case,
                                                                                      case_factory):
    """policy.reach (the cheap "is there anything at all" check of the start page's panels) admits every case
    the full rule admits, for every role, also a case opened by an emergency grant in another unit."""
    case_factory(team["unga"].user, given_name="Olle")
    worker = team["unga"].user
    emergency.request_access(worker, rvt_case.reference, REASON)
    db.session.commit()
    for account in team.values():
        user = account.user
        with app.test_request_context("/"):
            readable = set(db.session.scalars(select(Case.id).where(policy.readable_cases_clause(user))))
            reached = set(db.session.scalars(select(Case.id).where(policy.reach_clause(Case.id, Case.unit_id)),
                                             policy.reach(user)))
            assert readable <= reached, user.username
            db.session.rollback()
    with app.test_request_context("/"):
        assert rvt_case.id in set(db.session.scalars(
            select(Case.id).where(policy.reach_clause(Case.id, Case.unit_id)), policy.reach(worker)))
        db.session.rollback()
