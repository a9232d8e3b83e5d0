"""Sending a referral: refused without a valid consent covering the recipient and every chosen data category, or
a legal basis with a justification. A refusal shows a Swedish message (422), sends nothing (no state change, no
disclosure, no "disclose" event) and is audited as "denied" with a reason code."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from caseapp.accounts.models import Role
from caseapp.extensions import db as _db
from caseapp.people.models import Protection
from caseapp.referrals import operations as ops
from caseapp.referrals.models import Disclosure, Referral
from tests.conftest import AuthActions, audit_events
from tests.referrals.conftest import EMAIL, JUSTIFICATION, PHONE, PNR_ADULT, PNR_CHILD, today


@pytest.fixture()
def setup(app, db, make_user, catalogue, partners, case_factory):
    worker = make_user(Role.HANDLAGGARE, "lamna")
    case = case_factory(worker.user, identity=PNR_ADULT, given_name="Oskar", family_name="Lindqvist",
                        phone=PHONE, email=EMAIL)
    c = app.test_client()
    assert AuthActions(c).login(worker).status_code == 302
    return {"worker": worker, "case": case, "client": c, "jobbtorg": partners["Jobbtorg Stockholm"],
            "fk": partners["Försäkringskassan"], "polis": partners["Polisen lokalpolisområde Vällingby"]}


def _send(setup, referral, **data):
    return setup["client"].post(f"/remisser/{referral.id}/skicka", data={"channel": "saker_epost", **data})


def _assert_refused(setup, referral, resp, reason: str, message: str):
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert message in body, body[:3000]
    _db.session.expire_all()
    assert _db.session.get(Referral, referral.id).state.value == "utkast"
    assert _db.session.scalar(select(func.count()).select_from(Disclosure)) == 0
    assert audit_events("disclose") == []
    denied = audit_events("denied", actor_user_id=setup["worker"].id, object_type="referral")
    assert denied and denied[-1].outcome == "denied"
    assert denied[-1].details_dict["reason"] == reason
    assert denied[-1].object_id == str(referral.id)
    assert denied[-1].subject_person_id == setup["case"].person_id


def test_no_consent_and_no_legal_basis_is_refused(setup, referral_factory):
    w, case = setup["worker"].user, setup["case"]
    referral = referral_factory(w, case, setup["jobbtorg"])
    _assert_refused(setup, referral, _send(setup, referral), "no_basis", "Det finns inget giltigt samtycke")


def test_expired_consent_is_refused(setup, consent_factory, referral_factory):
    w, case = setup["worker"].user, setup["case"]
    consent = consent_factory(w, case, [setup["jobbtorg"]], given_on=today() - timedelta(days=200),
                              valid_to=today() - timedelta(days=1))
    referral = referral_factory(w, case, setup["jobbtorg"], consent=consent)
    _assert_refused(setup, referral, _send(setup, referral), "consent_expired", "har gått ut")


def test_withdrawn_consent_is_refused(setup, consent_factory, referral_factory):
    w, case = setup["worker"].user, setup["case"]
    consent = consent_factory(w, case, [setup["jobbtorg"]])
    referral = referral_factory(w, case, setup["jobbtorg"], consent=consent)
    resp = setup["client"].post(f"/samtycken/{consent.id}/aterkalla", data={"withdrawn_on": today().isoformat()})
    assert resp.status_code == 302
    _assert_refused(setup, referral, _send(setup, referral), "consent_withdrawn", "Samtycket är återkallat")
    # The referral shows the withdrawal.
    page = setup["client"].get(f"/remisser/{referral.id}").get_data(as_text=True)
    assert "återkallades" in page


def test_consent_not_yet_valid_is_refused(setup, consent_factory, referral_factory):
    w, case = setup["worker"].user, setup["case"]
    consent = consent_factory(w, case, [setup["jobbtorg"]], given_on=today(),
                              valid_from=today() + timedelta(days=10))
    referral = referral_factory(w, case, setup["jobbtorg"], consent=consent)
    _assert_refused(setup, referral, _send(setup, referral), "consent_not_yet_valid", "Samtycket gäller först")


def test_consent_for_another_recipient_is_refused(setup, consent_factory, referral_factory):
    w, case = setup["worker"].user, setup["case"]
    consent = consent_factory(w, case, [setup["fk"]])
    referral = referral_factory(w, case, setup["jobbtorg"], consent=consent)
    _assert_refused(setup, referral, _send(setup, referral), "consent_other_recipient",
                    "Samtycket gäller inte mottagaren Jobbtorg Stockholm")


def test_consent_for_other_data_is_refused(setup, consent_factory, referral_factory):
    w, case = setup["worker"].user, setup["case"]
    consent = consent_factory(w, case, [setup["jobbtorg"]], categories=("identitet",))
    referral = referral_factory(w, case, setup["jobbtorg"], consent=consent, categories=("identitet", "arende"))
    _assert_refused(setup, referral, _send(setup, referral), "consent_other_data",
                    "Samtycket omfattar inte: Vad ärendet gäller")


def test_legal_basis_without_justification_is_refused(setup, referral_factory):
    w, case = setup["worker"].user, setup["case"]
    referral = referral_factory(w, case, setup["polis"], legal_basis="osl_10_18c")
    _assert_refused(setup, referral, _send(setup, referral), "no_justification", "kräver en motivering")


def test_legal_basis_for_another_kind_of_recipient_is_refused(setup, referral_factory):
    w, case = setup["worker"].user, setup["case"]
    referral = referral_factory(w, case, setup["jobbtorg"], legal_basis="osl_10_18c", justification=JUSTIFICATION)
    _assert_refused(setup, referral, _send(setup, referral), "basis_recipient", "gäller inte utlämnande till")


def test_18b_is_refused_for_someone_aged_21_or_more(setup, referral_factory):
    w, case = setup["worker"].user, setup["case"]  # born 1985
    referral = referral_factory(w, case, setup["polis"], legal_basis="osl_10_18b", justification=JUSTIFICATION)
    _assert_refused(setup, referral, _send(setup, referral), "basis_age", "inte har fyllt 21 år")


def test_valid_consent_sends_and_records_the_disclosure(setup, consent_factory, referral_factory):
    w, case = setup["worker"].user, setup["case"]
    consent = consent_factory(w, case, [setup["jobbtorg"]])
    referral = referral_factory(w, case, setup["jobbtorg"], consent=consent)
    resp = _send(setup, referral)
    assert resp.status_code == 302
    _db.session.expire_all()
    stored = _db.session.get(Referral, referral.id)
    assert stored.state.value == "skickad" and stored.sent_on == today() and stored.sent_by == w.id
    disclosure = _db.session.scalar(select(Disclosure))
    assert disclosure.referral_id == referral.id and disclosure.consent_id == consent.id
    assert disclosure.partner_id == setup["jobbtorg"].id and disclosure.source == "referral"
    event = audit_events("disclose")[-1]
    assert event.object_id == str(disclosure.id) and event.subject_person_id == case.person_id
    assert event.details_dict["referral"] == str(referral.id)
    # A second sending is refused.
    assert _send(setup, referral).status_code == 422


def test_consent_by_kind_of_recipient_and_legal_basis_with_justification_send(setup, consent_factory,
                                                                              referral_factory):
    w, case = setup["worker"].user, setup["case"]
    consent = consent_factory(w, case, kinds=("jobbtorg",), categories=("identitet", "kontakt", "arende"))
    first = referral_factory(w, case, setup["jobbtorg"], consent=consent, categories=("identitet", "arende"))
    assert _send(setup, first).status_code == 302
    second = referral_factory(w, case, setup["polis"], legal_basis="osl_10_18c", justification=JUSTIFICATION)
    assert _send(setup, second).status_code == 302
    assert len(audit_events("disclose")) == 2


def test_withdrawal_stops_sharing_at_once_and_shows_on_relying_referrals(setup, consent_factory,
                                                                         referral_factory):
    w, case = setup["worker"].user, setup["case"]
    consent = consent_factory(w, case, [setup["jobbtorg"]])
    sent = referral_factory(w, case, setup["jobbtorg"], consent=consent)
    assert _send(setup, sent).status_code == 302
    draft = referral_factory(w, case, setup["jobbtorg"], consent=consent)
    assert setup["client"].post(f"/samtycken/{consent.id}/aterkalla",
                                data={"withdrawn_on": today().isoformat()}).status_code == 302
    assert _send(setup, draft).status_code == 422
    for r in (sent, draft):
        assert "återkallades" in setup["client"].get(f"/remisser/{r.id}").get_data(as_text=True)
    panel = setup["client"].get(f"/arenden/{case.id}").get_data(as_text=True)
    assert "samtycket återkallat" in panel
    consent_page = setup["client"].get(f"/samtycken/{consent.id}").get_data(as_text=True)
    assert "Återkallat" in consent_page and str(sent.id) in consent_page


def test_protected_identity_needs_the_confirmed_review(app, db, make_user, catalogue, partners, case_factory,
                                                       consent_factory, referral_factory):
    worker = make_user(Role.HANDLAGGARE, "lamna")
    case = case_factory(worker.user, identity=PNR_CHILD, given_name="Ida", family_name="Lind",
                        protection=Protection.SEKRETESSMARKERING, address="Vinstavägen 99\n162 70 Vällingby")
    jobbtorg = partners["Jobbtorg Stockholm"]
    consent = consent_factory(worker.user, case, [jobbtorg], giver="vardnadshavare", giver_name="Eva Lind")
    referral = referral_factory(worker.user, case, jobbtorg, consent=consent)
    c = app.test_client()
    AuthActions(c).login(worker)
    page = c.get(f"/remisser/{referral.id}").get_data(as_text=True)
    assert "Skyddade personuppgifter" in page and "confirm_protected" in page
    resp = c.post(f"/remisser/{referral.id}/skicka", data={"channel": "brev"})
    assert resp.status_code == 422 and "bekräfta granskningen" in resp.get_data(as_text=True)
    assert audit_events("denied", object_type="referral")[-1].details_dict["reason"] == "protected_not_confirmed"
    assert audit_events("disclose") == []
    resp = c.post(f"/remisser/{referral.id}/skicka", data={"channel": "brev", "confirm_protected": "y"})
    assert resp.status_code == 302
    assert len(audit_events("disclose")) == 1


def test_record_disclosure_is_checked_like_a_referral(setup):
    w, case = setup["worker"].user, setup["case"]
    with pytest.raises(ops.ReferralError, match="motivering"):
        ops.record_disclosure(w, case, setup["polis"], "osl_10_18c", "", ["identitet"], description="Namn.")
    _db.session.rollback()
    item = ops.record_disclosure(w, case, setup["polis"], "osl_10_18c", JUSTIFICATION, ["identitet", "arende"],
                                 description="Namn och risk.", recipient_detail="Kommunpolisen",
                                 channel="telefon", source="dv_risk")
    _db.session.commit()
    assert item.legal_basis == "osl_10_18c" and item.source == "dv_risk"
    event = audit_events("disclose")[-1]
    assert event.details_dict["basis"] == "osl_10_18c" and event.details_dict["source"] == "dv_risk"
    # A recorded disclosure never changes.
    item.disclosed_on = today() - timedelta(days=1)
    with pytest.raises(Exception, match="refused change"):
        _db.session.flush()
    _db.session.rollback()
