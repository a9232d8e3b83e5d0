"""`caseapp demo` loads casework for every focus area in several states, and is safe to run twice."""

from __future__ import annotations

from sqlalchemy import func, select

from caseapp.cases.models import (
    Case,
    Decision,
    Group,
    GroupAttendance,
    Intervention,
    JournalEntry,
    PersonRelation,
)
from caseapp.demo import load_demo


def test_demo_casework(app, db):
    load_demo()
    db.session.commit()
    counts = {t: db.session.scalar(select(func.count()).select_from(t)) for t in
              (Case, JournalEntry, Decision, Intervention, Group, GroupAttendance, PersonRelation)}
    load_demo()
    db.session.commit()
    assert {t: db.session.scalar(select(func.count()).select_from(t)) for t in counts} == counts
    cases = list(db.session.scalars(select(Case)))
    assert {c.focus.value for c in cases} == {"unga_i_risk", "lamna_kriminalitet", "anhorigstod", "brottsoffer"}
    assert len({c.state for c in cases}) >= 5
    assert counts[JournalEntry] >= 10 and counts[Decision] >= 3 and counts[Intervention] >= 8
    assert counts[Group] == 2 and counts[GroupAttendance] > 0 and counts[PersonRelation] == 2
    assert any(e.corrects_id for e in db.session.scalars(select(JournalEntry)))
    assert any(c.next_due_on and c.next_due_on < c.received_on.today() for c in cases)  # something is overdue
