"""The journal (personakt): drafts, signing, corrections that keep the old text, objections, and signed entries
that no route and no operation can change or delete."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import url_for

from caseapp.cases import operations as ops
from caseapp.cases.models import ImmutableRecordError, JournalEntry, JournalObjection
from caseapp.cases.workflow import FocusArea
from caseapp.extensions import db as _db
from tests.conftest import AuthActions, audit_events

OLD_TEXT = "Hembesök: träffade personen och modern."


@pytest.fixture()
def signed(app, team, catalogue, case_factory):
    worker = team["unga"]
    case = case_factory(worker.user, focus=FocusArea.UNGA_I_RISK)
    entry = ops.create_entry(worker.user, case, ops.EntryData("hembesok", ops.today() - timedelta(days=1), OLD_TEXT))
    ops.sign_entry(worker.user, entry)
    _db.session.commit()
    return worker, case, entry


def _login(app, account):
    c = app.test_client()
    assert AuthActions(c).login(account).status_code == 302
    return c


def _snapshot(entry_id):
    _db.session.expire_all()
    row = _db.session.get(JournalEntry, entry_id)
    return (bytes(row.text_enc), row.entry_type, row.event_date, row.signed_at, row.written_at, row.author_id,
            row.case_id)


def test_draft_edit_sign_flow(app, team, catalogue, case_factory):
    worker = team["unga"]
    case = case_factory(worker.user, focus=FocusArea.UNGA_I_RISK)
    c = _login(app, worker)
    resp = c.post(f"/arenden/{case.id}/journal/ny", data={"entry_type": "telefon", "event_date":
                                                          ops.today().isoformat(), "text": "Första utkast", "sign": "0"})
    assert resp.status_code == 302
    entry = _db.session.scalar(_db.select(JournalEntry).where(JournalEntry.case_id == case.id))
    assert entry.signed_at is None and entry.author_id == worker.id
    assert b"F\xc3\xb6rsta" not in entry.text_enc  # stored encrypted
    resp = c.post(f"/journal/{entry.id}/andra", data={"entry_type": "telefon", "event_date": ops.today().isoformat(),
                                                     "text": "Rättat utkast", "sign": "1"})
    assert resp.status_code == 302
    _db.session.expire_all()
    entry = _db.session.get(JournalEntry, entry.id)
    assert entry.text == "Rättat utkast" and entry.signed_at is not None
    actions = [e.action for e in audit_events(object_type="journal_entry", object_id=str(entry.id))]
    assert [a for a in actions if a != "view"] == ["create", "update", "sign"]


def test_signed_entry_cannot_change_by_any_route(app, signed, team):
    worker, case, entry = signed
    routes = [r for r in app.url_map.iter_rules() if "entry_id" in r.arguments]
    assert {r.endpoint for r in routes} >= {"cases.entry", "cases.edit_entry", "cases.sign_entry",
                                             "cases.discard_entry", "cases.correct_entry", "cases.object_entry"}
    before = _snapshot(entry.id)
    for account in (worker, team["unga_chef"]):
        c = _login(app, account)
        for rule in routes:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                with app.test_request_context():
                    url = url_for(rule.endpoint, entry_id=entry.id)
                resp = c.open(url, method=method, data={
                    "entry_type": "anteckning", "event_date": ops.today().isoformat(), "text": "ÄNDRAD",
                    "reason": "försök", "sign": "1", "stated_on": ops.today().isoformat()})
                assert resp.status_code < 500, (rule.endpoint, method, resp.status_code)
                assert _snapshot(entry.id) == before, (rule.endpoint, method)
    _db.session.expire_all()
    assert _db.session.get(JournalEntry, entry.id).text == OLD_TEXT


def test_operations_and_the_orm_refuse_changes_to_signed_entries(app, signed):
    worker, _case, entry = signed
    with pytest.raises(ops.CaseworkError):
        ops.update_draft(worker.user, entry, ops.EntryData("mote", ops.today(), "x"))
    with pytest.raises(ops.CaseworkError):
        ops.discard_draft(worker.user, entry)
    with pytest.raises(ImmutableRecordError):
        entry.text = "överskrivet"
    _db.session.rollback()
    entry = _db.session.get(JournalEntry, entry.id)
    entry.event_date = ops.today() - timedelta(days=30)
    with pytest.raises(ImmutableRecordError):
        _db.session.flush()
    _db.session.rollback()
    entry = _db.session.get(JournalEntry, entry.id)
    _db.session.delete(entry)
    with pytest.raises(ImmutableRecordError):
        _db.session.flush()
    _db.session.rollback()
    assert _db.session.get(JournalEntry, entry.id).text == OLD_TEXT


def test_correction_strikes_through_and_keeps_the_old_text(app, signed, team):
    worker, case, entry = signed
    c = _login(app, worker)
    resp = c.post(f"/journal/{entry.id}/rattelse", data={
        "entry_type": "hembesok", "event_date": (ops.today() - timedelta(days=1)).isoformat(),
        "text": "Hembesök: träffade personen och fadern.", "reason": "Fel förälder angiven."})
    assert resp.status_code == 302
    correction = _db.session.scalar(_db.select(JournalEntry).where(JournalEntry.corrects_id == entry.id))
    assert correction.signed_at is not None and correction.correction_reason == "Fel förälder angiven."
    page = c.get(f"/arenden/{case.id}").get_data(as_text=True)
    assert f'<del class="prose">{OLD_TEXT}</del>' in page
    assert "fadern" in page and "Rättad" in page
    # A second correction of the same entry is refused: correct the correction instead.
    again = c.post(f"/journal/{entry.id}/rattelse", data={
        "entry_type": "hembesok", "event_date": ops.today().isoformat(), "text": "x", "reason": "y"})
    assert again.status_code == 422 and "redan rättad" in again.get_data(as_text=True)
    assert audit_events("correct", actor_user_id=worker.id)[-1].details_dict["corrects"] == str(entry.id)
    chain = c.get(f"/journal/{correction.id}").get_data(as_text=True)
    assert OLD_TEXT in chain and "fadern" in chain


def test_objection_is_recorded_next_to_the_entry(app, signed):
    worker, case, entry = signed
    c = _login(app, worker)
    resp = c.post(f"/journal/{entry.id}/invandning", data={"stated_on": ops.today().isoformat(),
                                                           "text": "Jag var inte hemma den dagen."})
    assert resp.status_code == 302
    objection = _db.session.scalar(_db.select(JournalObjection).where(JournalObjection.entry_id == entry.id))
    assert objection.text == "Jag var inte hemma den dagen."
    page = c.get(f"/arenden/{case.id}").get_data(as_text=True)
    assert "Jag var inte hemma den dagen." in page and "Personens invändning" in page
    objection.text_enc  # noqa: B018
    with pytest.raises(ImmutableRecordError):
        objection.text = "ändrad"
    _db.session.rollback()
    future = c.post(f"/journal/{entry.id}/invandning", data={
        "stated_on": (ops.today() + timedelta(days=3)).isoformat(), "text": "x"})
    assert future.status_code == 422 and "framtiden" in future.get_data(as_text=True)


def test_the_case_page_names_who_recorded_an_objection(app, signed, team):
    """The recorder of an objection is named on the case page even when they are neither assigned to the case
    nor the author of an entry on the page (the page's names once left them out and showed "–")."""
    worker, case, entry = signed
    manager = team["unga_chef"].user
    ops.add_objection(manager, entry, ops.today(), "Personen säger att mötet var en annan dag.")
    _db.session.commit()
    page = _login(app, worker).get(f"/arenden/{case.id}").get_data(as_text=True)
    assert "Personen säger att mötet var en annan dag." in page
    note = page[page.index("Personen säger att mötet"):]
    note = note[:note.index("</aside>")]
    assert f"av {manager.display_name}" in note and "av –" not in note


def test_objection_and_correction_need_a_signed_entry(app, team, catalogue, case_factory):
    worker = team["unga"]
    case = case_factory(worker.user, focus=FocusArea.UNGA_I_RISK)
    draft = ops.create_entry(worker.user, case, ops.EntryData("mote", ops.today(), "utkast"))
    _db.session.commit()
    with pytest.raises(ops.CaseworkError):
        ops.add_objection(worker.user, draft, ops.today(), "x")
    with pytest.raises(ops.CaseworkError):
        ops.correct_entry(worker.user, draft, ops.EntryData("mote", ops.today(), "y"), "z")


def test_draft_discarded_by_author_only(app, team, catalogue, case_factory):
    worker, colleague = team["unga"], team["unga2"]
    case = case_factory(worker.user, focus=FocusArea.UNGA_I_RISK)
    ops.assign(team["unga_chef"].user, case, colleague.id)
    draft_id = ops.create_entry(worker.user, case, ops.EntryData("mote", ops.today(), "utkast")).id
    _db.session.commit()
    other = _login(app, colleague)
    assert other.post(f"/journal/{draft_id}/ta-bort").status_code == 404
    assert other.post(f"/journal/{draft_id}/signera").status_code == 404
    own = _login(app, worker)
    assert own.post(f"/journal/{draft_id}/ta-bort").status_code == 302
    _db.session.expire_all()
    assert _db.session.scalar(_db.select(JournalEntry.id).where(JournalEntry.id == draft_id)) is None
