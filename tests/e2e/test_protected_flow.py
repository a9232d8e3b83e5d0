"""In the browser: the unit manager of the relationsvåldsteam sees the protected victim's banner and manages the
access list; a colleague on the list opens the file; a colleague not on it is refused by URL and the refusal is
logged with the victim as subject; the perpetrator's worker finds nothing by name or number."""

from __future__ import annotations

from datetime import timedelta

import pytest

from caseapp.accounts.models import Role
from caseapp.cases import operations as ops
from caseapp.extensions import db as _db
from caseapp.people import operations as people_ops
from caseapp.people.models import Protection
from tests.cases.conftest import PNR_ADULT
from tests.conftest import audit_events
from tests.e2e.conftest import browser_login, screenshot

pytestmark = pytest.mark.e2e


def test_colleague_not_on_the_access_list_is_refused(live_server, browser, make_user, db):
    ops.ensure_intervention_catalogue()
    worker = make_user(Role.RELATIONSVALDSTEAM, "rvt", username="maria.test")
    colleague = make_user(Role.RELATIONSVALDSTEAM, "rvt", username="nils.test")
    chef = make_user(Role.ENHETSCHEF, "rvt", username="karin.test")
    perp_worker = make_user(Role.HANDLAGGARE, "lamna", username="omar.test")
    victim = people_ops.register_person(worker.user, people_ops.PersonData(
        given_name="Sofia", family_name="Skyddad", identity=PNR_ADULT, protection=Protection.SKYDDAD_FOLKBOKFORING,
        phone="070-1112233"), unit_id=worker.user.unit_id, confirm_duplicate=True)
    case = ops.open_case(worker.user, victim, ops.NewCase("brottsoffer", "anmalan", ops.today() - timedelta(days=2),
                                                          "Våld i nära relation."), unit_id=worker.user.unit_id)
    _db.session.commit()

    # The unit manager sees the banner and the reminder, and opens the access list.
    page = browser.new_page()
    browser_login(page, live_server, chef)
    page.goto(f"{live_server}/personer/{victim.id}")
    page.get_by_text("Skyddade personuppgifter: Skyddad folkbokföring.").wait_for()
    page.get_by_text("Påminnelse: det är inte registrerat").wait_for()
    page.get_by_role("link", name="Åtkomstlista och information").click()
    page.get_by_role("heading", name="Åtkomstlista för Sofia Skyddad").wait_for()
    rows = page.locator("table tbody tr")
    assert rows.count() == 1 and worker.user.display_name in rows.first.inner_text()
    page.get_by_role("button", name="Registrera").click()  # informed today, by the manager (preselected)
    page.get_by_text("Det är registrerat att personen har informerats.").wait_for()
    screenshot(page, "protection-01-access-list")
    page.close()

    # The colleague on the list reads the case; the banner is on the case page.
    page = browser.new_page()
    browser_login(page, live_server, worker)
    page.goto(f"{live_server}/arenden/{case.id}")
    page.get_by_text("Skyddade personuppgifter: Skyddad folkbokföring.").wait_for()
    page.close()

    # A colleague in the same unit, not on the list, is refused by URL; the refusal names the victim.
    page = browser.new_page()
    browser_login(page, live_server, colleague)
    for path in (f"/personer/{victim.id}", f"/arenden/{case.id}"):
        resp = page.goto(f"{live_server}{path}")
        assert resp.status == 404
        assert "Sofia" not in page.content()
    screenshot(page, "protection-02-colleague-refused")
    denied = audit_events("denied", actor_user_id=colleague.id)
    assert [e.subject_person_id for e in denied[-2:]] == [victim.id, victim.id]
    page.close()

    # The perpetrator's worker searches by name and by number: nothing.
    page = browser.new_page()
    browser_login(page, live_server, perp_worker)
    page.goto(f"{live_server}/arenden/sok")
    for query in ("Sofia Skyddad", PNR_ADULT):
        page.get_by_label("Personnummer, namn eller ärendenummer").fill(query)
        page.get_by_role("button", name="Sök", exact=True).click()
        page.get_by_role("heading", name="Sök ärenden och personer").wait_for()
        body = page.content().replace(f'value="{query}"', "")
        assert "Sofia" not in body and "Skyddad folkbokföring" not in body
    page.close()
