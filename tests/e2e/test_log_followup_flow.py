"""A unit manager does a month's log follow-up in the browser: filters the log, reviews an attention item,
assesses every entry of last month's sample and signs the review off."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from caseapp.accounts.models import Role
from caseapp.extensions import db as _db
from caseapp.supervision.models import LogSample
from tests.e2e.conftest import browser_login, screenshot
from tests.supervision.test_log_followup import add_event, local

pytestmark = pytest.mark.e2e


def test_monthly_follow_up_in_browser(live_server, page, make_user, db):
    chief = make_user(Role.ENHETSCHEF, "unga", username="eva.chef")
    worker = make_user(Role.HANDLAGGARE, "unga")
    last_month = date.today().replace(day=1) - timedelta(days=1)
    for i in range(6):
        add_event(db, worker.user, when=local(last_month.year, last_month.month, 2 + i, 10), object_id=f"read-{i}")
    add_event(db, worker.user, action="denied", outcome="denied", object_type="endpoint", object_id="admin.users")

    browser_login(page, live_server, chief)
    page.get_by_role("link", name="Åtkomstlogg").click()
    page.get_by_role("heading", name="Åtkomstlogg").wait_for()
    screenshot(page, "10-log-events")

    page.get_by_role("link", name="Uppmärksamhetslista").click()
    page.get_by_label("Kommentar").first.fill("Försöket gäller adminsidan; pratat med handläggaren.")
    page.get_by_role("button", name="Markera som granskad").first.click()
    page.get_by_text("Punkten är markerad som granskad.").wait_for()

    page.get_by_role("link", name="Stickprov").click()
    page.get_by_role("link", name=f"{last_month:%Y-%m}").click()
    forms = page.locator("form:has(button:has-text('Spara bedömning'))")
    count = forms.count()
    assert count == 6
    for i in range(count):
        form = page.locator("form:has(button:has-text('Spara bedömning'))").nth(i)
        form.get_by_label("Utan anmärkning").check()
        form.get_by_role("button", name="Spara bedömning").click()
        page.wait_for_load_state()
    screenshot(page, "11-sample-assessed")
    page.get_by_label("Inga avvikelser").check()
    page.locator("#sign-comment").fill("Månadens stickprov utan anmärkning.")
    page.get_by_role("button", name="Signera", exact=True).click()
    page.get_by_text("Granskningen är signerad.").wait_for()
    screenshot(page, "12-sample-signed")
    _db.session.expire_all()
    sample = _db.session.scalar(_db.select(LogSample))
    assert sample.signed_by == chief.id and sample.conclusion == "no_deviation"
