"""The referral letter (printable HTML and PDF) holds exactly the chosen data, and never a protected address.
Printing is audited "print", the PDF "export"."""

from __future__ import annotations

import pytest

from caseapp.accounts.models import Role
from caseapp.cases import operations as case_ops
from caseapp.extensions import db as _db
from caseapp.people.models import Person, Protection
from caseapp.referrals import operations as ops
from tests.conftest import AuthActions, audit_events
from tests.referrals.conftest import ADDRESS, EMAIL, PHONE, PNR_ADULT, PNR_ADULT2

SUMMARY = "Vill lämna en kriminell livsstil och få arbete."
JOURNAL = "Första samtal om arbetsträning."
EXCERPT = "Utdrag: har deltagit i motivationssamtal sedan augusti."
ASSESSMENT = "Bedömning: redo för arbetsträning."
PNR_DISPLAY = f"{PNR_ADULT[:8]}-{PNR_ADULT[8:]}"


@pytest.fixture()
def world(app, db, make_user, catalogue, partners, case_factory, consent_factory):
    worker = make_user(Role.HANDLAGGARE, "lamna")
    case = case_factory(worker.user, identity=PNR_ADULT, given_name="Oskar", family_name="Lindqvist",
                        phone=PHONE, email=EMAIL, address=ADDRESS, summary=SUMMARY)
    entry = case_ops.create_entry(worker.user, case, case_ops.EntryData("mote", case_ops.today(), JOURNAL))
    case_ops.sign_entry(worker.user, entry)
    _db.session.commit()
    jobbtorg = partners["Jobbtorg Stockholm"]
    consent = consent_factory(worker.user, case, [jobbtorg], categories=[c.value for c in ops.DataCategory])
    c = app.test_client()
    AuthActions(c).login(worker)
    return {"worker": worker, "case": case, "jobbtorg": jobbtorg, "consent": consent, "client": c}


def _outputs(client, referral, **data) -> tuple[str, bytes]:
    html = client.post(f"/remisser/{referral.id}/utskrift", data=data)
    assert html.status_code == 200, html.status_code
    pdf = client.post(f"/remisser/{referral.id}/pdf", data=data)
    assert pdf.status_code == 200
    assert pdf.headers["Content-Type"] == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert "Lindqvist" not in pdf.headers["Content-Disposition"]
    return html.get_data(as_text=True), ops.pdf_text(pdf.data)


def _in_pdf(text: str, pdf: bytes) -> bool:
    return text.encode("latin-1") in pdf


def test_letter_holds_exactly_the_chosen_categories(world, referral_factory):
    w, case = world["worker"].user, world["case"]
    referral = referral_factory(w, case, world["jobbtorg"], consent=world["consent"],
                                categories=("identitet", "arende"))
    html, pdf = _outputs(world["client"], referral)
    for present in ("Oskar Lindqvist", PNR_DISPLAY, SUMMARY, "Stöd att komma ut i arbete"):
        assert present in html, present
        assert _in_pdf(present, pdf), present
    for absent in (PHONE, EMAIL, "Vinstavägen", JOURNAL, EXCERPT, ASSESSMENT):
        assert absent not in html, absent
        assert not _in_pdf(absent, pdf), absent
    print_event = audit_events("print")[-1]
    export_event = audit_events("export")[-1]
    assert print_event.object_id == export_event.object_id == str(referral.id)
    assert print_event.subject_person_id == case.person_id
    assert export_event.details_dict["format"] == "pdf"


def test_letter_with_contact_details_excerpt_and_assessment(world, referral_factory):
    w, case = world["worker"].user, world["case"]
    referral = referral_factory(w, case, world["jobbtorg"], consent=world["consent"],
                                categories=("kontakt", "journalutdrag", "bedomning"), journal_excerpt=EXCERPT,
                                assessment=ASSESSMENT)
    html, pdf = _outputs(world["client"], referral)
    for present in (PHONE, EMAIL, "Vinstavägen 99", EXCERPT, ASSESSMENT):
        assert present in html and _in_pdf(present, pdf), present
    for absent in ("Oskar", PNR_DISPLAY, PNR_ADULT, SUMMARY, JOURNAL):
        assert absent not in html and not _in_pdf(absent, pdf), absent


def test_texts_of_categories_not_chosen_are_not_kept(world, referral_factory):
    w, case = world["worker"].user, world["case"]
    referral = referral_factory(w, case, world["jobbtorg"], consent=world["consent"], categories=("identitet",),
                                journal_excerpt=EXCERPT, assessment=ASSESSMENT)
    assert referral.journal_excerpt is None and referral.assessment is None and referral.journal_excerpt_enc is None


def _protected_case(make_user, case_factory, protection, address):
    worker = make_user(Role.RELATIONSVALDSTEAM, "rvt")
    case = case_factory(worker.user, identity=PNR_ADULT2, given_name="Sofia", family_name="Gustafsson",
                        protection=protection, address=address, phone=PHONE)
    return worker, case


@pytest.mark.parametrize("include_address", [False, True])
def test_sekretessmarkering_address_only_when_chosen_and_confirmed(app, db, make_user, catalogue, partners,
                                                                   case_factory, consent_factory,
                                                                   referral_factory, include_address):
    worker, case = _protected_case(make_user, case_factory, Protection.SEKRETESSMARKERING, ADDRESS)
    partner = partners["Relationsvåldscentrum"]
    consent = consent_factory(worker.user, case, [partner], categories=("identitet", "kontakt"))
    referral = referral_factory(worker.user, case, partner, consent=consent, include_address=include_address)
    c = app.test_client()
    AuthActions(c).login(worker)
    # Without the confirmed review nothing is printed or exported (refused, audited).
    for path in ("utskrift", "pdf"):
        resp = c.post(f"/remisser/{referral.id}/{path}", data={})
        assert resp.status_code == 422 and "bekräfta granskningen" in resp.get_data(as_text=True)
        assert "Vinstavägen" not in resp.get_data(as_text=True)
    assert [e.details_dict["reason"] for e in audit_events("denied", object_type="referral")] == \
        ["protected_not_confirmed"] * 2
    assert audit_events("print") == [] and audit_events("export") == []
    # The preview never shows the address.
    assert "Vinstavägen" not in c.get(f"/remisser/{referral.id}").get_data(as_text=True)
    html, pdf = _outputs(c, referral, confirm_protected="y")
    assert PHONE in html and "Sofia Gustafsson" in html
    assert ("Vinstavägen 99" in html) is include_address
    assert _in_pdf("Vinstavägen 99", pdf) is include_address


@pytest.mark.parametrize("protection", [Protection.SKYDDAD_FOLKBOKFORING, Protection.FINGERADE])
def test_protected_address_never_appears(app, db, make_user, catalogue, partners, case_factory, consent_factory,
                                         referral_factory, protection):
    worker, case = _protected_case(make_user, case_factory, protection, None)
    # Even if an address had reached the record by some other way, the letter never shows it.
    person = _db.session.get(Person, case.person_id)
    person.address = ADDRESS
    _db.session.commit()
    partner = partners["Relationsvåldscentrum"]
    consent = consent_factory(worker.user, case, [partner], categories=("identitet", "kontakt"))
    referral = referral_factory(worker.user, case, partner, consent=consent, include_address=True)
    c = app.test_client()
    AuthActions(c).login(worker)
    page = c.get(f"/remisser/{referral.id}").get_data(as_text=True)
    assert "Skyddade personuppgifter" in page and "Vinstavägen" not in page
    html, pdf = _outputs(c, referral, confirm_protected="y")
    assert "Vinstavägen" not in html and not _in_pdf("Vinstavägen", pdf)
    assert "Adressen lämnas inte ut" in html
    assert c.post(f"/remisser/{referral.id}/skicka", data={"channel": "brev", "confirm_protected": "y"}
                  ).status_code == 302


def test_a_sent_letter_is_kept_and_reprinted_as_sent(world, referral_factory):
    w, case = world["worker"].user, world["case"]
    referral = referral_factory(w, case, world["jobbtorg"], consent=world["consent"],
                                categories=("identitet", "arende"))
    assert world["client"].post(f"/remisser/{referral.id}/skicka", data={"channel": "brev"}).status_code == 302
    _db.session.expire_all()
    from caseapp.cases.models import Case

    stored = _db.session.get(Case, case.id)
    stored.summary = "Ny sammanfattning efter att remissen skickats."
    _db.session.commit()
    html, pdf = _outputs(world["client"], referral)
    assert SUMMARY in html and _in_pdf(SUMMARY, pdf)
    assert "Ny sammanfattning" not in html
    disclosure = _db.session.scalar(_db.select(ops.Disclosure))
    assert b"Lindqvist" not in disclosure.content_enc and "Lindqvist" in disclosure.content
