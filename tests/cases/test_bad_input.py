"""Bad input on every casework form: clear Swedish messages, 422, no 500, nothing half-written; HTML and script in
every text field is stored as typed and shown as text."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from caseapp.cases import operations as ops
from caseapp.cases.models import (
    Case,
    CaseTransition,
    Decision,
    Group,
    GroupSession,
    Intervention,
    InterventionConsent,
    InterventionType,
    JournalEntry,
    JournalObjection,
)
from caseapp.cases.workflow import FocusArea
from caseapp.extensions import db as _db
from tests.conftest import AuthActions

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
TABLES = (Case, CaseTransition, JournalEntry, JournalObjection, Decision, Intervention, InterventionConsent, Group,
          GroupSession)

junk_text = st.one_of(st.text(max_size=60), st.just("x" * 25000), st.just(XSS), st.just(""))
junk_date = st.one_of(st.just(""), st.just("2026-02-30"), st.just("i morgon"), st.just("9999-12-31"),
                      st.just("1800-01-01"), st.dates().map(lambda d: d.isoformat()),
                      st.just((ops.today() + timedelta(days=5)).isoformat()))
junk_choice = st.one_of(st.text(max_size=20), st.sampled_from(["", "okänd", "avslutad", "'; drop table cases;--"]))
FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _counts():
    _db.session.expire_all()
    return {t.__name__: _db.session.scalar(select(func.count()).select_from(t)) for t in TABLES}


@pytest.fixture()
def setup(app, team, catalogue, case_factory):
    worker = team["unga"]
    case = case_factory(worker.user, focus=FocusArea.UNGA_I_RISK)
    entry = ops.create_entry(worker.user, case, ops.EntryData("mote", ops.today(), "Signerad."))
    ops.sign_entry(worker.user, entry)
    _db.session.commit()
    c = app.test_client()
    assert AuthActions(c).login(worker).status_code == 302
    return c, worker, case, entry


def _check(resp, before):
    assert resp.status_code in (302, 422), resp.status_code
    if resp.status_code == 422:
        assert _counts() == before, "a refused request wrote something"
        body = resp.get_data(as_text=True)
        assert "error-text" in body or "message-error" in body


@FUZZ
@given(entry_type=junk_choice, event_date=junk_date, text=junk_text)
def test_journal_form(setup, entry_type, event_date, text):
    c, _w, case, _e = setup
    before = _counts()
    _check(c.post(f"/arenden/{case.id}/journal/ny", data={"entry_type": entry_type, "event_date": event_date,
                                                         "text": text, "sign": "1"}), before)


@FUZZ
@given(kind=junk_choice, basis=junk_choice, decided=junk_date, extends=junk_date, text=junk_text)
def test_decision_form(setup, kind, basis, decided, extends, text):
    c, _w, case, _e = setup
    before = _counts()
    _check(c.post(f"/arenden/{case.id}/beslut/nytt", data={"kind": kind, "legal_basis": basis, "decided_on": decided,
                                                          "extends_to": extends, "text": text}), before)


@FUZZ
@given(status=junk_choice, start=junk_date, end=junk_date, goals=junk_text, plan=junk_text, responsible=junk_choice)
def test_intervention_form(setup, status, start, end, goals, plan, responsible):
    c, worker, case, _e = setup
    type_id = _db.session.scalar(select(InterventionType.id).where(InterventionType.code == "faltkontakt"))
    before = _counts()
    _check(c.post(f"/arenden/{case.id}/insatser/ny", data={
        "type_id": str(type_id), "status": status, "start_on": start, "end_on": end,
        "responsible_id": responsible or str(worker.id), "goals": goals, "plan": plan}), before)


@FUZZ
@given(focus=junk_choice, intake=junk_choice, received=junk_date, summary=junk_text)
def test_new_case_form(setup, focus, intake, received, summary):
    c, _w, case, _e = setup
    before = _counts()
    _check(c.post(f"/arenden/ny/{case.person_id}", data={"focus": focus, "intake": intake, "received_on": received,
                                                         "summary": summary}), before)


@FUZZ
@given(target=junk_choice, reason=junk_text, stated=junk_date, objection=junk_text)
def test_transition_and_objection(setup, target, reason, stated, objection):
    c, _w, case, entry = setup
    before = _counts()
    resp = c.post(f"/arenden/{case.id}/steg", data={"target": target, "reason": reason})
    if resp.status_code == 302:  # a valid move: undo by re-reading the state is not needed, just recount
        before = _counts()
    else:
        _check(resp, before)
    _check(c.post(f"/journal/{entry.id}/invandning", data={"stated_on": stated, "text": objection}), before)


def test_clear_swedish_messages(setup):
    c, worker, case, _e = setup
    future = (ops.today() + timedelta(days=2)).isoformat()
    today = ops.today().isoformat()
    body = c.post(f"/arenden/{case.id}/journal/ny", data={"entry_type": "mote", "event_date": future,
                                                         "text": "x"}).get_data(as_text=True)
    assert "Datumet kan inte ligga i framtiden." in body
    body = c.post(f"/arenden/{case.id}/journal/ny", data={"entry_type": "mote", "event_date": "2026-13-01",
                                                         "text": "x"}).get_data(as_text=True)
    assert "Ange ett giltigt datum" in body
    body = c.post(f"/arenden/{case.id}/journal/ny", data={"entry_type": "okänd", "event_date": today,
                                                         "text": "x" * 20001}).get_data(as_text=True)
    assert "Välj typ av anteckning." in body and "Högst 20000 tecken (du skrev 20001)" in body
    type_id = _db.session.scalar(select(InterventionType.id).where(InterventionType.code == "faltkontakt"))
    body = c.post(f"/arenden/{case.id}/insatser/ny", data={
        "type_id": str(type_id), "status": "planerad", "start_on": ops.today().isoformat(),
        "end_on": (ops.today() - timedelta(days=3)).isoformat(), "responsible_id": str(worker.id),
        "goals": "x"}).get_data(as_text=True)
    assert "Slutdatumet ligger före startdatumet." in body


def test_html_and_script_are_stored_and_shown_as_text(setup, app):
    c, worker, case, entry = setup
    today = ops.today().isoformat()
    type_id = _db.session.scalar(select(InterventionType.id).where(InterventionType.code == "faltkontakt"))
    circle = _db.session.scalar(select(InterventionType.id).where(InterventionType.code == "anhorigcirkel"))
    posts = [
        (f"/arenden/{case.id}/journal/ny", {"entry_type": "mote", "event_date": today, "text": XSS, "sign": "1"}),
        (f"/journal/{entry.id}/invandning", {"stated_on": today, "text": XSS}),
        (f"/journal/{entry.id}/rattelse", {"entry_type": "mote", "event_date": today, "text": XSS, "reason": XSS}),
        (f"/arenden/{case.id}/beslut/nytt", {"kind": "inleda_utredning", "legal_basis": "sol2025_utredning",
                                             "decided_on": today, "text": XSS}),
        (f"/arenden/{case.id}/insatser/ny", {"type_id": str(type_id), "status": "pagaende", "start_on": today,
                                             "responsible_id": str(worker.id), "goals": XSS, "plan": XSS,
                                             "plan_agreed_on": today}),
        (f"/arenden/{case.id}/steg", {"target": "avslutad", "reason": XSS}),
        ("/grupper/ny", {"type_id": str(circle), "name": XSS[:100], "schedule": XSS[:100],
                         "leader_id": str(worker.id), "start_on": today}),
    ]
    for url, data in posts:
        resp = c.post(url, data=data)
        assert resp.status_code == 302, (url, resp.status_code, resp.get_data(as_text=True)[:300])
    stored = _db.session.scalars(select(JournalEntry).where(JournalEntry.case_id == case.id)).all()
    assert any(e.text == XSS for e in stored)
    item = _db.session.scalar(select(Intervention))
    group = _db.session.scalar(select(Group))
    decision = _db.session.scalar(select(Decision))
    for url in (f"/arenden/{case.id}", f"/insatser/{item.id}", f"/grupper/{group.id}", f"/beslut/{decision.id}",
                "/grupper/", f"/journal/{entry.id}"):
        body = c.get(url).get_data(as_text=True)
        assert "<script>alert" not in body and "<img src=x" not in body, url
        assert "&lt;script&gt;" in body, url
