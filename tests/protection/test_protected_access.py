"""Protected identities enforced by the central policy: every route that takes a record id, walked as the
perpetrator's worker, a colleague not on the access list (also in a unit that shares), the administrator and
the auditor; lists and search; the SQL scopes against the Python checks."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from caseapp.cases import operations as ops
from caseapp.cases.models import Case
from caseapp.extensions import db as _db
from caseapp.people.models import Person
from caseapp.protection import operations as pops
from caseapp.security import audit, policy
from tests.cases.conftest import PNR_ADULT
from tests.cases.test_access import _login, _record_routes, _url
from tests.conftest import audit_events
from tests.protection.conftest import ADDRESS_PHONE, VICTIM, VICTIM_FAMILY

FORM = {"text": "x", "target": "avslutad", "reason": "x", "override_reason": "x", "identity": PNR_ADULT,
        "perpetrator_identity": PNR_ADULT, "informed_on": "2026-01-01"}


def _walk(app, account, ids, victim_id, secrets, *, open_group=False):
    routes = list(_record_routes(app))
    endpoints = {r.endpoint for r, _m in routes}
    assert {"protection.access", "protection.violence", "protection.end_link", "protection.revoke",
            "cases.view", "people.view", "cases.group"} <= endpoints
    c = _login(app, account)
    for rule, method in routes:
        before = len(audit_events("denied", actor_user_id=account.id))
        data = {**FORM, "worker": str(account.id), "user_id": str(account.id), "informed_by": str(account.id)}
        resp = c.open(_url(app, rule, ids), method=method, data=data)
        who = (account.user.username, rule.endpoint, method)
        body = resp.get_data(as_text=True)
        for secret in secrets:
            assert secret not in body, who
        if open_group and rule.endpoint == "cases.group" and method == "GET":
            # The group is the sharing unit's and opens; the protected member is left out of it.
            assert resp.status_code == 200 and "Stödgrupp hösten" in body
            continue
        assert resp.status_code in (403, 404), (*who, resp.status_code)
        denied = audit_events("denied", actor_user_id=account.id)
        assert len(denied) == before + 1, who
        # A role without the endpoint's permission is refused before any record is loaded ("endpoint");
        # every refusal at record level names the victim (a group is the unit's, not the person's).
        if denied[-1].object_type != "endpoint" and rule.endpoint not in (
                "cases.group", "cases.add_session", "cases.add_member", "cases.attendance", "cases.end_member"):
            assert denied[-1].subject_person_id == victim_id, who


@pytest.mark.parametrize("who", ["perp_worker", "rvt2", "admin", "auditor"])
def test_route_walk_refuses_everyone_outside_the_victims_side(app, victim_world, staff, who):
    secrets = [VICTIM, VICTIM_FAMILY, ADDRESS_PHONE, victim_world["reference"]]
    _walk(app, staff[who], victim_world["ids"], victim_world["victim"], secrets)
    # Nothing was written: the case is still in its first state, the link still active.
    assert _db.session.get(Case, victim_world["case"]).state.value == "aktualisering"


def test_route_walk_refuses_a_colleague_in_a_sharing_unit_not_on_the_list(app, sharing_world, staff):
    _walk(app, staff["unga2"], sharing_world["ids"], sharing_world["victim"],
          [VICTIM, VICTIM_FAMILY, sharing_world["reference"]], open_group=True)


def test_the_listed_worker_and_the_manager_read_and_see_the_banner(app, victim_world, staff):
    ids = victim_world["ids"]
    for who in ("rvt", "rvt_chef"):
        c = _login(app, staff[who])
        for path in (f"/personer/{ids['person_id']}", f"/arenden/{ids['case_id']}"):
            resp = c.get(path)
            assert resp.status_code == 200, (who, path)
            body = resp.get_data(as_text=True)
            assert VICTIM in body and "Skyddade personuppgifter: Skyddad folkbokföring." in body
        group = c.get(f"/grupper/{ids['group_id']}").get_data(as_text=True)
        assert VICTIM in group
    # Only the unit manager manages the list; the worker on it is refused (403, audited).
    assert _login(app, staff["rvt_chef"]).get(f"/personer/{ids['person_id']}/skydd").status_code == 200
    assert _login(app, staff["rvt"]).get(f"/personer/{ids['person_id']}/skydd").status_code == 403
    assert audit_events("denied", actor_user_id=staff["rvt"].id)[-1].details_dict["permission"] == \
        "protection.manage"


def test_lists_and_search_show_nothing_of_the_victim(app, victim_world, sharing_world, staff):
    from tests.cases.conftest import PNR_ADULT2  # noqa: F401  (the perpetrator's number, searched below)

    for who in ("perp_worker", "rvt2", "unga2", "lamna_chef"):
        c = _login(app, staff[who])
        urls = ["/", "/arenden/", "/arenden/?vy=unit&avslutade=1", "/grupper/", "/personer/"]
        if who in ("perp_worker", "lamna_chef"):  # the perpetrator's side: their own case and file
            urls += [f"/arenden/{victim_world['perp_case']}", f"/personer/{victim_world['perpetrator']}",
                     f"/arenden/person/{victim_world['perpetrator']}"]
        pages = [c.get(u) for u in urls]
        searches = [c.post("/arenden/sok", data={"q": q}) for q in (PNR_ADULT, VICTIM, f"{VICTIM} {VICTIM_FAMILY}",
                                                                      victim_world["reference"],
                                                                      sharing_world["reference"])]
        searches += [c.post("/personer/sok", data={"name": VICTIM}), c.post("/personer/sok", data={"identity": PNR_ADULT})]
        for resp in pages + searches:
            assert resp.status_code == 200, (who, resp.request.path)
            body = resp.get_data(as_text=True)
            for echoed in (VICTIM, f"{VICTIM} {VICTIM_FAMILY}", PNR_ADULT, victim_world["reference"],
                           sharing_world["reference"]):
                body = body.replace(f'value="{echoed}"', "")
            for secret in (VICTIM, VICTIM_FAMILY, ADDRESS_PHONE, victim_world["reference"],
                           sharing_world["reference"], "Våld i nära relation", "Lilla"):
                assert secret not in body, (who, resp.request.path, secret)
        # The searches found no one: each wrote a zero-hit event and no hit on the victims.
        hits = [e for e in audit_events("search", actor_user_id=staff[who].id)
                if {victim_world["victim"], sharing_world["victim"]} & set(audit.subjects_of(e))]
        assert hits == [], who


def test_perpetrators_worker_sees_their_case_without_the_victim(app, victim_world, staff):
    c = _login(app, staff["perp_worker"])
    body = c.get(f"/arenden/{victim_world['perp_case']}").get_data(as_text=True)
    assert "Förövarsson" in body
    assert VICTIM not in body and "Våld i nära relation" not in body and "Förövare och barn" not in body
    assert c.get(f"/arenden/{victim_world['perp_case']}/vald").status_code == 404
    denied = audit_events("denied", actor_user_id=staff["perp_worker"].id)[-1]
    assert denied.object_type == "violence_link"
    # Even the perpetrator unit's manager does not see the link.
    chef = _login(app, staff["lamna_chef"])
    assert chef.get(f"/arenden/{victim_world['perp_case']}/vald").status_code == 404


def _all_users(staff):
    return [s.user for s in staff.values()]


def test_sql_scopes_agree_with_the_python_checks(app, victim_world, sharing_world, staff):
    cases = list(_db.session.scalars(select(Case)))
    people = list(_db.session.scalars(select(Person)))
    assert len(cases) >= 3 and len(people) >= 6
    for user in _all_users(staff):
        by_sql = set(_db.session.scalars(select(Case.id).where(policy.readable_cases_clause(user))))
        by_python = {c.id for c in cases if "read" in policy.case_access(user, c)}
        assert by_sql == by_python, user.username
        seen_sql = set(_db.session.scalars(select(Person.id).where(policy.people_visibility_clause(user))))
        seen_py = {p.id for p in people if policy.can_see_person(user, p)}
        assert seen_sql == seen_py, user.username
        assert set(_db.session.scalars(policy.visible_people(user).with_only_columns(Person.id))) == seen_sql
    victim = _db.session.get(Person, victim_world["victim"])
    assert policy.can_see_person(staff["rvt"].user, victim)
    assert policy.can_see_person(staff["rvt_chef"].user, victim)
    for who in ("rvt2", "perp_worker", "lamna_chef", "unga", "unga_chef", "admin", "auditor"):
        assert not policy.can_see_person(staff[who].user, victim), who


def test_access_list_grant_and_revoke_keep_history(app, victim_world, staff):
    ids = victim_world["ids"]
    chef = _login(app, staff["rvt_chef"])
    colleague = _login(app, staff["rvt2"])
    assert colleague.get(f"/personer/{ids['person_id']}").status_code == 404
    resp = chef.post(f"/personer/{ids['person_id']}/skydd/lista", data={"user_id": str(staff["rvt2"].id)})
    assert resp.status_code == 302
    # On the list, the colleague sees the person; the case still follows the unit rule (not assigned, the
    # team does not share), so it stays closed to them.
    assert colleague.get(f"/personer/{ids['person_id']}").status_code == 404
    victim = _db.session.get(Person, ids["person_id"])
    assert policy.on_access_list(staff["rvt2"].user, victim.id)
    row = next(r for r in pops.access_rows(victim) if r.user_id == staff["rvt2"].id)
    assert chef.post(f"/personer/{ids['person_id']}/skydd/lista/{row.id}/avsluta").status_code == 302
    _db.session.expire_all()
    rows = [r for r in pops.access_rows(victim) if r.user_id == staff["rvt2"].id]
    assert len(rows) == 1 and rows[0].revoked_at is not None and rows[0].revoked_by == staff["rvt_chef"].id
    events = audit_events("update", actor_user_id=staff["rvt_chef"].id, object_type="protected_access")
    assert [e.details_dict.get("grant") or e.details_dict.get("revoke") for e in events] == [str(staff["rvt2"].id)] * 2
    # The assigned worker cannot be taken off the list while assigned.
    own = next(r for r in pops.access_rows(victim, active_only=True) if r.user_id == staff["rvt"].id)
    resp = chef.post(f"/personer/{ids['person_id']}/skydd/lista/{own.id}/avsluta")
    assert resp.status_code == 422 and "Avsluta tilldelningen först" in resp.get_data(as_text=True)


def test_assignment_by_the_manager_puts_the_worker_on_the_list(app, victim_world, staff):
    ids = victim_world["ids"]
    chef = _login(app, staff["rvt_chef"])
    assert chef.post(f"/arenden/{ids['case_id']}/tilldela", data={"worker": str(staff["rvt2"].id)}).status_code == 302
    colleague = _login(app, staff["rvt2"])
    assert colleague.get(f"/arenden/{ids['case_id']}").status_code == 200
    assert colleague.get(f"/personer/{ids['person_id']}").status_code == 200
    row = next(r for r in pops.access_rows(_db.session.get(Person, ids["person_id"])) if r.user_id == staff["rvt2"].id)
    assert row.via == "assignment" and row.granted_by == staff["rvt_chef"].id


def test_informed_record_and_reminder(app, staff, catalogue, person_factory):
    from caseapp.people.models import Protection

    a = staff["rvt"].user
    person = person_factory(a, PNR_ADULT, given_name=VICTIM, protection=Protection.FINGERADE)
    c = _login(app, staff["rvt"])
    body = c.get(f"/personer/{person.id}").get_data(as_text=True)
    assert "Påminnelse: det är inte registrerat att personen har informerats" in body
    chef = _login(app, staff["rvt_chef"])
    resp = chef.post(f"/personer/{person.id}/skydd/informerad",
                     data={"informed_on": ops.today().isoformat(), "informed_by": str(a.id)})
    assert resp.status_code == 302
    body = c.get(f"/personer/{person.id}").get_data(as_text=True)
    assert "Påminnelse" not in body and f"informerades om hur uppgifterna hanteras {ops.today().isoformat()}" in body
    bad = chef.post(f"/personer/{person.id}/skydd/informerad", data={"informed_on": "2999-01-01", "informed_by": ""})
    assert bad.status_code == 422
    assert audit_events("update", object_type="protection_notice")[-1].subject_person_id == person.id


def test_registering_a_protected_person_keeps_the_registrar_on_the_list(app, staff, catalogue, person_factory):
    from caseapp.people.models import Protection

    a, colleague = staff["rvt"], staff["rvt2"]
    c = _login(app, a)
    resp = c.post("/personer/ny", data={"given_name": VICTIM, "family_name": "Ny", "identity": PNR_ADULT,
                                        "protection": Protection.SEKRETESSMARKERING.value})
    assert resp.status_code == 302
    assert c.get(resp.headers["Location"]).status_code == 200
    person = _db.session.scalar(select(Person))
    assert _login(app, colleague).get(f"/personer/{person.id}").status_code == 404  # same unit, not on the list
    assert _login(app, staff["rvt_chef"]).get(f"/personer/{person.id}").status_code == 200


def test_raising_protection_keeps_assigned_workers(app, staff, catalogue, case_factory):
    from caseapp.people import operations as people_ops
    from caseapp.people.models import Protection

    owner, colleague = staff["unga"], staff["unga2"]
    case = case_factory(owner.user, given_name=VICTIM)
    reader = _login(app, colleague)
    assert reader.get(f"/arenden/{case.id}").status_code == 200  # the unit shares
    person = _db.session.get(Person, case.person_id)
    data = people_ops.PersonData.of(person)
    data.protection = Protection.SEKRETESSMARKERING
    people_ops.update_person(owner.user, person, data)
    _db.session.commit()
    assert reader.get(f"/arenden/{case.id}").status_code == 404
    assert _login(app, owner).get(f"/arenden/{case.id}").status_code == 200


def test_disclosure_needs_an_explicit_confirmation(app, victim_world, staff):
    victim = _db.session.get(Person, victim_world["victim"])
    assert policy.disclosure_warning(victim).value == "skyddad_folkbokforing"
    with pytest.raises(pops.DisclosureNotConfirmed) as err:
        pops.require_disclosure_confirmation(victim, False)
    assert "bekräfta utlämnandet" in err.value.errors["confirm_protected"]
    with pytest.raises(ops.CaseworkError):
        pops.require_disclosure_confirmation(victim, "on")  # only a real True counts
    pops.require_disclosure_confirmation(victim, True)
    perpetrator = _db.session.get(Person, victim_world["perpetrator"])
    assert policy.disclosure_warning(perpetrator) is None
    pops.require_disclosure_confirmation(perpetrator, False)


def test_log_export_carries_no_victim_data(app, victim_world, staff):
    """The access-log export names staff and ids only: no name, number or phone of any client."""
    for who in ("rvt_chef", "auditor"):
        resp = _login(app, staff[who]).get("/logg/export.csv")
        assert resp.status_code == 200, who
        body = resp.get_data(as_text=True)
        assert str(victim_world["victim"]) in body  # the events are there, by id
        for secret in (VICTIM, VICTIM_FAMILY, ADDRESS_PHONE, PNR_ADULT):
            assert secret not in body, who


def test_a_colleague_not_on_the_list_cannot_change_a_protected_members_attendance(app, sharing_world, staff):
    from caseapp.cases.models import Group, GroupAttendance

    group = _db.session.get(Group, sharing_world["ids"]["group_id"])
    session_id = sharing_world["ids"]["session_id"]
    member_id = sharing_world["ids"]["member_id"]
    assert ops.record_attendance(staff["unga"].user, group, session_id, [str(member_id)]) == 1
    _db.session.commit()
    # A colleague who does not see the protected member records the session: the member is left as it was.
    assert ops.record_attendance(staff["unga2"].user, group, session_id, []) == 0
    _db.session.commit()
    row = _db.session.scalar(select(GroupAttendance).where(GroupAttendance.member_id == member_id))
    assert row.present is True
    with pytest.raises(ops.CaseworkError):
        ops.record_attendance(staff["unga2"].user, group, session_id, [str(member_id)])
