"""Which of a case's side records exist, in one statement per case and request; and its active assignments.

The case page has panels for referrals, risk assessments and plans, emergency grants, violence links and
witnessing children, and its journal looks up corrections and objections of the entries shown. For most cases
most of these are empty, and asking each table in turn cost a statement each (eight of the case page's twenty). `case_presence(case_id)` asks them all at once (an EXISTS per table, each on
an index of the case id); a panel whose table has nothing for the case skips its own query and shows its empty
state. A panel whose table has rows runs its query exactly as before (with its own filters and access rules).

The answer is kept for the rest of the request and dropped at every flush of the session, so a page rendered after
a change in the same request asks again. It holds only facts (whether rows exist), never decides access.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from flask import g, has_request_context
from sqlalchemy import bindparam, event, exists, select
from sqlalchemy.orm import Session

from caseapp.extensions import db
from caseapp.timeutil import utcnow

_MEMO = "case_presence"


@dataclass(frozen=True)
class Presence:
    referrals: bool
    assessments: bool
    current_plans: bool
    active_emergency: bool
    victim_links: bool
    witness_children: bool
    corrections: bool
    objections: bool


_STATEMENT = None


def _statement():
    global _STATEMENT
    if _STATEMENT is None:
        from caseapp.cases.models import JournalEntry, JournalObjection
        from caseapp.protection.models import ViolenceLink, WitnessChild
        from caseapp.referrals.models import Referral
        from caseapp.supervision.models import EmergencyAccess
        from caseapp.violence.models import Plan, RiskAssessment

        case_id = bindparam("case_id")
        _STATEMENT = select(
            exists().where(Referral.case_id == case_id),
            exists().where(RiskAssessment.case_id == case_id),
            exists().where(Plan.case_id == case_id, Plan.superseded_at.is_(None)),
            exists().where(EmergencyAccess.case_id == case_id, EmergencyAccess.ended_at.is_(None),
                           EmergencyAccess.expires_at > bindparam("now")),
            exists().where(ViolenceLink.victim_case_id == case_id),
            exists().where(WitnessChild.victim_case_id == case_id),
            # (the partial index ix_journal_entries_corrections answers this one)
            exists().where(JournalEntry.case_id == case_id, JournalEntry.corrects_id.is_not(None)),
            exists().where(JournalObjection.case_id == case_id),
        )
    return _STATEMENT


def case_presence(case_id: uuid.UUID) -> Presence:
    memo: dict[Any, Presence] | None = g.__dict__.setdefault(_MEMO, {}) if has_request_context() else None
    if memo is not None and case_id in memo:
        return memo[case_id]
    row = db.session.execute(_statement(), {"case_id": case_id, "now": utcnow()}).one()
    presence = Presence(*(bool(v) for v in row))
    if memo is not None:
        memo[case_id] = presence
    return presence


_ASSIGNMENTS_MEMO = "case_active_assignments"
_ASSIGNMENTS: list = []


def active_assignments(case_id: uuid.UUID) -> list[Any]:
    """The case's active assignments (`CaseAssignment`, oldest first), read once per case and request: the
    access policy asks whether the user is one of them, and the case page lists them. Dropped at every flush,
    like the presence facts, so that an assignment changed in the request is seen."""
    memo: dict[Any, list] | None = (g.__dict__.setdefault(_ASSIGNMENTS_MEMO, {})
                                    if has_request_context() else None)
    if memo is not None and case_id in memo:
        return memo[case_id]
    if not _ASSIGNMENTS:
        from caseapp.cases.models import CaseAssignment

        _ASSIGNMENTS.append(select(CaseAssignment).where(CaseAssignment.case_id == bindparam("case_id"),
                                                         CaseAssignment.ended_at.is_(None))
                            .order_by(CaseAssignment.assigned_at))
    rows = list(db.session.scalars(_ASSIGNMENTS[0], {"case_id": case_id}))
    if memo is not None:
        memo[case_id] = rows
    return rows


def forget_active_assignments() -> None:
    if has_request_context():
        g.__dict__.pop(_ASSIGNMENTS_MEMO, None)


@event.listens_for(Session, "after_flush")
def _forget(session: Session, _flush_context) -> None:
    if has_request_context():
        g.__dict__.pop(_MEMO, None)
        g.__dict__.pop(_ASSIGNMENTS_MEMO, None)
