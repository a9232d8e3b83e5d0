"""Bad input on every referrals form: a clear Swedish message, 422, nothing written, never a 500. HTML in a text
field is kept as text and always shown escaped."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from caseapp.accounts.models import Role
from caseapp.extensions import db as _db
from caseapp.referrals.models import Disclosure, Partner, Referral, SharingConsent
from tests.conftest import AuthActions
from tests.referrals.conftest import PNR_ADULT, today

LONG = "å" * 4001


@pytest.fixture()
def setup(app, db, make_user, catalogue, partners, case_factory, consent_factory, referral_factory):
    worker = make_user(Role.HANDLAGGARE, "lamna")
    case = case_factory(worker.user, identity=PNR_ADULT)
    jobbtorg = partners["Jobbtorg Stockholm"]
    consent = consent_factory(worker.user, case, [jobbtorg])
    referral = referral_factory(worker.user, case, jobbtorg, consent=consent)
    c = app.test_client()
    AuthActions(c).login(worker)
    return {"client": c, "case": case, "jobbtorg": jobbtorg, "consent": consent, "referral": referral}


def _counts():
    _db.session.expire_all()
    return tuple(_db.session.scalar(select(func.count()).select_from(m))
                 for m in (SharingConsent, Referral, Disclosure, Partner))


def _consent(setup, **over):
    data = {"giver": "personen", "form": "skriftligt", "given_on": today().isoformat(),
            "valid_from": today().isoformat(), "valid_to": (today() + timedelta(days=90)).isoformat(),
            "partner_ids": [str(setup["jobbtorg"].id)], "categories": ["identitet"], "purpose": "Arbete."}
    data.update(over)
    return data


def _referral(setup, **over):
    data = {"partner_id": str(setup["jobbtorg"].id), "purpose": "Arbete.", "categories": ["identitet"],
            "consent_id": str(setup["consent"].id), "legal_basis": ""}
    data.update(over)
    return data


CONSENT_CASES = [
    ({"giver": "grannen"}, "Välj vem som lämnat samtycket."),
    ({"giver": "vardnadshavare"}, "Ange vårdnadshavarens namn."),
    ({"giver": "vardnadshavare", "giver_name": "Eva"}, "Personen är vuxen"),
    ({"form": "telepatiskt"}, "Välj om samtycket är muntligt eller skriftligt."),
    ({"valid_to": (today() - timedelta(days=1)).isoformat()}, "före det börjar gälla"),
    ({"valid_from": "2026-13-45"}, "Ange ett giltigt datum"),
    ({"partner_ids": ["inte-ett-id"]}, "Okänd mottagare."),
    ({"partner_ids": [], "partner_kinds": ["rymdstyrelsen"]}, "Okänd sorts mottagare."),
    ({"partner_ids": []}, "Ange vilka mottagare samtycket gäller."),
    ({"categories": ["halsa"]}, "Okänd uppgiftskategori."),
    ({"categories": []}, "Välj minst en kategori av uppgifter."),
    ({"purpose": ""}, "Ange syftet som samtycket gäller."),
    ({"purpose": LONG}, "Högst 4000 tecken"),
    ({"purpose": "a\x00b"}, "otillåtna tecken"),
]


@pytest.mark.parametrize(("over", "message"), CONSENT_CASES)
def test_consent_form_refuses(setup, over, message):
    before = _counts()
    resp = setup["client"].post(f"/arenden/{setup['case'].id}/samtycken/nytt", data=_consent(setup, **over))
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)
    assert _counts() == before


REFERRAL_CASES = [
    ({"partner_id": "ingen"}, "Välj en mottagare ur partnerlistan."),
    ({"purpose": ""}, "Ange syftet med remissen."),
    ({"purpose": LONG}, "Högst 4000 tecken"),
    ({"categories": ["personlighet"]}, "Okänd uppgiftskategori."),
    ({"consent_id": "xyz"}, "Okänt samtycke."),
    ({"legal_basis": "osl_99_1"}, "Välj en rättslig grund ur listan."),
    ({"legal_basis": "osl_10_18c"}, "inte båda"),
    ({"categories": ["identitet", "bedomning"]}, "Skriv bedömningen"),
    ({"follow_up_on": (today() - timedelta(days=3)).isoformat()}, "Uppföljningsdatumet kan inte ha passerat."),
]


@pytest.mark.parametrize(("over", "message"), REFERRAL_CASES)
def test_referral_form_refuses(setup, over, message):
    before = _counts()
    resp = setup["client"].post(f"/arenden/{setup['case'].id}/remisser/ny", data=_referral(setup, **over))
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)
    assert _counts() == before


def test_progress_refuses_bad_steps(setup):
    c, referral = setup["client"], setup["referral"]
    url = f"/remisser/{referral.id}/lage"
    resp = c.post(url, data={"target": "mottagen", "on": today().isoformat()})
    assert resp.status_code == 422 and "Remissen kan inte gå från Utkast till Mottagen" in resp.get_data(as_text=True)
    assert c.post(f"/remisser/{referral.id}/skicka", data={"channel": "saker_epost"}).status_code == 302
    for data, message in (({"target": "flyttad", "on": today().isoformat()}, "Välj vad som har hänt."),
                          ({"target": "accepterad", "on": today().isoformat()}, "Skriv mottagarens svar."),
                          ({"target": "accepterad", "on": "igår", "text": "Ja"}, "Ange ett giltigt datum"),
                          ({"target": "avslutad", "on": today().isoformat()}, "kan inte gå från"),
                          ({"target": "makulerad", "on": today().isoformat()}, "Ange varför remissen makuleras."),
                          ({"target": "accepterad", "on": (today() + timedelta(days=2)).isoformat(), "text": "Ja"},
                           "Datumet kan inte ligga i framtiden.")):
        resp = c.post(url, data=data)
        assert resp.status_code == 422, data
        assert message in resp.get_data(as_text=True), data
        _db.session.expire_all()
        assert _db.session.get(Referral, referral.id).state.value == "skickad"
    assert c.post(url, data={"target": "accepterad", "on": today().isoformat(), "text": "Välkommen"}).status_code == 302
    resp = c.post(url, data={"target": "avslutad", "on": today().isoformat(), "outcome_code": "vann_lotto"})
    assert resp.status_code == 422 and "Välj utfallet." in resp.get_data(as_text=True)
    assert c.post(url, data={"target": "avslutad", "on": today().isoformat(), "outcome_code": "paborjad",
                             "text": "Började."}).status_code == 302
    _db.session.expire_all()
    stored = _db.session.get(Referral, referral.id)
    assert stored.state.value == "avslutad" and stored.outcome_code.value == "paborjad"


def test_disclosure_form_refuses(setup):
    c = setup["client"]
    url = f"/arenden/{setup['case'].id}/utlamnanden/nytt"
    police = _db.session.scalar(select(Partner).where(Partner.kind == "polis"))
    base = {"partner_id": str(police.id), "legal_basis": "osl_10_18c", "justification": "Risk för våld.",
            "categories": ["identitet"], "description": "Namn.", "channel": "telefon",
            "disclosed_on": today().isoformat()}
    before = _counts()
    for over, message in (({"justification": ""}, "kräver en motivering"),
                          ({"legal_basis": ""}, "Det finns inget giltigt samtycke"),
                          ({"channel": "brevduva"}, "Välj hur uppgifterna lämnades."),
                          ({"partner_id": ""}, "Välj mottagare."),
                          ({"description": ""}, "Beskriv vilka uppgifter som lämnades."),
                          ({"disclosed_on": (today() + timedelta(days=1)).isoformat()}, "framtiden"),
                          ({"legal_basis": "nodrätt"}, "Välj en rättslig grund ur listan.")):
        resp = c.post(url, data={**base, **over})
        assert resp.status_code == 422, over
        assert message in resp.get_data(as_text=True), over
    assert _counts() == before
    assert c.post(url, data=base).status_code == 302


def test_partner_form_refuses(app, db, make_user, partners):
    admin = make_user(Role.SYSTEMFORVALTARE, None)
    c = app.test_client()
    AuthActions(c).login(admin)
    before = _counts()
    for data, message in (({"name": "", "kind": "annan"}, "Fältet måste fyllas i."),
                          ({"name": "Ny", "kind": "rymden"}, "Välj vilken sorts samverkanspartner det är."),
                          ({"name": "Jobbtorg Stockholm", "kind": "jobbtorg"}, "finns redan"),
                          ({"name": "x" * 121, "kind": "annan"}, "Högst 120 tecken")):
        resp = c.post("/partner/ny", data=data)
        assert resp.status_code == 422 and message in resp.get_data(as_text=True), data
    assert _counts() == before


def test_html_in_text_fields_is_kept_as_text_and_escaped(setup):
    c = setup["client"]
    evil = '<script>alert("x")</script><b>fet</b>'
    resp = c.post(f"/arenden/{setup['case'].id}/remisser/ny", data=_referral(setup, purpose=evil))
    assert resp.status_code == 302
    page = c.get(resp.headers["Location"]).get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    referral = _db.session.scalar(select(Referral).order_by(Referral.created_at.desc()))
    printed = c.post(f"/remisser/{referral.id}/utskrift").get_data(as_text=True)
    assert "<b>fet</b>" not in printed and "&lt;b&gt;fet&lt;/b&gt;" in printed


def test_garbage_ids_are_404(setup):
    c = setup["client"]
    for path in ("/remisser/inte-ett-id", f"/remisser/{setup['case'].id}", f"/samtycken/{setup['case'].id}",
                 f"/utlamnanden/{setup['case'].id}"):
        assert c.get(path).status_code == 404, path


def test_send_with_an_unknown_channel_is_refused(setup):
    before = _counts()
    resp = setup["client"].post(f"/remisser/{setup['referral'].id}/skicka", data={"channel": "brevduva"})
    assert resp.status_code == 422 and "Välj hur remissen skickas." in resp.get_data(as_text=True)
    assert _counts() == before
    _db.session.expire_all()
    assert _db.session.get(Referral, setup["referral"].id).state.value == "utkast"
