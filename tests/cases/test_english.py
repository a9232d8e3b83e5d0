"""The casework pages work in English too (the catalog is complete: tests/test_i18n.py)."""

from __future__ import annotations

from caseapp.cases import operations as ops
from caseapp.cases.workflow import FocusArea
from tests.conftest import AuthActions


def test_case_pages_in_english(app, team, catalogue, case_factory):
    worker = team["unga"]
    case = case_factory(worker.user, focus=FocusArea.UNGA_I_RISK)
    entry = ops.create_entry(worker.user, case, ops.EntryData("mote", ops.today(), "Samtal."))
    ops.sign_entry(worker.user, entry)
    from caseapp.extensions import db

    db.session.commit()
    c = app.test_client()
    assert AuthActions(c).login(worker).status_code == 302
    c.post("/language", data={"lang": "en", "next": "/"})
    start = c.get("/").get_data(as_text=True)
    assert "My cases" in start and "Drafts to sign" in start and "Mina ärenden" not in start
    page = c.get(f"/arenden/{case.id}").get_data(as_text=True)
    assert "State and deadlines" in page and "Intake (aktualisering)" in page and "Meeting" in page
    assert "Läge och tidsgränser" not in page and "Signera" not in page
    form = c.get(f"/arenden/{case.id}/beslut/nytt").get_data(as_text=True)
    assert "Social Services Act (2025:400)" in form and "Assistance granted" in form
