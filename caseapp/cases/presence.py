"""Which of a case's side records exist, in one statement per case and request; and its active assignments.

The case page has panels for referrals, risk assessments and plans, emergency grants, violence links,
witnessing children, decisions and interventions, and its journal looks up corrections and objections of the
entries shown. For most cases most of these are empty, and asking each table in turn cost a statement each
(eight of the case page's twenty). `case_presence(case_id)` asks them all at once (an EXISTS per table, each on
an index of the case id); a panel whose table has nothing for the case skips its own query and shows its empty
state. A panel whose table has rows runs its query exactly as before (with its own filters and access rules).

The answer is kept for the rest of the request and dropped at every flush and rollback of the session (pending
changes are flushed before a kept answer is used, as a query's autoflush would), so a page rendered after a
change in the same request asks again. It holds only facts (whether rows exist), never decides access. The
same holds for `reach_presence` (the start page's panels) and `active_assignments`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from flask import g, has_request_context
from sqlalchemy import bindparam, exists, select

from caseapp.dbtypes import in_constants
from caseapp.extensions import db, execute_rows
from caseapp.requestmemo import dropped_at_flush, flush_pending
from caseapp.timeutil import to_local, utcnow

_MEMO = dropped_at_flush("case_presence")


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
    decisions: bool
    interventions: bool


@cache
def _statement():
    from caseapp.cases.models import Decision, Intervention, JournalEntry, JournalObjection
    from caseapp.protection.models import ViolenceLink, WitnessChild
    from caseapp.referrals.models import Referral
    from caseapp.supervision.models import EmergencyAccess
    from caseapp.violence.models import Plan, RiskAssessment

    case_id = bindparam("case_id")
    return select(
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
        exists().where(Decision.case_id == case_id),
        exists().where(Intervention.case_id == case_id),
    )


def _memoized(name: str, key: Any, compute: Callable[[], Any]) -> Any:
    """The request's memo `name` for `key`, else `compute()` kept there (outside a request: computed each time).
    A kept value is used only while no unflushed change could make it wrong (requestmemo.flush_pending)."""
    if not has_request_context():
        return compute()
    memo = g.__dict__.setdefault(name, {})
    if key in memo:
        if flush_pending() and memo is g.__dict__.get(name):
            return memo[key]
        memo = g.__dict__.setdefault(name, {})  # (the flush dropped it: a fresh one)
    value = memo[key] = compute()
    return value


def case_presence(case_id: uuid.UUID) -> Presence:
    return _memoized(_MEMO, case_id, lambda: Presence(*(bool(v) for v in db.session.execute(
        _statement(), {"case_id": case_id, "now": utcnow()}).one())))


@dataclass(frozen=True)
class ReachPresence:
    """Whether anything exists within an actor's reach (policy.reach: their unit and emergency grants) for the
    start page's panels; a panel whose answer is False shows its empty state without its own query."""

    overdue_plans: bool
    waiting_referrals: bool
    linked_children: bool
    own_drafts: bool  # (the actor's own unsigned journal entries, any case: the "drafts to sign" panel)


_REACH_MEMO = dropped_at_flush("reach_presence")


@cache
def _reach_statement():
    from caseapp.cases.models import Case, JournalEntry
    from caseapp.protection.models import WitnessChild
    from caseapp.referrals.catalogue import WAITING_STATES
    from caseapp.referrals.models import Referral
    from caseapp.security import policy
    from caseapp.violence.models import Plan

    def in_reach(case_id):  # driven by the side table: its few rows, then each one's case by primary key
        return exists(select(Case.id).where(Case.id == case_id, policy.reach_clause(Case.id, Case.unit_id)))

    return select(
        exists(select(Plan.id).where(Plan.superseded_at.is_(None), Plan.review_on < bindparam("today"),
                                     in_reach(Plan.case_id))),
        exists(select(Referral.id).where(in_constants(Referral.state, WAITING_STATES),
                                         Referral.follow_up_on < bindparam("today"), in_reach(Referral.case_id))),
        exists(select(WitnessChild.id).where(in_reach(WitnessChild.victim_case_id))),
        # (ix_journal_entries_author_signed: one index probe; most workers have no draft left most of the time)
        exists(select(JournalEntry.id).where(JournalEntry.author_id == bindparam("actor_id"),
                                             JournalEntry.signed_at.is_(None))),
    )


def reach_presence(actor: Any) -> ReachPresence:
    """One statement per actor and request for four start-page panels (plans past their review date,
    referrals waiting past their follow-up date, children linked to victim cases, the actor's own drafts). It
    only says whether rows exist somewhere in the actor's reach (the drafts: whether the actor wrote any that
    are unsigned), never which; each panel's own query applies the full access rule.
    Each EXISTS is driven by its own table's index (the district's current plans past review, its waiting
    referrals past follow-up, its linked children: tens to thousands of rows), each row's case by primary key;
    driving it from the unit's cases instead took 18 ms on 150,000 cases."""
    from caseapp.security import policy

    def ask() -> ReachPresence:
        params = {**policy.reach(actor), "today": to_local(utcnow()).date(), "actor_id": getattr(actor, "id", None)}
        return ReachPresence(*(bool(v) for v in execute_rows(_reach_statement(), params).one()))

    return _memoized(_REACH_MEMO, getattr(actor, "id", None), ask)


_ASSIGNMENTS_MEMO = dropped_at_flush("case_active_assignments")
_LOADED = "case_page_loaded"
_NAMES_MEMO = dropped_at_flush("staff_display_names")


def known_staff_names() -> dict[uuid.UUID, str]:
    """The staff display names this request has read with other rows (the case page's assignments, transitions
    and journal entries read their writers' names in the same statements), for operations.staff_names to ask the
    database only for the rest. Outside a request: a fresh dict (nothing kept). Dropped at every flush; pending
    changes are flushed first, as a query's autoflush would (inside no_autoflush: a fresh dict, ask the database)."""
    if not has_request_context() or not flush_pending():
        return {}
    return g.__dict__.setdefault(_NAMES_MEMO, {})


def remember_staff_names(pairs) -> None:
    """Keep (user id, display name) pairs read with other rows (see known_staff_names)."""
    names = known_staff_names()
    for user_id, name in pairs:
        if user_id is not None and name is not None:
            names[user_id] = name


def active_assignments(case_id: uuid.UUID) -> list[Any]:
    """The case's active assignments (`CaseAssignment`, oldest first), read once per case and request: the
    access policy asks whether the user is one of them, and the case page lists them. Dropped at every flush,
    like the presence facts, so that an assignment changed in the request is seen."""
    return _memoized(_ASSIGNMENTS_MEMO, case_id, lambda: list(db.session.scalars(
        _assignments_statement(), {"case_id": case_id})))


@cache
def _case_page_statement():
    """The case, its person, its active assignments (one row each; one row with none) and its presence facts."""
    from sqlalchemy import and_
    from sqlalchemy.orm import joinedload

    from caseapp.accounts.models import User
    from caseapp.cases.models import Case, CaseAssignment

    return (select(Case, CaseAssignment, User.display_name, *_statement().selected_columns)
            .options(joinedload(Case.person))
            .outerjoin(CaseAssignment, and_(CaseAssignment.case_id == Case.id, CaseAssignment.ended_at.is_(None)))
            .outerjoin(User, User.id == CaseAssignment.user_id)
            .where(Case.id == bindparam("case_id"))
            .order_by(CaseAssignment.assigned_at))


def load_case_page(case_id: uuid.UUID) -> None:
    """Read, in one statement, what the case page needs before its own queries: the case with its person (as
    the policy's case load does), its active assignments (which the policy and the page read) and its presence
    facts, and the assigned workers' names; each is then taken from the session and the request's memos instead
    of a statement of its own (two statements fewer than the policy's case load, the assignments and the presence
    query: on PostgreSQL two round trips). It loads facts only: the page still asks the access
    policy (policy.get_case), which decides on the case and the assignments loaded here; the request holds the
    case (the session keeps only weak references) so that the policy's case load finds it in the session.
    Outside a request, or for a case that does not exist, it keeps nothing."""
    if not has_request_context():
        return
    rows = db.session.execute(_case_page_statement(), {"case_id": case_id, "now": utcnow()}).all()
    if not rows:
        return
    g.__dict__.setdefault(_ASSIGNMENTS_MEMO, {})[case_id] = [row[1] for row in rows if row[1] is not None]
    g.__dict__.setdefault(_MEMO, {})[case_id] = Presence(*(bool(v) for v in rows[0][3:]))
    g.__dict__.setdefault(_LOADED, []).append(rows[0][0])
    remember_staff_names((row[1].user_id, row[2]) for row in rows if row[1] is not None)


@cache
def _assignments_statement():
    from caseapp.cases.models import CaseAssignment

    return (select(CaseAssignment).where(CaseAssignment.case_id == bindparam("case_id"),
                                         CaseAssignment.ended_at.is_(None))
            .order_by(CaseAssignment.assigned_at))


def forget_active_assignments() -> None:
    if has_request_context():
        g.__dict__.pop(_ASSIGNMENTS_MEMO, None)
