"""A worker asks for emergency access to another unit's case in the browser, is refused without a reason, then
reads the case with the banner; the owning unit's manager finds it on the attention list."""

from __future__ import annotations

from datetime import timedelta

import pytest

from caseapp.accounts.models import Role
from caseapp.cases import operations as ops
from caseapp.people import operations as people_ops
from tests.cases.conftest import PNR_ADULT
from tests.e2e.conftest import browser_login, screenshot

pytestmark = pytest.mark.e2e


def test_emergency_access_in_browser(live_server, page, make_user, db):
    owner = make_user(Role.RELATIONSVALDSTEAM, "rvt")
    chief = make_user(Role.ENHETSCHEF, "rvt")
    worker = make_user(Role.HANDLAGGARE, "unga")
    person = people_ops.register_person(owner.user, people_ops.PersonData(
        given_name="Sara", family_name="Nödsson", identity=PNR_ADULT), unit_id=owner.user.unit_id,
        confirm_duplicate=True)
    case = ops.open_case(owner.user, person, ops.NewCase("lamna_kriminalitet", "ansokan",
                                                          ops.today() - timedelta(days=2), "Stöd."),
                         unit_id=owner.user.unit_id)
    db.session.commit()
    browser_login(page, live_server, worker)
    page.get_by_role("link", name="Nödåtkomst").click()
    page.get_by_role("heading", name="Nödåtkomst").wait_for()
    page.get_by_label("Ärendenummer eller personnummer").fill(case.reference)
    page.get_by_role("button", name="Öppna med nödåtkomst").click()
    page.get_by_text("Ange skälet till nödåtkomsten").first.wait_for()

    page.get_by_label("Skäl till nödåtkomsten").fill("Akut: klienten ringer från polisstationen nu.")
    page.get_by_role("button", name="Öppna med nödåtkomst").click()
    page.get_by_role("heading", name=f"Ärende {case.reference}").wait_for()
    banner = page.locator("#emergency-banner")
    assert "Du har nödåtkomst till ärendet till" in banner.inner_text()
    assert page.get_by_text("bara för läsning").count() >= 1
    screenshot(page, "20-emergency-banner")

    page.context.clear_cookies()
    browser_login(page, live_server, chief)
    page.get_by_role("link", name="Åtkomstlogg").click()
    page.get_by_role("link", name="Uppmärksamhetslista").click()
    item = page.locator("section.attention", has_text="Nödåtkomst")
    item.first.wait_for()
    assert chief.user.display_name in item.first.inner_text()
    screenshot(page, "21-emergency-attention")
