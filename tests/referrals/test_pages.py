"""Every referrals page renders for those who may use it (Swedish and English), the draft can be edited, and the
start page and overview list what waits past its follow-up date."""

from __future__ import annotations

from datetime import timedelta

from caseapp.accounts.models import Role
from caseapp.extensions import db as _db
from caseapp.referrals import operations as ops
from tests.conftest import AuthActions, audit_events
from tests.referrals.conftest import JUSTIFICATION, PNR_ADULT, today


def _client(app, account):
    c = app.test_client()
    assert AuthActions(c).login(account).status_code == 302
    return c


def test_every_page_renders_and_the_draft_can_be_edited(app, db, make_user, catalogue, partners, case_factory,
                                                        consent_factory, referral_factory):
    worker = make_user(Role.HANDLAGGARE, "lamna")
    case = case_factory(worker.user, identity=PNR_ADULT, given_name="Oskar", family_name="Lindqvist")
    jobbtorg, police = partners["Jobbtorg Stockholm"], partners["Polisen lokalpolisområde Vällingby"]
    consent = consent_factory(worker.user, case, [jobbtorg])
    referral = referral_factory(worker.user, case, jobbtorg, consent=consent, follow_up_on=today() + timedelta(1))
    disclosure = ops.record_disclosure(worker.user, case, police, "osl_10_18c", JUSTIFICATION, ["identitet"],
                                       description="Namn.")
    _db.session.commit()
    c = _client(app, worker)
    for lang in ("sv", "en"):
        c.post("/language", data={"lang": lang, "next": "/"})
        for path in (f"/arenden/{case.id}", f"/arenden/{case.id}/remisser", f"/arenden/{case.id}/samtycken/nytt",
                     f"/samtycken/{consent.id}", f"/arenden/{case.id}/remisser/ny", f"/remisser/{referral.id}",
                     f"/remisser/{referral.id}/andra", f"/arenden/{case.id}/utlamnanden/nytt",
                     f"/utlamnanden/{disclosure.id}", "/remisser/", "/"):
            resp = c.get(path)
            assert resp.status_code == 200, (lang, path)
            body = resp.get_data(as_text=True)
            if lang == "en":
                assert "Remisser och samtycken" not in body and "Skicka remissen" not in body, path
    assert "Referrals and consents" in c.get(f"/arenden/{case.id}").get_data(as_text=True)
    c.post("/language", data={"lang": "sv", "next": "/"})
    resp = c.post(f"/remisser/{referral.id}/andra", data={
        "partner_id": str(jobbtorg.id), "purpose": "Nytt syfte.", "categories": ["identitet"],
        "consent_id": str(consent.id), "legal_basis": ""})
    assert resp.status_code == 302
    _db.session.expire_all()
    assert referral.purpose == "Nytt syfte." and referral.categories == "identitet"
    assert audit_events("update", object_type="referral")
    assert c.post(f"/remisser/{referral.id}/skicka", data={"channel": "brev"}).status_code == 302
    resp = c.post(f"/remisser/{referral.id}/andra", data={
        "partner_id": str(jobbtorg.id), "purpose": "Ändrat i efterhand.", "categories": ["identitet"],
        "consent_id": str(consent.id)})
    assert resp.status_code == 422 and "Bara ett utkast kan ändras" in resp.get_data(as_text=True)


def test_waiting_referrals_on_the_start_page_and_overview(app, db, make_user, catalogue, partners, case_factory,
                                                          consent_factory, referral_factory):
    worker = make_user(Role.HANDLAGGARE, "lamna")
    chef = make_user(Role.ENHETSCHEF, "lamna")
    case = case_factory(worker.user, identity=PNR_ADULT, given_name="Oskar", family_name="Lindqvist")
    jobbtorg = partners["Jobbtorg Stockholm"]
    consent = consent_factory(worker.user, case, [jobbtorg])
    late = referral_factory(worker.user, case, jobbtorg, consent=consent, follow_up_on=today() + timedelta(1))
    ops.send_referral(worker.user, late, case)
    on_time = referral_factory(worker.user, case, jobbtorg, consent=consent, follow_up_on=today() + timedelta(9))
    ops.send_referral(worker.user, on_time, case)
    late.follow_up_on = today() - timedelta(days=1)
    _db.session.commit()
    for account in (worker, chef):
        rows = ops.waiting_past_follow_up(account.user, mine_only=account is worker)
        assert [r.referral.id for r in rows] == [late.id]
        body = _client(app, account).get("/").get_data(as_text=True)
        assert "Remisser som väntar på svar" in body and "Oskar Lindqvist" in body
        assert f"/remisser/{late.id}" in body and f"/remisser/{on_time.id}" not in body
    overview = _client(app, chef).get("/remisser/").get_data(as_text=True)
    assert "Jobbtorg Stockholm" in overview and f"/remisser/{late.id}" in overview
    rows = ops.unit_overview(chef.user)
    assert rows[0].by_state == {"skickad": 2} and rows[0].total == 2


def test_risk_of_serious_violence_link_preselects_18c_and_the_police(app, db, make_user, catalogue, partners,
                                                                     case_factory):
    """The domestic-violence team's shortcut (issue 7): OSL 10 kap. 18 c § and the police are chosen; recording it
    is a disclosure with its legal basis and a "disclose" audit event."""
    from caseapp.cases.workflow import FocusArea
    from caseapp.referrals.models import Disclosure

    worker = make_user(Role.RELATIONSVALDSTEAM, "rvt")
    case = case_factory(worker.user, identity=PNR_ADULT, focus=FocusArea.BROTTSOFFER)
    police = partners["Polisen lokalpolisområde Vällingby"]
    c = _client(app, worker)
    page = c.get(f"/arenden/{case.id}/vald").get_data(as_text=True)
    assert f"/arenden/{case.id}/utlamnanden/nytt?grund=osl_10_18c" in page
    form = c.get(f"/arenden/{case.id}/utlamnanden/nytt?grund=osl_10_18c").get_data(as_text=True)
    assert "<option selected value=\"osl_10_18c\">" in form and f"<option selected value=\"{police.id}\">" in form
    assert "<option selected" not in c.get(f"/arenden/{case.id}/utlamnanden/nytt?grund=nonsense").get_data(as_text=True)
    resp = c.post(f"/arenden/{case.id}/utlamnanden/nytt", data={
        "partner_id": str(police.id), "legal_basis": "osl_10_18c", "justification": "Hot om att döda; akut risk.",
        "categories": ["identitet"], "description": "Namn och risk.", "channel": "telefon",
        "disclosed_on": today().isoformat()})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    stored = _db.session.scalar(_db.select(Disclosure).where(Disclosure.case_id == case.id))
    assert stored.legal_basis == "osl_10_18c" and stored.partner_id == police.id
    assert [e.object_id for e in audit_events("disclose")] == [str(stored.id)]
