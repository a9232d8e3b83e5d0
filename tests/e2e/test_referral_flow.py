"""In the browser: a worker records a person's consent, writes and sends a referral to Jobbtorg Stockholm on it, and
records Jobbtorg's answer and the outcome."""

from __future__ import annotations

from datetime import timedelta

import pytest

from caseapp.accounts.models import Role
from caseapp.cases import operations as case_ops
from caseapp.extensions import db as _db
from caseapp.referrals import operations as ops
from caseapp.referrals.models import Disclosure, Referral, SharingConsent
from tests.cases.conftest import PNR_ADULT
from tests.conftest import audit_events
from tests.e2e.conftest import browser_login, screenshot

pytestmark = pytest.mark.e2e


def test_consent_referral_to_jobbtorg_answer_and_outcome(live_server, page, make_user, db):
    case_ops.ensure_intervention_catalogue()
    ops.ensure_partners()
    db.session.commit()
    worker = make_user(Role.HANDLAGGARE, "lamna", username="omar.ref")
    from caseapp.people import operations as people_ops

    person = people_ops.register_person(worker.user, people_ops.PersonData(
        given_name="Oskar", family_name="Lindqvist", identity=PNR_ADULT, phone="070-174 06 66"),
        unit_id=worker.user.unit_id, confirm_duplicate=True)
    case = case_ops.open_case(worker.user, person, case_ops.NewCase(
        "lamna_kriminalitet", "ansokan", case_ops.today() - timedelta(days=3), "Vill ha stöd att hitta arbete."),
        unit_id=worker.user.unit_id)
    db.session.commit()
    browser_login(page, live_server, worker)

    # Record the consent from the case page.
    page.goto(f"{live_server}/arenden/{case.id}")
    page.get_by_role("link", name="Registrera samtycke").click()
    page.get_by_label("Samtycke från").select_option("personen")
    page.get_by_label("Form").select_option("skriftligt")
    page.get_by_label("Gäller till och med").fill((case_ops.today() + timedelta(days=180)).isoformat())
    page.get_by_label("Jobbtorg Stockholm", exact=True).check()
    page.get_by_label("Namn och personnummer").first.check()
    page.get_by_label("Kontaktuppgifter (telefon, e-post, adress)").first.check()
    page.get_by_label("Syfte").fill("Stöd att komma ut i arbete via Jobbtorg.")
    screenshot(page, "referrals-01-consent")
    page.get_by_role("button", name="Spara samtycket").click()
    page.get_by_text("Samtycket är registrerat.").wait_for()
    consent = _db.session.scalar(_db.select(SharingConsent))
    assert consent is not None and b"Jobbtorg" not in consent.purpose_enc

    # Write the referral on that consent and send it.
    page.goto(f"{live_server}/arenden/{case.id}")
    page.get_by_role("link", name="Ny remiss").click()
    page.get_by_label("Mottagare").select_option(label="Jobbtorg Stockholm")
    page.get_by_label("Syfte med remissen").fill("Arbetsträning på Jobbtorg Vällingby.")
    page.get_by_label("Namn och personnummer").check()
    page.get_by_label("Kontaktuppgifter (telefon, e-post, adress)").check()
    page.get_by_label("Samtycke som remissen bygger på").select_option(str(consent.id))
    page.get_by_label("Följ upp senast").fill((case_ops.today() + timedelta(days=14)).isoformat())
    page.get_by_role("button", name="Spara utkastet").click()
    page.get_by_text("Remissen är sparad som utkast.").wait_for()
    letter = page.locator("article.letter").inner_text()
    assert "Oskar Lindqvist" in letter and "070-174 06 66" in letter and "Vill ha stöd" not in letter
    screenshot(page, "referrals-02-draft")
    page.get_by_role("button", name="Skicka remissen").click()
    page.get_by_text("Remissen är skickad till Jobbtorg Stockholm").wait_for()

    # Jobbtorg answers; then the outcome.
    page.get_by_label("Vad har hänt").select_option("accepterad")
    page.get_by_label("Mottagarens svar, utfall eller skäl").fill("Välkommen till introduktionsmöte.")
    page.get_by_role("button", name="Spara", exact=True).click()
    page.get_by_text("Remissen är nu Accepterad.").wait_for()
    page.get_by_label("Vad har hänt").select_option("avslutad")
    page.get_by_label("Utfall", exact=True).select_option("paborjad")
    page.get_by_label("Mottagarens svar, utfall eller skäl").fill("Har börjat arbetsträning.")
    page.get_by_role("button", name="Spara", exact=True).click()
    page.get_by_text("Remissen är nu Avslutad.").wait_for()
    screenshot(page, "referrals-03-completed")

    _db.session.expire_all()
    referral = _db.session.scalar(_db.select(Referral))
    assert referral.state.value == "avslutad" and referral.outcome_code.value == "paborjad"
    assert referral.answer == "Välkommen till introduktionsmöte." and referral.consent_id == consent.id
    disclosure = _db.session.scalar(_db.select(Disclosure))
    assert disclosure.referral_id == referral.id
    assert audit_events("disclose")[-1].object_id == str(disclosure.id)
    page.goto(f"{live_server}/arenden/{case.id}")
    panel = page.locator("#referrals").inner_text()
    assert "Jobbtorg Stockholm" in panel and "Avslutad" in panel
