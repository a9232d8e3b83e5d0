"""The access policy: the only place that decides who may do what.

Views declare a permission (`@requires`); the default-deny hook asks `has_permission`. Record-level rules
(unit, assignment, protected identity) are added here as the domains arrive, as functions that load a record
for a user or raise, and as scoped queries. Every refusal is audited by `deny`.
"""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any, NoReturn

from flask import abort

from caseapp.accounts.models import Role
from caseapp.dbtypes import in_constants, in_uuid_list
from caseapp.security import audit

# Permissions every signed-in member of staff has (their own account).
_SELF = {"home.view", "account.self"}

# The people registry (klienter). Administrators and auditors never get these: no person content by role.
_PEOPLE = {"person.read", "person.create", "person.update", "person.search"}
# Casework (records are further limited by unit and assignment: see "casework" below).
_CASEWORK = {"case.read", "case.create", "case.write", "case.search", "journal.write", "decision.write",
             "intervention.write", "group.read", "group.write", "relation.write",
             "case.emergency",  # nödåtkomst: see "emergency access" below
             "referral.read", "referral.write"}  # referrals, sharing consents, disclosures: see "referrals" below
_CASE_MANAGER = {"case.assign", "case.caseload", "decision.approve"}

ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.HANDLAGGARE: frozenset(_SELF | _PEOPLE | _CASEWORK),
    Role.RELATIONSVALDSTEAM: frozenset(_SELF | _PEOPLE | _CASEWORK),
    Role.FALTASSISTENT: frozenset(_SELF | _PEOPLE | _CASEWORK),
    # Unit managers follow up their unit's access log and sign the monthly sample reviews.
    Role.ENHETSCHEF: frozenset(_SELF | _PEOPLE | _CASEWORK | _CASE_MANAGER | {"audit.review", "audit.sign_sample"}
                               | {"protection.manage"}),
    # Auditors read the access log across units; never case content.
    Role.LOGGGRANSKARE: frozenset(_SELF | {"audit.review"}),
    # Administrators manage users, units, keys, the intervention catalogue and the partner list (no personal
    # data); they never read case content.
    Role.SYSTEMFORVALTARE: frozenset(_SELF | {"admin.users", "catalogue.admin", "partner.admin"}),
}


def has_permission(user: Any, permission: str) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return permission in ROLE_PERMISSIONS.get(user.role, frozenset())


def deny(
    user: Any,
    *,
    permission: str | None = None,
    object_type: str | None = None,
    object_id: Any = None,
    subject_person_id: Any = None,
    status: int = 403,
) -> NoReturn:
    """Audit a refusal (kept even though the request rolls back) and abort with 403 or 404."""
    audit.record(
        "denied",
        outcome="denied",
        actor=user if getattr(user, "is_authenticated", False) else None,
        object_type=object_type,
        object_id=object_id,
        subject_person_id=subject_person_id,
        details={"permission": permission} if permission else None,
        persist_on_failure=True,
    )
    abort(status)


def get_user_for_admin(actor: Any, user_id: Any):
    """A staff account for user administration (systemförvaltare only)."""
    from caseapp.accounts.models import User
    from caseapp.extensions import db

    if not has_permission(actor, "admin.users"):
        deny(actor, permission="admin.users", object_type="user", object_id=user_id)
    user = db.session.get(User, user_id)
    if user is None:
        deny(actor, object_type="user", object_id=user_id, status=404)
    return user


# --- the access log ------------------------------------------------------------------------------------------


def scope_audit_events(viewer: Any, query):
    """Audit events a viewer may see: an auditor all of them, a unit manager those by the unit's staff,
    everyone else none (the query returns nothing)."""
    from caseapp.security.audit import AuditEvent

    if not has_permission(viewer, "audit.review"):
        return query.where(AuditEvent.id.is_(None))
    if viewer.role is Role.LOGGGRANSKARE:
        return query
    return query.where(AuditEvent.actor_unit_id == viewer.unit_id)


def scope_log_samples(viewer: Any, query):
    from caseapp.supervision.models import LogSample

    if not has_permission(viewer, "audit.review"):
        return query.where(LogSample.id.is_(None))
    if viewer.role is Role.LOGGGRANSKARE:
        return query
    return query.where(LogSample.unit_id == viewer.unit_id)


def get_log_sample(viewer: Any, sample_id: Any, action: str = "read"):
    """A monthly log sample: readable by the unit's manager and auditors; only the unit's manager reviews
    and signs it."""
    from caseapp.extensions import db
    from caseapp.supervision.models import LogSample

    sample = db.session.get(LogSample, sample_id)
    visible = sample is not None and db.session.scalar(
        scope_log_samples(viewer, db.select(LogSample.id)).where(LogSample.id == sample_id)) is not None
    if not visible:
        deny(viewer, permission="audit.review", object_type="log_sample", object_id=sample_id, status=404)
    if action == "sign" and not (has_permission(viewer, "audit.sign_sample") and sample.unit_id == viewer.unit_id):
        deny(viewer, permission="audit.sign_sample", object_type="log_sample", object_id=sample_id)
    return sample


def audit_filter_units(viewer: Any):
    """Units a viewer may filter the log by (None: all units)."""
    return None if viewer.role is Role.LOGGGRANSKARE else [viewer.unit_id]


# --- people (klienter) ---------------------------------------------------------------------------------------
# A person is visible through the cases the user may read (casework section below). A person without any case
# yet is visible to the staff of the unit that registered them (handläggare, relationsvåldsteam, fältassistent,
# enhetschef of that unit), so that a case can be opened. Nobody else learns that the person exists; a relation
# to another person grants nothing.

_PERSON_PERMISSION = {"read": "person.read", "update": "person.update"}


def can_see_person(user: Any, person: Any) -> bool:
    if not has_permission(user, "person.read") or getattr(user, "unit_id", None) is None:
        return False
    if not may_open_protected(user, person):  # protected identities: the access list (section below)
        return False
    if person_readable_via_cases(user, person.id):
        return True
    return person.registered_unit_id == user.unit_id and not person_has_cases(person.id)


def visible_people(user: Any):
    """A SELECT of the people `user` may see (matches nothing for users without the permission or a unit)."""
    from sqlalchemy import false, select

    from caseapp.people.models import Person

    query = select(Person)
    if not has_permission(user, "person.read") or getattr(user, "unit_id", None) is None:
        return query.where(false())
    return query.where(people_visibility_clause(user))


def get_person(user: Any, person_id: Any, action: str = "read"):
    """The person for `action` ("read" or "update"), or 404 for anyone who may not know of them.

    The refusal is audited with the person as subject when the person exists, so "who has tried to read my
    file" shows it.
    """
    from caseapp.extensions import db
    from caseapp.people.models import Person

    permission = _PERSON_PERMISSION[action]
    person = db.session.get(Person, person_id)
    if person is None:
        deny(user, permission=permission, object_type="person", object_id=person_id, status=404)
    if not can_see_person(user, person):
        deny(user, permission=permission, object_type="person", object_id=person.id,
             subject_person_id=person.id, status=404)
    if not has_permission(user, permission) or (action == "update" and not can_update_person(user, person)):
        deny(user, permission=permission, object_type="person", object_id=person.id,
             subject_person_id=person.id, status=403)
    return person


def can_update_person(user: Any, person: Any) -> bool:
    """Change a person's registry data: whoever may write one of the person's cases (assigned worker, the unit
    manager); for a person without any case, the registering unit. A colleague who only reads does not."""
    if not has_permission(user, "person.update") or getattr(user, "unit_id", None) is None:
        return False
    if not may_open_protected(user, person):
        return False
    if not person_has_cases(person.id):
        return person.registered_unit_id == user.unit_id
    return person_writable_via_cases(user, person.id)


def person_registration_unit(user: Any):
    """The unit a new person is registered in: the user's own (refused without the permission or a unit)."""
    if not has_permission(user, "person.create") or getattr(user, "unit_id", None) is None:
        deny(user, permission="person.create", object_type="person")
    return user.unit_id


# --- casework ------------------------------------------------------------------------------------------------
# Cases belong to a unit. A worker (handläggare, relationsvåldsteam, fältassistent) reads and writes the cases
# assigned to them; colleagues in the same unit read the unit's cases only where the unit shares (the
# domestic-violence team does not); the unit manager (enhetschef) reads all the unit's cases, writes in them,
# assigns workers and approves decisions. Nobody reads another unit's cases; administrators and auditors read
# no case content (they hold none of these permissions). Journal drafts are the author's until signed. Groups
# are read by their leaders, the unit manager and, where the unit shares, colleagues. A relation between two
# people grants nothing. docs/access-rules.md has the table.

CASE_WORKER_ROLES = frozenset({Role.HANDLAGGARE, Role.RELATIONSVALDSTEAM, Role.FALTASSISTENT})

READ, WRITE, ASSIGN, APPROVE = "read", "write", "assign", "approve"
_CASE_ACTION_PERMISSION = {READ: "case.read", WRITE: "case.write", ASSIGN: "case.assign",
                           APPROVE: "decision.approve"}


def _unit_shares(unit_id: Any) -> bool:
    from caseapp.accounts.models import Unit
    from caseapp.extensions import db

    unit = db.session.get(Unit, unit_id) if unit_id is not None else None
    return bool(unit is not None and unit.shares_cases and unit.active)


def _is_assigned(user: Any, case_id: Any) -> bool:
    from caseapp.cases.presence import active_assignments

    return any(a.user_id == user.id for a in active_assignments(case_id))


def case_access(user: Any, case: Any) -> frozenset[str]:
    """What `user` may do with `case`: a subset of read, write, assign, approve (memoised per request)."""
    from flask import g, has_request_context

    memo = g.setdefault("case_access", {}) if has_request_context() else {}
    key = (getattr(user, "id", None), case.id)
    if key not in memo:
        memo[key] = _case_access(user, case)
    return memo[key]


def forget_case_access() -> None:
    """Drop the memo and the request's copy of the cases' assignments (after an assignment changed within the
    request: the next check reads them again, after the session's autoflush has written the change)."""
    from flask import g, has_request_context

    from caseapp.cases.presence import forget_active_assignments

    if has_request_context():
        g.pop("case_access", None)
    forget_active_assignments()


def _unit_case_access(user: Any, case: Any) -> frozenset[str]:
    if not has_permission(user, "case.read") or getattr(user, "unit_id", None) is None:
        return frozenset()
    if case.unit_id != user.unit_id:
        return frozenset()
    if user.role is Role.ENHETSCHEF:
        return frozenset({READ, WRITE, ASSIGN, APPROVE})
    if user.role not in CASE_WORKER_ROLES:
        return frozenset()
    if _is_assigned(user, case.id):
        return frozenset({READ, WRITE})
    if _unit_shares(case.unit_id):
        return frozenset({READ})
    return frozenset()


def _unit_readable_cases_clause(user: Any):
    """A SQL condition on `Case` true exactly for the cases `user` may read by the rules above (same rule as
    `_unit_case_access`; `readable_cases_clause` adds emergency access)."""
    from sqlalchemy import and_, exists, false, select

    from caseapp.cases.models import Case, CaseAssignment

    if not has_permission(user, "case.read") or getattr(user, "unit_id", None) is None:
        return false()
    same_unit = Case.unit_id == user.unit_id
    if user.role is Role.ENHETSCHEF:
        return same_unit
    if user.role not in CASE_WORKER_ROLES:
        return false()
    if _unit_shares(user.unit_id):
        return same_unit
    assigned = exists(select(CaseAssignment.id).where(
        CaseAssignment.case_id == Case.id, CaseAssignment.user_id == user.id, CaseAssignment.ended_at.is_(None)))
    return and_(same_unit, assigned)


# --- emergency access (nödåtkomst) ---------------------------------------------------------------------------
# A case worker or unit manager (permission case.emergency; never administrators or auditors) may open a case
# outside their rights after stating a reason (caseapp/supervision/emergency.py). The grant gives READ only,
# for EMERGENCY_ACCESS_MINUTES; it is audited and lands on the case's unit manager's attention list. These two
# functions are the only hooks: they wrap the casework rules above and add the user's active grants.


# The composition, in one place: the unit rules, narrowed by the protected-identity access list (section
# "protected identities" below), widened by the user's active emergency grants. An emergency grant opens a
# protected person's case too (that is what it is for); it needs a reason and always lands on the attention list.


def ordinary_case_access(user: Any, case: Any) -> frozenset[str]:
    """What `user` may do with `case` without any emergency grant: the unit rules, narrowed by the access list."""
    return _unit_case_access(user, case) if may_open_protected_case(user, case) else frozenset()


def _case_access(user: Any, case: Any) -> frozenset[str]:
    access = ordinary_case_access(user, case)
    if READ in access or case.id not in emergency_case_ids(user):
        return access
    return access | {READ}


def readable_cases_clause(user: Any, *, protected: bool = True):
    """A SQL condition on `Case` true exactly for the cases `user` may read (same rule as `case_access`).
    `protected=False` leaves out the access-list condition, for a caller that applies it on `Person` itself.
    Built once per `readable_cases_key` and kept for the process (an SQL expression does not change once built):
    building it and a statement around it, and their cache keys, cost more than running the statement."""
    key = readable_cases_key(user, protected=protected)
    clause = _READABLE_CLAUSES.get(key)
    if clause is None:
        from sqlalchemy import and_, or_

        from caseapp.cases.models import Case

        clause = _unit_readable_cases_clause(user)
        if protected:
            clause = and_(clause, protected_case_clause(user))
        granted = key[-1]
        if granted:
            clause = or_(clause, Case.id.in_(sorted(granted)))
        if len(_READABLE_CLAUSES) >= _KEPT_CLAUSES:
            _READABLE_CLAUSES.clear()
        _READABLE_CLAUSES[key] = clause
    return clause


def readable_cases_key(user: Any, *, protected: bool = True) -> tuple:
    """Everything `readable_cases_clause(user, protected=...)` is built from, as a hashable value: equal keys,
    equal SQL. A caller may keep a statement built on the clause under this key (the start page does). It
    reads the same facts as the rules above: the permission and role, the unit and whether it shares its
    cases, the user (for assignments and the access list), and the active emergency grants."""
    granted = emergency_case_ids(user)
    if not has_permission(user, "case.read") or getattr(user, "unit_id", None) is None:
        return (False, protected, granted)
    role = user.role
    shares = _unit_shares(user.unit_id) if role in CASE_WORKER_ROLES else None
    return (True, user.id, role, user.unit_id, shares, protected and role is not Role.ENHETSCHEF, granted)


_READABLE_CLAUSES: dict[tuple, Any] = {}
_KEPT_CLAUSES = 4096  # one per user (and variant) in use; past this many, start again


def emergency_case_ids(user: Any) -> frozenset:
    """Ids of the cases `user` holds an active emergency grant for (memoised per request)."""
    from flask import g, has_request_context

    if not has_permission(user, "case.emergency") or getattr(user, "unit_id", None) is None:
        return frozenset()
    memo = g.setdefault("emergency_case_ids", {}) if has_request_context() else {}
    if user.id not in memo:
        from caseapp.extensions import db
        from caseapp.timeutil import utcnow

        memo[user.id] = frozenset(db.session.scalars(_emergency_ids_statement(),
                                                     {"user_id": user.id, "now": utcnow()}))
    return memo[user.id]


def emergency_ids_column(user_id_column: Any):
    """A column for the statement that loads the signed-in user (caseapp._load_user): the case ids of the user's
    active emergency grants as one string (ids separated by commas, or NULL), with the bound parameter
    `emergency_now`. Read with the user, the grants need no statement of their own on every page
    (`remember_emergency_case_ids`); the rule is the one of `emergency_case_ids`."""
    from sqlalchemy import String, bindparam, cast, func, literal_column, select

    from caseapp.supervision.models import EmergencyAccess

    # (the separator as SQL text: given as a str, it is a literal-execute parameter, rendered on every execution)
    return (select(func.aggregate_strings(cast(EmergencyAccess.case_id, String), literal_column("','")))
            .where(_active_grant(user_id_column, bindparam("emergency_now")))
            .scalar_subquery().label("emergency_case_ids"))


def remember_emergency_case_ids(user: Any, ids: str | None) -> None:
    """Keep for this request what `emergency_ids_column` read with the user, as `emergency_case_ids` would."""
    from flask import g, has_request_context

    if not has_request_context() or not has_permission(user, "case.emergency") \
            or getattr(user, "unit_id", None) is None:
        return
    g.setdefault("emergency_case_ids", {})[user.id] = frozenset(
        uuid.UUID(part) for part in (ids or "").split(",") if part)


def reach(user: Any) -> dict[str, Any]:
    """Bound parameters of a cheap superset of `readable_cases_clause(user)`, for "is there anything at all"
    checks before a list's real query (`Case.unit_id == :reach_unit OR Case.id IN :reach_extra`; see
    `reach_clause`): every case the user may read is in their unit or one of their emergency grants. The check
    decides nothing and shows nothing; the real query, with the full rule, still runs whenever it finds a row."""
    if not has_permission(user, "case.read") or getattr(user, "unit_id", None) is None:
        return {"reach_unit": None, "reach_extra": []}
    return {"reach_unit": user.unit_id, "reach_extra": list(emergency_case_ids(user))}


def reach_clause(case_id_column: Any, case_unit_column: Any):
    """The SQL of `reach` on a case's id and unit columns, with the bound parameters reach_unit, reach_extra."""
    from sqlalchemy import bindparam, or_

    return or_(case_unit_column == bindparam("reach_unit"), in_uuid_list(case_id_column, "reach_extra"))


@cache
def _emergency_ids_statement():
    """Built once, with bound parameters (it runs on every page of a user who may request emergency access,
    unless the grants were read with the user: `emergency_ids_column`)."""
    from sqlalchemy import bindparam, select

    from caseapp.supervision.models import EmergencyAccess

    return select(EmergencyAccess.case_id).where(_active_grant(bindparam("user_id"), bindparam("now")))


def _active_grant(user_id: Any, now: Any):
    """SQL on EmergencyAccess: a grant of `user_id` that is neither ended nor expired at `now`."""
    from sqlalchemy import and_

    from caseapp.supervision.models import EmergencyAccess

    return and_(EmergencyAccess.user_id == user_id, EmergencyAccess.ended_at.is_(None),
                EmergencyAccess.expires_at > now)


def forget_emergency_access() -> None:
    """Drop the memos (after a grant within the request)."""
    from flask import g, has_request_context

    if has_request_context():
        g.pop("emergency_case_ids", None)  # (readable_cases_clause is kept by a key that holds the grants)
    forget_case_access()


def scope_emergency_events(viewer: Any, query, since: Any = None):
    """`emergency_access` events a viewer follows up: an auditor all of them; a unit manager those by the unit's
    staff (as `scope_audit_events`) and those on the unit's own cases, whoever made them (the manager of the
    unit that owns the case reviews the access); everyone else none."""
    from sqlalchemy import or_, select

    from caseapp.cases.models import Case
    from caseapp.extensions import db
    from caseapp.security.audit import AuditEvent
    from caseapp.supervision.models import EmergencyAccess

    query = query.where(AuditEvent.action == "emergency_access")
    if not has_permission(viewer, "audit.review"):
        return query.where(AuditEvent.id.is_(None))
    if viewer.role is Role.LOGGGRANSKARE:
        return query
    granted = (select(EmergencyAccess.case_id).join(Case, Case.id == EmergencyAccess.case_id)
               .where(Case.unit_id == viewer.unit_id).distinct())
    if since is not None:
        granted = granted.where(EmergencyAccess.granted_at >= since)
    own_cases = sorted(str(case_id) for case_id in db.session.scalars(granted))
    if not own_cases:
        return query.where(AuditEvent.actor_unit_id == viewer.unit_id)
    return query.where(or_(AuditEvent.actor_unit_id == viewer.unit_id,
                           (AuditEvent.object_type == "case") & AuditEvent.object_id.in_(own_cases)))


def emergency_requester(user: Any) -> None:
    """Refuse (audited, 403) anyone who may not ask for emergency access."""
    if not has_permission(user, "case.emergency") or getattr(user, "unit_id", None) is None:
        deny(user, permission="case.emergency", object_type="emergency_access")


def assigned_cases_clause(user: Any):
    """Cases `user` is assigned to (and may therefore read): "my cases"."""
    from sqlalchemy import and_, select

    from caseapp.cases.models import Case, CaseAssignment

    mine = select(CaseAssignment.case_id).where(CaseAssignment.user_id == user.id,
                                                 CaseAssignment.ended_at.is_(None))
    return and_(readable_cases_clause(user), Case.id.in_(mine))


def visible_cases(user: Any):
    """A SELECT of the cases `user` may read."""
    from sqlalchemy import select

    from caseapp.cases.models import Case

    return select(Case).where(readable_cases_clause(user))


def _load(model: Any, record_id: Any):
    from caseapp.extensions import db

    try:
        return db.session.get(model, record_id)
    except (ValueError, TypeError):
        return None


def _require_case_action(user: Any, case: Any, action: str, *, object_type: str, object_id: Any) -> None:
    access = case_access(user, case)
    permission = _CASE_ACTION_PERMISSION[action]
    if READ not in access:
        deny(user, permission=permission, object_type=object_type, object_id=object_id,
             subject_person_id=case.person_id, status=404)
    if action not in access or not has_permission(user, permission):
        deny(user, permission=permission, object_type=object_type, object_id=object_id,
             subject_person_id=case.person_id, status=403)


@cache
def _case_with_person_statement():
    from sqlalchemy import bindparam, select
    from sqlalchemy.orm import joinedload

    from caseapp.cases.models import Case

    return select(Case).options(joinedload(Case.person)).where(Case.id == bindparam("id"))


def _load_case(case_id: Any):
    """The case, and with it its person (whom the protected-identity check reads next): one statement instead
    of two, built once per process; a case already in the session is taken from it."""
    from sqlalchemy import inspect as sa_inspect

    from caseapp.cases.models import Case
    from caseapp.extensions import db

    if case_id.__class__ is not uuid.UUID:
        try:
            case_id = uuid.UUID(str(case_id))
        except (ValueError, TypeError):
            return None
    session = db.session()
    case = session.identity_map.get((Case, (case_id,), None))
    if case is not None and not sa_inspect(case).expired:  # (an expired one is read again, as session.get does)
        return case
    return session.execute(_case_with_person_statement(), {"id": case_id}).unique().scalar_one_or_none()


def get_case(user: Any, case_id: Any, action: str = READ):
    """The case for `action`, or a refusal (audited): 404 for a case the user may not know of, 403 for a case
    the user may read but not change."""
    case = _load_case(case_id)
    if case is None:
        deny(user, permission=_CASE_ACTION_PERMISSION[action], object_type="case", object_id=case_id, status=404)
    _require_case_action(user, case, action, object_type="case", object_id=case.id)
    return case


def _get_in_case(user: Any, model: Any, record_id: Any, action: str, object_type: str):
    record = _load(model, record_id)
    if record is None:
        deny(user, permission=_CASE_ACTION_PERMISSION[action], object_type=object_type, object_id=record_id,
             status=404)
    case = _load_case(record.case_id)
    _require_case_action(user, case, action, object_type=object_type, object_id=record.id)
    return record, case


def get_journal_entry(user: Any, entry_id: Any, action: str = READ):
    """(entry, case). A draft exists only for its author: anyone else gets 404; `action` "author" is the
    author's own work on a draft (edit, sign, discard) and needs write access to the case."""
    from caseapp.cases.models import JournalEntry

    case_action = WRITE if action in (WRITE, "author") else action
    entry, case = _get_in_case(user, JournalEntry, entry_id, case_action, "journal_entry")
    if entry.signed_at is None and entry.author_id != user.id:
        deny(user, permission="journal.write", object_type="journal_entry", object_id=entry.id,
             subject_person_id=case.person_id, status=404)
    if action == "author" and entry.author_id != user.id:
        deny(user, permission="journal.write", object_type="journal_entry", object_id=entry.id,
             subject_person_id=case.person_id, status=403)
    return entry, case


def get_decision(user: Any, decision_id: Any, action: str = READ):
    from caseapp.cases.models import Decision

    return _get_in_case(user, Decision, decision_id, action, "decision")


def get_intervention(user: Any, intervention_id: Any, action: str = READ):
    from caseapp.cases.models import Intervention

    return _get_in_case(user, Intervention, intervention_id, action, "intervention")


def group_access(user: Any, group: Any) -> frozenset[str]:
    """Who takes part in a group is case data: its leaders and the unit manager read and write it; colleagues
    in a sharing unit read it; nobody outside the unit."""
    if not has_permission(user, "group.read") or getattr(user, "unit_id", None) is None:
        return frozenset()
    if group.unit_id != user.unit_id:
        return frozenset()
    if user.role is Role.ENHETSCHEF or user.id in (group.leader_id, group.co_leader_id):
        return frozenset({READ, WRITE})
    if user.role in CASE_WORKER_ROLES and _unit_shares(group.unit_id):
        return frozenset({READ})
    return frozenset()


def visible_groups(user: Any):
    from sqlalchemy import false, or_, select

    from caseapp.cases.models import Group

    query = select(Group)
    if not has_permission(user, "group.read") or getattr(user, "unit_id", None) is None:
        return query.where(false())
    query = query.where(Group.unit_id == user.unit_id)
    if user.role is Role.ENHETSCHEF or (user.role in CASE_WORKER_ROLES and _unit_shares(user.unit_id)):
        return query
    if user.role not in CASE_WORKER_ROLES:
        return query.where(false())
    return query.where(or_(Group.leader_id == user.id, Group.co_leader_id == user.id))


def get_group(user: Any, group_id: Any, action: str = READ):
    from caseapp.cases.models import Group

    permission = "group.write" if action == WRITE else "group.read"
    group = _load(Group, group_id)
    if group is None:
        deny(user, permission=permission, object_type="group", object_id=group_id, status=404)
    access = group_access(user, group)
    if READ not in access:
        deny(user, permission=permission, object_type="group", object_id=group.id, status=404)
    if action not in access or not has_permission(user, permission):
        deny(user, permission=permission, object_type="group", object_id=group.id, status=403)
    return group


def group_unit_for_new(user: Any):
    """The unit a new group belongs to: the creator's own (workers and unit managers)."""
    if not has_permission(user, "group.write") or getattr(user, "unit_id", None) is None:
        deny(user, permission="group.write", object_type="group")
    return user.unit_id


def get_relation(user: Any, relation_id: Any, action: str = READ):
    """A relation between two people, for a user who may see the person it belongs to. It grants nothing on
    the other person."""
    from caseapp.cases.models import PersonRelation
    from caseapp.extensions import db
    from caseapp.people.models import Person

    permission = "relation.write" if action == WRITE else "person.read"
    relation = _load(PersonRelation, relation_id)
    if relation is None:
        deny(user, permission=permission, object_type="relation", object_id=relation_id, status=404)
    person = db.session.get(Person, relation.person_id)
    if not can_see_person(user, person):
        deny(user, permission=permission, object_type="relation", object_id=relation.id,
             subject_person_id=person.id, status=404)
    if not has_permission(user, permission):
        deny(user, permission=permission, object_type="relation", object_id=relation.id,
             subject_person_id=person.id, status=403)
    return relation


def assignable_workers(unit_id: Any):
    """A SELECT of the active workers of a unit a case can be assigned to."""
    from sqlalchemy import select

    from caseapp.accounts.models import User

    return (select(User).where(User.unit_id == unit_id, User.disabled_at.is_(None),
                               in_constants(User.role, [*CASE_WORKER_ROLES, Role.ENHETSCHEF]))
            .order_by(User.display_name))


def case_creation_unit(user: Any):
    """The unit a new case belongs to: the creator's own."""
    if not has_permission(user, "case.create") or getattr(user, "unit_id", None) is None:
        deny(user, permission="case.create", object_type="case")
    return user.unit_id


def person_has_cases(person_id: Any) -> bool:
    from sqlalchemy import select

    from caseapp.cases.models import Case
    from caseapp.extensions import db

    return db.session.scalar(select(Case.id).where(Case.person_id == person_id).limit(1)) is not None


def person_readable_via_cases(user: Any, person_id: Any) -> bool:
    from sqlalchemy import select

    from caseapp.cases.models import Case
    from caseapp.extensions import db

    return db.session.scalar(select(Case.id).where(Case.person_id == person_id, readable_cases_clause(user))
                             .limit(1)) is not None


def people_visibility_clause(user: Any):
    """SQL condition on `Person`: same rule as `can_see_person` (a readable case, or registered by the user's
    unit and without any case). Correlated EXISTS, so a search over a few candidates stays an index lookup."""
    from sqlalchemy import and_, exists, or_, select

    from caseapp.cases.models import Case
    from caseapp.people.models import Person

    readable = exists(select(Case.id).where(Case.person_id == Person.id,
                                            readable_cases_clause(user, protected=False)))
    no_case = ~exists(select(Case.id).where(Case.person_id == Person.id))
    return and_(or_(readable, and_(Person.registered_unit_id == user.unit_id, no_case)),
                protected_person_clause(user))


def person_writable_via_cases(user: Any, person_id: Any) -> bool:
    from sqlalchemy import select

    from caseapp.cases.models import Case
    from caseapp.extensions import db

    query = select(Case.id).where(Case.person_id == person_id, assigned_cases_clause(user))
    if user.role is Role.ENHETSCHEF:
        query = select(Case.id).where(Case.person_id == person_id, Case.unit_id == user.unit_id)
    return db.session.scalar(query.limit(1)) is not None


# --- referrals, sharing consent and disclosures --------------------------------------------------------------
# Referrals, sharing consents and disclosures are case data: whoever may read the case reads them, whoever may
# write the case writes them (the casework rules above, through `case_access`). A consent belongs to a person
# but is recorded in a case; it is visible and usable through the cases of that person the user may read, never
# across units. Administrators maintain the partner list and read no referral content; auditors read none.
# docs/referrals.md has the rules.



def get_referral(user: Any, referral_id: Any, action: str = READ):
    """(referral, case) for `action` ("read" or "write"), or a refusal (audited; 404/403 as for the case)."""
    from caseapp.referrals.models import Referral

    return _get_in_case(user, Referral, referral_id, action, "referral")


def get_sharing_consent(user: Any, consent_id: Any, action: str = READ):
    """(consent, case): through the case the consent was recorded in."""
    from caseapp.referrals.models import SharingConsent

    return _get_in_case(user, SharingConsent, consent_id, action, "sharing_consent")


def get_disclosure(user: Any, disclosure_id: Any, action: str = READ):
    from caseapp.referrals.models import Disclosure

    return _get_in_case(user, Disclosure, disclosure_id, action, "disclosure")


def consents_of_person(user: Any, person_id: Any):
    """A SELECT of the person's sharing consents recorded in cases `user` may read."""
    from sqlalchemy import select

    from caseapp.cases.models import Case
    from caseapp.referrals.models import SharingConsent

    return (select(SharingConsent).join(Case, Case.id == SharingConsent.case_id)
            .where(SharingConsent.person_id == person_id, readable_cases_clause(user)))


def visible_referrals(user: Any):
    """A SELECT of the referrals of cases `user` may read (unit overviews, the start page)."""
    from sqlalchemy import select

    from caseapp.cases.models import Case
    from caseapp.referrals.models import Referral

    return select(Referral).join(Case, Case.id == Referral.case_id).where(readable_cases_clause(user))


def get_partner_for_admin(user: Any, partner_id: Any):
    """A partner for the administrator's list (no personal data)."""
    from caseapp.referrals.models import Partner

    if not has_permission(user, "partner.admin"):
        deny(user, permission="partner.admin", object_type="partner", object_id=partner_id)
    partner = _load(Partner, partner_id)
    if partner is None:
        deny(user, permission="partner.admin", object_type="partner", object_id=partner_id, status=404)
    return partner
# --- domestic-violence work (risk assessments, protection and safety plans) ----------------------------------
# Records of the victim's own case: whoever may read the case reads them, whoever may write in it writes them
# (`_get_in_case` → `case_access`, so every rule of `case_access`, protected identities included, covers them).
# An assessment draft is its author's until signed (like a journal draft): anyone else gets 404; "author" is the
# author's own work on a draft and needs write access to the case.


def get_assessment(user: Any, assessment_id: Any, action: str = READ):
    """(assessment, case) for `action`: read, write or author."""
    from caseapp.violence.models import RiskAssessment

    case_action = WRITE if action in (WRITE, "author") else action
    item, case = _get_in_case(user, RiskAssessment, assessment_id, case_action, "risk_assessment")
    if not item.is_signed and item.author_id != user.id:
        deny(user, permission=_CASE_ACTION_PERMISSION[case_action], object_type="risk_assessment",
             object_id=item.id, subject_person_id=case.person_id, status=404)
    if action == "author" and item.author_id != user.id:
        deny(user, permission="case.write", object_type="risk_assessment", object_id=item.id,
             subject_person_id=case.person_id, status=403)
    return item, case


def get_plan(user: Any, plan_id: Any, action: str = READ):
    """(plan version, case): a protection and action plan or a safety plan, any version."""
    from caseapp.violence.models import Plan

    return _get_in_case(user, Plan, plan_id, action, "violence_plan")
# --- protected identities and victims (issue 7) ----------------------------------------------------------------
# A person with any protected-identity level (sekretessmarkering, skyddad folkbokföring, fingerade
# personuppgifter) is a narrowing of every rule above: their file and every case of theirs open only for the
# users on the person's access list (`ProtectedAccess`, active rows) and for the enhetschef of a unit that owns
# one of their cases (or of the registering unit while they have none) -- still within the ordinary unit,
# assignment and sharing rules. A colleague not on the list is refused even when the unit shares. The check is
# in `case_access` / `readable_cases_clause` and in `can_see_person` / `people_visibility_clause`, so it holds
# for every page, list, count, search, group and relation built on them. Assigning a worker to a protected
# person's case adds the worker to the list (caseapp/protection/operations.py `prepare_assignment`); registering
# a protected person or raising a person's level adds the acting user and the assigned workers.
#
# A victim's link to the perpetrator (`ViolenceLink`) is seen only by the victim case's assigned workers and
# the victim unit's enhetschef, never from the perpetrator's side. docs/access-rules.md has the rules.


def _is_protected(person: Any) -> bool:
    from caseapp.people.models import Protection

    return person is not None and person.protection is not None and person.protection != Protection.NONE


def on_access_list(user: Any, person_id: Any) -> bool:
    from sqlalchemy import select

    from caseapp.extensions import db
    from caseapp.protection.models import ProtectedAccess

    if getattr(user, "id", None) is None:
        return False
    return db.session.scalar(select(ProtectedAccess.id).where(
        ProtectedAccess.person_id == person_id, ProtectedAccess.user_id == user.id,
        ProtectedAccess.revoked_at.is_(None)).limit(1)) is not None


def may_open_protected(user: Any, person: Any) -> bool:
    """The access-list condition alone (the ordinary rules still apply on top): true for an unprotected
    person, for a unit manager (who sees the person only within their unit anyway) and for listed users."""
    if not _is_protected(person):
        return True
    if getattr(user, "role", None) is Role.ENHETSCHEF:
        return True
    return on_access_list(user, person.id)


def may_open_protected_case(user: Any, case: Any) -> bool:
    return may_open_protected(user, _person_of_case(case))


def _person_of_case(case: Any) -> Any:
    """The case's person, kept referenced until the end of the request: the session's identity map holds its
    objects only weakly, so a person loaded here for the check and then dropped would be read again (with its
    key row) by the page's own `session.get` a moment later."""
    from flask import g, has_request_context

    from caseapp.extensions import db
    from caseapp.people.models import Person

    person = db.session.get(Person, case.person_id)
    if person is not None and has_request_context():
        g.__dict__.setdefault("policy_people", {})[person.id] = person
    return person


def _listed_clause(user: Any, person_id_column: Any):
    from sqlalchemy import exists, select

    from caseapp.protection.models import ProtectedAccess

    return exists(select(ProtectedAccess.id).where(
        ProtectedAccess.person_id == person_id_column, ProtectedAccess.user_id == user.id,
        ProtectedAccess.revoked_at.is_(None)))


def protected_case_clause(user: Any):
    """SQL on `Case`: the person of the case is unprotected, or `user` may open protected files of theirs
    (same rule as `may_open_protected_case`). `person_id NOT IN (the protected people)`, read once per
    statement from the partial index ix_people_protected (SQLite builds an ephemeral index of it, PostgreSQL
    a hashed subplan), so that a case row needs no lookup in people at all; then an EXISTS on the access-list
    index; nothing for a unit manager."""
    from sqlalchemy import literal_column, or_, select, true
    from sqlalchemy.orm import aliased

    from caseapp.cases.models import Case
    from caseapp.people.models import Person, Protection

    if getattr(user, "role", None) is Role.ENHETSCHEF:
        return true()
    global _PROTECTED_CASE
    if _PROTECTED_CASE is None:
        # Built once: an alias of people (so that it never correlates with an enclosing query on people); a new
        # alias per call cost ~1.5 ms of construction and defeated SQLAlchemy's compiled-statement cache.
        # 'none' is written into the SQL, not bound, so that both databases answer from the partial index of the
        # protected people (a bound value would rule the partial index out). Uncorrelated, so it is read once
        # per statement; the EXISTS form it replaces read the person row of every case (0.67 → 0.16 ms for a
        # worker's 143 open cases with ix_cases_responsible_open). people.id and cases.person_id are NOT NULL,
        # so NOT IN has no NULL surprise.
        p = aliased(Person)
        _PROTECTED_CASE = Case.person_id.not_in(select(p.id).where(
            p.protection != literal_column(f"'{Protection.NONE.value}'")))
    return or_(_PROTECTED_CASE, _listed_clause(user, Case.person_id))


_PROTECTED_CASE = None


def protected_person_clause(user: Any):
    """SQL on `Person`: same rule as `may_open_protected`."""
    from sqlalchemy import or_, true

    from caseapp.people.models import Person, Protection

    if getattr(user, "role", None) is Role.ENHETSCHEF:
        return true()
    return or_(Person.protection == Protection.NONE, _listed_clause(user, Person.id))


def hidden_person_ids(user: Any, person_ids: Any) -> set:
    """Of `person_ids`, the protected people `user` may not open (one query): a group's member list and its
    attendance leave them out."""
    from sqlalchemy import and_, select

    from caseapp.extensions import db
    from caseapp.people.models import Person, Protection

    ids = {i for i in person_ids if i is not None}
    if not ids or getattr(user, "role", None) is Role.ENHETSCHEF:
        return set()
    return set(db.session.scalars(select(Person.id).where(
        Person.id.in_(ids), and_(Person.protection != Protection.NONE, ~_listed_clause(user, Person.id)))))


def may_manage_access_list(user: Any, person: Any) -> bool:
    """The enhetschef of a unit that owns one of the person's cases (or of the registering unit while the
    person has none): exactly the unit managers who see the person."""
    return (getattr(user, "role", None) is Role.ENHETSCHEF and has_permission(user, "protection.manage")
            and can_see_person(user, person))


def get_protected_person(user: Any, person_id: Any):
    """A person for managing their access list and the record of having been informed (403 for a user who
    sees the person but does not manage the list)."""
    person = get_person(user, person_id, "read")
    if not may_manage_access_list(user, person):
        deny(user, permission="protection.manage", object_type="person", object_id=person.id,
             subject_person_id=person.id, status=403)
    return person


def disclosure_warning(person: Any):
    """The protection level to warn about before anything about `person` leaves the system (a letter, a
    referral, an export, a print), or None. The confirmation itself: protection.operations
    `require_disclosure_confirmation`."""
    return person.protection if _is_protected(person) else None


def is_victim_case(case: Any) -> bool:
    """A case where links to a perpetrator and witnessing children are recorded: a brottsoffer case, or one
    already linked as the victim's side."""
    from caseapp.cases.presence import case_presence
    from caseapp.cases.workflow import FocusArea

    return case.focus == FocusArea.BROTTSOFFER or case_presence(case.id).victim_links


def may_see_violence_links(user: Any, victim_case: Any) -> bool:
    """The victim case's assigned workers and the victim unit's enhetschef (who can read the case)."""
    if READ not in case_access(user, victim_case) or not is_victim_case(victim_case):
        return False
    return ((user.role is Role.ENHETSCHEF and victim_case.unit_id == user.unit_id)
            or _is_assigned(user, victim_case.id))


def may_override_conflict(user: Any, victim_case: Any) -> bool:
    """Only the victim unit's enhetschef lets one worker work on both sides."""
    return (getattr(user, "role", None) is Role.ENHETSCHEF and has_permission(user, "case.assign")
            and victim_case.unit_id == user.unit_id and READ in case_access(user, victim_case))


def get_violence_case(user: Any, case_id: Any, action: str = READ):
    """A victim case for its links and witnessed children: 404 (audited, the victim as subject) for anyone who
    may not see the links; `action` "write" also needs write access to the case."""
    case = get_case(user, case_id, READ)
    if not may_see_violence_links(user, case):
        deny(user, permission="case.read", object_type="violence_link", object_id=case.id,
             subject_person_id=case.person_id, status=404)
    if action == WRITE:
        _require_case_action(user, case, WRITE, object_type="violence_link", object_id=case.id)
    return case


def get_violence_link(user: Any, link_id: Any, action: str = READ):
    """(link, victim case), refused (404, the victim as subject) to anyone outside the victim's side."""
    from caseapp.cases.models import Case
    from caseapp.extensions import db
    from caseapp.protection.models import ViolenceLink

    link = _load(ViolenceLink, link_id)
    if link is None:
        deny(user, permission="case.read", object_type="violence_link", object_id=link_id, status=404)
    case = db.session.get(Case, link.victim_case_id)
    if not may_see_violence_links(user, case):
        deny(user, permission="case.read", object_type="violence_link", object_id=link.id,
             subject_person_id=case.person_id, status=404)
    if action == WRITE:
        _require_case_action(user, case, WRITE, object_type="violence_link", object_id=link.id)
    return link, case
