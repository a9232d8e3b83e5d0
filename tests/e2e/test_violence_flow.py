"""In the browser: a relationsvåldsteam worker records a FREDA-farlighetsbedömning and a safety plan for a victim
with skyddad folkbokföring from the case page; a colleague in the same team who is not on the victim's access list
is refused the assessment by URL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from caseapp.accounts.models import Role
from caseapp.cases import operations as ops
from caseapp.cases.workflow import FocusArea, Intake
from caseapp.extensions import db as _db
from caseapp.people import operations as people_ops
from caseapp.people.models import Protection
from caseapp.violence import catalogue as cat
from caseapp.violence.models import Plan, RiskAssessment
from tests.cases.conftest import PNR_ADULT
from tests.conftest import audit_events
from tests.e2e.conftest import browser_login, screenshot

pytestmark = pytest.mark.e2e


def test_team_records_freda_and_safety_plan(live_server, page, browser, make_user, db):
    worker = make_user(Role.RELATIONSVALDSTEAM, "rvt", username="maria.test")
    colleague = make_user(Role.RELATIONSVALDSTEAM, "rvt", username="nils.test")
    person = people_ops.register_person(worker.user, people_ops.PersonData(
        given_name="Sofia", family_name="Lindgren", identity=PNR_ADULT, protection=Protection.SKYDDAD_FOLKBOKFORING),
        unit_id=worker.user.unit_id,
        confirm_duplicate=True)
    case = ops.open_case(worker.user, person, ops.NewCase(FocusArea.BROTTSOFFER.value, Intake.ANMALAN.value,
                                                          ops.today() - timedelta(days=2), "Polisanmälan om våld."),
                         unit_id=worker.user.unit_id)
    db.session.commit()
    browser_login(page, live_server, worker)
    page.goto(f"{live_server}/arenden/{case.id}")
    page.get_by_role("heading", name="Riskbedömning och skydd").wait_for()
    assert "Skyddad folkbokföring" in page.content()  # the protected-identity banner

    # FREDA-farlighetsbedömning: every risk factor answered, then the summary judgement; signed.
    page.get_by_role("link", name="Ny: FREDA-farlighetsbedömning").click()
    page.get_by_role("heading", name="FREDA-farlighetsbedömning").wait_for()
    for n, item in enumerate(cat.FREDA_FARLIGHET, start=1):
        answer = "Ja" if item.code in ("f1", "f3", "f4", "f17") else "Nej"
        page.get_by_role("group", name=f"{n}. {item.text}").get_by_label(answer, exact=True).check()
    page.get_by_role("group", name="Risken för (fortsatt eller allvarligt) våld").get_by_label("Hög").check()
    page.get_by_role("group", name="Är risken akut?").get_by_label("Ja", exact=True).check()
    page.get_by_label("Motivering").fill("Strypförsök och dödshot efter separationen. Hög och akut risk.")
    screenshot(page, "violence-01-freda")
    page.get_by_role("button", name="Spara och signera").click()
    page.get_by_text("Bedömningen är signerad.").wait_for()
    assert "Strypförsök och dödshot" in page.content() and "akut" in page.content()
    assessment_url = page.url
    _db.session.expire_all()
    stored = _db.session.scalar(_db.select(RiskAssessment))
    assert stored.is_signed and b"Strypf" not in stored.judgement_enc
    screenshot(page, "violence-02-signed")

    # Safety plan from the case page, built on the assessment, with a review date.
    page.get_by_role("link", name="Tillbaka till ärendet").click()
    page.get_by_role("link", name="Ny: Säkerhetsplanering").click()
    page.get_by_label("Bygger på riskbedömningen").select_option(str(stored.id))
    page.get_by_label("Säkra kontaktvägar").fill("Bara den nya mobilen; vi ringer från skyddat nummer.")
    page.get_by_label("Säkra mötesplatser").fill("Mottagningen, bakre ingången.")
    page.get_by_label("Överenskomna kodord").fill("”Har du fått tvätten?” betyder att hon inte kan prata.")
    page.get_by_label("Vem personen ringer vid fara").fill("112; socialjouren kvällar.")
    page.get_by_label("Följs upp senast").fill((ops.today() + timedelta(days=14)).isoformat())
    page.get_by_role("button", name="Spara planen").click()
    page.get_by_text("Planen är sparad.").wait_for()
    assert "bakre ingången" in page.content() and "version 1" in page.content()
    plan = _db.session.scalar(_db.select(Plan))
    assert plan.assessment_id == stored.id and b"bakre" not in plan.content_enc
    screenshot(page, "violence-03-safety-plan")
    page.goto(f"{live_server}/arenden/{case.id}")
    panel = page.locator("#violence")
    assert "Säkerhetsplanering" in panel.inner_text() and "FREDA-farlighetsbedömning" in panel.inner_text()

    # The unassigned colleague in the same team cannot open the assessment by URL; the attempt is logged.
    other = browser.new_context(locale="sv-SE")
    other_page = other.new_page()
    try:
        browser_login(other_page, live_server, colleague)
        response = other_page.goto(assessment_url)
        assert response.status == 404
        assert "Strypförsök" not in other_page.content() and "Sofia" not in other_page.content()
        screenshot(other_page, "violence-04-refused")
    finally:
        other.close()
    denied = audit_events("denied", actor_user_id=colleague.id)
    assert denied and denied[-1].object_type == "risk_assessment" and denied[-1].subject_person_id == person.id
