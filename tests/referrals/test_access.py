"""Access to referrals, sharing consents and disclosures follows the case, walked over every referrals endpoint.

A case in the domestic-violence team (a unit that does not share) with a consent, a sent referral and a disclosure;
every endpoint is requested by a worker of another unit, an unassigned colleague of the same (non-sharing) unit,
an administrator and an auditor. Each is refused (403/404), the refusal is audited, and no list shows the records.
Administrators manage the partner list and nobody else may.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import url_for
from sqlalchemy import func, select

from caseapp.accounts.models import Role
from caseapp.cases import operations as case_ops
from caseapp.cases.workflow import FocusArea, Intake
from caseapp.extensions import db as _db
from caseapp.referrals import operations as ops
from caseapp.referrals.models import Disclosure, Referral, SharingConsent
from tests.conftest import AuthActions, audit_events
from tests.referrals.conftest import JUSTIFICATION, PNR_ADULT

NAME = "Vendela"
OUTSIDERS = ["other_unit", "unassigned", "admin", "auditor"]


@pytest.fixture()
def world(app, db, team, catalogue, partners, person_factory, consent_factory, referral_factory):
    a = team["rvt"].user
    person = person_factory(a, PNR_ADULT, given_name=NAME, family_name="Östberg")
    case = case_ops.open_case(a, person, case_ops.NewCase(FocusArea.BROTTSOFFER.value, Intake.ANMALAN.value,
                                                          case_ops.today() - timedelta(days=5), "Våld."),
                              unit_id=a.unit_id)
    _db.session.commit()
    partner = partners["Relationsvåldscentrum"]
    consent = consent_factory(a, case, [partner])
    referral = referral_factory(a, case, partner, consent=consent,
                                follow_up_on=case_ops.today() + timedelta(days=1))
    ops.send_referral(a, referral, case)
    police = partners["Polisen lokalpolisområde Vällingby"]
    disclosure = ops.record_disclosure(a, case, police, "osl_10_18c", JUSTIFICATION, ["identitet"],
                                       description="Namn och risk.")
    _db.session.commit()
    # Waiting past its follow-up date (so that it would be listed to those who may read it).
    referral.follow_up_on = case_ops.today() - timedelta(days=2)
    _db.session.commit()
    return {"ids": {"case_id": case.id, "consent_id": consent.id, "referral_id": referral.id,
                    "disclosure_id": disclosure.id, "partner_id": partner.id},
            "reference": case.reference, "person_id": person.id}


@pytest.fixture()
def outsiders(team, make_user):
    return {"other_unit": make_user(Role.HANDLAGGARE, "unga"), "unassigned": team["rvt2"],
            "admin": team["admin"], "auditor": team["auditor"]}


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] != "referrals":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def _url(app, rule, ids):
    with app.test_request_context():
        return url_for(rule.endpoint, **{arg: ids[arg] for arg in rule.arguments})


def _login(app, account):
    c = app.test_client()
    assert AuthActions(c).login(account).status_code == 302
    return c


def _counts():
    _db.session.expire_all()
    return tuple(_db.session.scalar(select(func.count()).select_from(m)) for m in (SharingConsent, Referral,
                                                                                   Disclosure))


def test_route_walk_refuses_outsiders_and_audits(app, world, outsiders):
    routes = [(r, m) for r, m in _routes(app) if r.arguments]
    endpoints = {r.endpoint for r, _m in routes}
    assert {"referrals.case_sharing", "referrals.new_consent", "referrals.consent", "referrals.withdraw_consent",
            "referrals.new_referral", "referrals.edit_referral", "referrals.referral", "referrals.send",
            "referrals.progress", "referrals.print_letter", "referrals.pdf", "referrals.new_disclosure",
            "referrals.disclosure", "referrals.edit_partner"} <= endpoints
    before_counts = _counts()
    data = {"target": "avslutad", "text": "x", "on": case_ops.today().isoformat(), "purpose": "x",
            "categories": "identitet", "confirm_protected": "y", "withdrawn_on": case_ops.today().isoformat(),
            "name": "x", "kind": "annan"}
    for who in OUTSIDERS:
        account = outsiders[who]
        c = _login(app, account)
        for rule, method in routes:
            if who == "admin" and rule.endpoint == "referrals.edit_partner":
                continue  # the administrator's own page (below)
            before = len(audit_events("denied", actor_user_id=account.id))
            resp = c.open(_url(app, rule, world["ids"]), method=method, data=data)
            assert resp.status_code in (403, 404), (who, rule.endpoint, method, resp.status_code)
            body = resp.get_data(as_text=True)
            assert NAME not in body and world["reference"] not in body, (who, rule.endpoint)
            assert len(audit_events("denied", actor_user_id=account.id)) == before + 1, (who, rule.endpoint)
    assert _counts() == before_counts
    assert audit_events("print") == [] and audit_events("export") == []
    _db.session.expire_all()
    assert _db.session.get(Referral, world["ids"]["referral_id"]).state.value == "skickad"
    assert _db.session.get(SharingConsent, world["ids"]["consent_id"]).withdrawn_at is None


def test_refusal_names_the_subject(app, world, outsiders):
    c = _login(app, outsiders["other_unit"])
    assert c.get(f"/remisser/{world['ids']['referral_id']}").status_code == 404
    denied = audit_events("denied", actor_user_id=outsiders["other_unit"].id)[-1]
    assert denied.object_type == "referral" and denied.subject_person_id == world["person_id"]


def test_lists_never_show_outsiders_the_records(app, world, outsiders, team):
    for who in ("other_unit", "unassigned"):
        c = _login(app, outsiders[who])
        for path in ("/", "/remisser/"):
            resp = c.get(path)
            assert resp.status_code == 200
            body = resp.get_data(as_text=True)
            assert NAME not in body and world["reference"] not in body and "Relationsvåldscentrum" not in body, \
                (who, path)
    for who in ("admin", "auditor"):
        c = _login(app, outsiders[who])
        assert c.get("/remisser/").status_code == 403
        assert NAME not in c.get("/").get_data(as_text=True)
    # The assigned worker sees it waiting on the start page and in the overview (a list event per person).
    c = _login(app, team["rvt"])
    assert NAME in c.get("/").get_data(as_text=True)
    overview = c.get("/remisser/").get_data(as_text=True)
    assert NAME in overview and "Relationsvåldscentrum" in overview
    assert audit_events("list", actor_user_id=team["rvt"].id, subject_person_id=world["person_id"])


def test_assigned_worker_and_unit_manager_read_and_reads_are_audited(app, world, team):
    ids = world["ids"]
    for who in ("rvt", "rvt_chef"):
        c = _login(app, team[who])
        for path, object_type in ((f"/remisser/{ids['referral_id']}", "referral"),
                                  (f"/samtycken/{ids['consent_id']}", "sharing_consent"),
                                  (f"/utlamnanden/{ids['disclosure_id']}", "disclosure"),
                                  (f"/arenden/{ids['case_id']}/remisser", "case")):
            resp = c.get(path)
            assert resp.status_code == 200, (who, path)
            assert NAME in resp.get_data(as_text=True)
            event = audit_events("view", actor_user_id=team[who].id, object_type=object_type)[-1]
            assert event.subject_person_id == world["person_id"]


def test_a_colleague_who_only_reads_cannot_write(app, team, catalogue, partners, case_factory, consent_factory,
                                                 referral_factory):
    owner, colleague = team["unga"], team["unga2"]  # "unga" shares: the colleague reads
    case = case_factory(owner.user, focus=FocusArea.UNGA_I_RISK)
    jobbtorg = partners["Jobbtorg Stockholm"]
    consent = consent_factory(owner.user, case, [jobbtorg])
    referral = referral_factory(owner.user, case, jobbtorg, consent=consent)
    c = _login(app, colleague)
    assert c.get(f"/remisser/{referral.id}").status_code == 200
    for path in (f"/remisser/{referral.id}/skicka", f"/samtycken/{consent.id}/aterkalla",
                 f"/arenden/{case.id}/remisser/ny"):
        assert c.post(path, data={"withdrawn_on": case_ops.today().isoformat()}).status_code == 403, path
    assert audit_events("disclose") == []


def test_partners_are_managed_by_the_administrator_only(app, world, team, outsiders):
    admin = _login(app, team["admin"])
    assert admin.get("/partner/").status_code == 200
    resp = admin.post("/partner/ny", data={"name": "Fryshuset", "kind": "civilsamhalle", "contact": "Växeln",
                                           "active": "y"})
    assert resp.status_code == 302
    assert audit_events("create", object_type="partner")
    pid = world["ids"]["partner_id"]
    assert admin.get(f"/partner/{pid}").status_code == 200
    resp = admin.post(f"/partner/{pid}", data={"name": "Relationsvåldscentrum", "kind": "brottsofferstod",
                                               "contact": "Nordväst"})
    assert resp.status_code == 302  # now inactive (the box was not ticked)
    for who in ("other_unit", "auditor"):
        c = _login(app, outsiders[who])
        assert c.get("/partner/").status_code == 403
        assert c.post("/partner/ny", data={"name": "x", "kind": "annan"}).status_code == 403
    chef = _login(app, team["rvt_chef"])
    assert chef.get("/partner/").status_code == 403
