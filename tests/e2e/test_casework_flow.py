"""In the browser: a worker registers a person, opens a case, writes and signs a journal entry and adds an
intervention; a worker of another unit cannot open the case by URL."""

from __future__ import annotations

import pytest

from caseapp.accounts.models import Role
from caseapp.cases import operations as ops
from caseapp.cases.models import Case, JournalEntry
from caseapp.extensions import db as _db
from tests.cases.conftest import PNR_ADULT
from tests.conftest import audit_events
from tests.e2e.conftest import browser_login, screenshot

pytestmark = pytest.mark.e2e


def test_worker_opens_case_writes_signs_and_adds_intervention(live_server, page, browser, make_user, db):
    ops.ensure_intervention_catalogue()
    db.session.commit()
    worker = make_user(Role.HANDLAGGARE, "lamna", username="omar.test")
    outsider = make_user(Role.HANDLAGGARE, "unga", username="sara.test")
    browser_login(page, live_server, worker)

    # Register the person.
    page.get_by_role("link", name="Personer").first.click()
    page.get_by_role("link", name="Registrera person").click()
    page.get_by_label("Förnamn").fill("Oskar")
    page.get_by_label("Efternamn").fill("Lindqvist")
    page.get_by_label("Personnummer, samordningsnummer eller reservnummer").fill(PNR_ADULT)
    page.get_by_role("button", name="Spara").click()
    page.get_by_role("heading", name="Oskar Lindqvist").wait_for()

    # Open a case from the person page.
    page.get_by_role("link", name="Nytt ärende").click()
    page.get_by_label("Fokusområde").select_option("lamna_kriminalitet")
    page.get_by_label("Hur ärendet kom in").select_option("ansokan")
    page.get_by_label("Vad ärendet gäller").fill("Vill lämna en kriminell livsstil; ansöker om stöd.")
    screenshot(page, "casework-01-new-case")
    page.get_by_role("button", name="Öppna ärendet").click()
    page.get_by_text("är öppnat").wait_for()
    case_url = page.url
    case = _db.session.scalar(_db.select(Case))
    assert case_url.endswith(f"/arenden/{case.id}")

    # Write a journal entry and sign it.
    page.get_by_role("link", name="Ny anteckning").click()
    page.get_by_label("Typ").select_option("mote")
    page.get_by_label("Anteckning").fill("Första samtal. Oskar vill ha hjälp att hitta arbete.")
    page.get_by_role("button", name="Spara och signera").click()
    page.get_by_text("Anteckningen är signerad.").wait_for()
    entry = page.locator("article.entry").first
    assert "Första samtal" in entry.inner_text() and "signerad" in entry.inner_text()
    _db.session.expire_all()
    stored = _db.session.scalar(_db.select(JournalEntry))
    assert stored.signed_at is not None and b"samtal" not in stored.text_enc
    screenshot(page, "casework-02-signed-entry")

    # Move the case straight to an intervention (voluntary support), then add the intervention.
    page.get_by_label("Nästa steg").select_option("insats")
    page.get_by_label("Skäl").fill("Frivilligt motivationsstöd.")
    page.get_by_role("button", name="Byt läge").click()
    page.get_by_text("Ärendet är nu i läget Insats.").wait_for()
    page.get_by_role("link", name="Ny insats").click()
    page.get_by_label("Insats", exact=True).select_option(label="Motivationsstöd")
    page.get_by_label("Mål").fill("Stärka motivationen och bygga ett nätverk utanför kriminaliteten.")
    page.get_by_label("Genomförandeplan", exact=True).fill("Samtal varje vecka.")
    page.get_by_role("button", name="Spara insatsen").click()
    page.get_by_role("heading", name="Motivationsstöd").wait_for()
    screenshot(page, "casework-03-intervention")
    page.get_by_label("Uppföljning senast").fill(ops.today().isoformat())
    page.get_by_role("button", name="Planera uppföljning").click()
    page.get_by_text("Uppföljningen är planerad.").wait_for()
    page.goto(f"{live_server}/")
    assert "Motivationsstöd" in page.content() and "Oskar Lindqvist" in page.content()
    screenshot(page, "casework-04-start")

    # A worker of another unit cannot open the case by URL; the attempt is logged.
    other = browser.new_context(locale="sv-SE")
    other_page = other.new_page()
    try:
        browser_login(other_page, live_server, outsider)
        response = other_page.goto(case_url)
        assert response.status == 404
        assert "Oskar" not in other_page.content()
        other_page.get_by_role("heading", name="Sidan finns inte").wait_for()
        screenshot(other_page, "casework-05-refused")
    finally:
        other.close()
    denied = audit_events("denied", actor_user_id=outsider.id)
    assert denied and denied[-1].object_id == str(case.id) and denied[-1].subject_person_id == case.person_id
