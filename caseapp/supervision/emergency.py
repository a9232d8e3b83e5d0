"""Emergency access (nödåtkomst): time-limited READ access to a case outside one's rights, with a stated reason.

A case worker or unit manager (permission `case.emergency`) enters a case reference or a personnummer and the
reason. A matching case, in any unit, becomes readable (never writable) for EMERGENCY_ACCESS_MINUTES (default
60); the policy honours the grant in `case_access` and `readable_cases_clause`, so the person and the case's
records are readable through the usual pages, and every read there is audited as usual. The grant is an
`emergency_access` event (case and person as subject) and lands on the attention list of the manager of the unit
that owns the case (and of the requester's own unit, and of the auditors); a grant for a person with a protected
identity is a separate attention kind. A request that matches nothing answers "no case found" (the same answer
as for a number that does not exist) and is audited too. The reason may name the person: it is stored encrypted
under the person's data key, and is shown only to those who may read the case.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from caseapp.accounts.models import Role, User
from caseapp.cases.models import Case
from caseapp.extensions import db
from caseapp.i18n import lazy_gettext as _l
from caseapp.people import personnummer
from caseapp.people.models import Person, PersonSearchIndex, Protection
from caseapp.security import audit, policy
from caseapp.security.crypto import PURPOSE_PERSONNUMMER
from caseapp.security.fields import blind_indexer
from caseapp.supervision.models import EmergencyAccess
from caseapp.timeutil import utcnow

MAX_REASON = 1000
MIN_REASON = 10
MAX_CASES = 20  # cases of one person opened by one request (a person rarely has more than a few)
_REFERENCE_ALPHABET = set("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")


class EmergencyError(ValueError):
    """Refused input: `errors` maps form field names to Swedish messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


@dataclass
class Outcome:
    """What a request opened: the grants made, and cases the user could already read (no grant needed)."""

    grants: list[EmergencyAccess] = field(default_factory=list)
    already_readable: list[Case] = field(default_factory=list)

    @property
    def cases(self) -> list[uuid.UUID]:
        return [g.case_id for g in self.grants] + [c.id for c in self.already_readable]


def minutes() -> int:
    return int(current_app.config.get("EMERGENCY_ACCESS_MINUTES") or 60)


def _looks_like_reference(text: str) -> bool:
    return len(text) == 10 and text[:4].isdigit() and text[4] == "-" and set(text[5:]) <= _REFERENCE_ALPHABET


def _clean(target: Any, reason: Any) -> tuple[str, str, str]:
    """(kind, key, reason): kind "reference" (key: the reference) or "personnummer" (key: 12 digits)."""
    errors: dict[str, str] = {}
    text = (target or "").strip().upper() if isinstance(target, str) else ""
    kind = key = ""
    if not text:
        errors["target"] = str(_l("Ange ärendenummer eller personnummer."))
    elif _looks_like_reference(text):
        kind, key = "reference", text
    else:
        try:
            kind, key = "personnummer", personnummer.normalise(text)
        except personnummer.InvalidPersonnummer:
            errors["target"] = str(_l("Ange ett ärendenummer (till exempel 2026-K7Q2M) eller ett giltigt "
                                      "personnummer."))
    why = " ".join((reason or "").split()) if isinstance(reason, str) else ""
    if not why:
        errors["reason"] = str(_l("Ange skälet till nödåtkomsten. Utan skäl ges ingen åtkomst."))
    elif len(why) < MIN_REASON:
        errors["reason"] = str(_l("Beskriv skälet med minst %(n)s tecken.", n=MIN_REASON))
    elif len(why) > MAX_REASON:
        errors["reason"] = str(_l("Skälet får vara högst %(n)s tecken.", n=MAX_REASON))
    if errors:
        raise EmergencyError(errors)
    return kind, key, why


def _matching_cases(kind: str, key: str) -> list[Case]:
    if kind == "reference":
        case = db.session.scalar(select(Case).where(Case.reference == key))
        return [case] if case is not None else []
    digest = blind_indexer().compute(PURPOSE_PERSONNUMMER, key)
    candidates = db.session.scalars(select(Person).join(PersonSearchIndex, PersonSearchIndex.person_id == Person.id)
                                    .where(PersonSearchIndex.kind == "pnr", PersonSearchIndex.digest == digest))
    # The digest is truncated: confirm on the decrypted number (shredded people have none and never match).
    people = [p.id for p in candidates.unique() if not p.is_shredded and not p.reservnummer and p.identity == key]
    if not people:
        return []
    return list(db.session.scalars(select(Case).where(Case.person_id.in_(people))
                                   .order_by(Case.received_on.desc(), Case.id).limit(MAX_CASES)))


def request_access(actor: User, target: Any, reason: Any) -> Outcome:
    """Grant `actor` emergency READ access to the case(s) matching `target`, for the stated `reason`.

    Raises EmergencyError for missing or bad input (nothing written) and for no match (audited as a failed
    emergency_access, kept even though the request rolls back)."""
    policy.emergency_requester(actor)
    kind, key, why = _clean(target, reason)
    cases = _matching_cases(kind, key)
    if not cases:
        audit.record("emergency_access", actor=actor, outcome="failed", object_type="case",
                     details={"by": kind, "result": "not_found"}, persist_on_failure=True)
        raise EmergencyError({"target": str(_l("Inget ärende hittades."))})
    now = utcnow()
    expires = now + timedelta(minutes=minutes())
    outcome = Outcome()
    people: dict[uuid.UUID, Person] = {}
    for case in cases:
        if policy.READ in policy.ordinary_case_access(actor, case):
            outcome.already_readable.append(case)
            continue
        for old in db.session.scalars(select(EmergencyAccess).where(
                EmergencyAccess.user_id == actor.id, EmergencyAccess.case_id == case.id,
                EmergencyAccess.ended_at.is_(None), EmergencyAccess.expires_at > now)):
            old.ended_at = now  # superseded by the new grant (a new reason, a new time limit)
        grant = EmergencyAccess(id=uuid.uuid4(), user_id=actor.id, case_id=case.id, person_id=case.person_id,
                                granted_at=now, expires_at=expires)
        grant.reason = why
        db.session.add(grant)
        person = people.get(case.person_id) or db.session.get(Person, case.person_id)
        people[case.person_id] = person
        protected = person.protection is not Protection.NONE
        audit.record("emergency_access", actor=actor, object_type="case", object_id=case.id,
                     subject_person_id=case.person_id,
                     details={"grant": str(grant.id), "by": kind, "case_unit": str(case.unit_id),
                              "minutes": minutes(), "protected": protected})
        outcome.grants.append(grant)
    db.session.flush()
    policy.forget_emergency_access()
    return outcome


@dataclass
class Banner:
    grant_id: uuid.UUID
    user_id: uuid.UUID
    user_name: str
    expires_at: datetime
    is_viewer: bool


def active_grants(viewer: Any, case: Case) -> list[Banner]:
    """The active emergency grants on a case, for the banner on the case page (shown to whoever reads it)."""
    from caseapp.cases.presence import case_presence

    if not case_presence(case.id).active_emergency:
        return []
    now = utcnow()
    rows = db.session.execute(
        select(EmergencyAccess.id, EmergencyAccess.user_id, User.display_name, EmergencyAccess.expires_at)
        .join(User, User.id == EmergencyAccess.user_id)
        .where(EmergencyAccess.case_id == case.id, EmergencyAccess.ended_at.is_(None),
               EmergencyAccess.expires_at > now)
        .order_by(EmergencyAccess.expires_at)).all()
    viewer_id = getattr(viewer, "id", None)
    return [Banner(r[0], r[1], r[2], r[3], r[1] == viewer_id) for r in rows]


# --- attention list -------------------------------------------------------------------------------------------


def case_unit_managers(unit_ids: set[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """The active unit managers (names) of each unit: who reviews an emergency access to the unit's case."""
    managers: dict[uuid.UUID, list[str]] = {u: [] for u in unit_ids}
    if not unit_ids:
        return managers
    for unit_id, name in db.session.execute(
            select(User.unit_id, User.display_name).where(User.unit_id.in_(unit_ids), User.role == Role.ENHETSCHEF,
                                                          User.disabled_at.is_(None))
            .order_by(User.display_name)):
        managers[unit_id].append(name)
    return managers


def emergency_items(viewer: User, since: datetime) -> list[tuple[str, Any, dict[str, Any]]]:
    """Attention items for emergency accesses the viewer follows up: kind "emergency", or
    "emergency_protected" when the person has a protected identity. Each names the managers of the unit that
    owns the case as its reviewers; the reason is shown to viewers who may read the case."""
    from caseapp.security.audit import AuditEvent

    query = policy.scope_emergency_events(viewer, select(AuditEvent), since).where(
        AuditEvent.occurred_at >= since, AuditEvent.actor_user_id.is_not(None))
    events = list(db.session.scalars(query.order_by(AuditEvent.id.desc()).limit(2000)))
    grant_ids = {}
    for e in events:
        gid = e.details_dict.get("grant")
        try:
            grant_ids[e.id] = uuid.UUID(gid) if gid else None
        except (ValueError, TypeError):
            grant_ids[e.id] = None
    grants = {g.id: g for g in db.session.scalars(select(EmergencyAccess).where(
        EmergencyAccess.id.in_([g for g in grant_ids.values() if g] or [uuid.uuid4()])))}
    cases = {c.id: c for c in db.session.scalars(select(Case).where(
        Case.id.in_({g.case_id for g in grants.values()} or {uuid.uuid4()})))}
    managers = case_unit_managers({c.unit_id for c in cases.values()})
    items = []
    for e in events:
        detail: dict[str, Any] = {}
        grant = grants.get(grant_ids.get(e.id))
        case = cases.get(grant.case_id) if grant else None
        if case is not None:
            detail["reviewers"] = managers.get(case.unit_id, [])
            detail["expires_at"] = grant.expires_at
            if policy.READ in policy.case_access(viewer, case):
                detail["reason"] = grant.reason
        elif e.outcome == "failed":
            detail["not_found"] = True
        kind = "emergency_protected" if e.details_dict.get("protected") is True else "emergency"
        items.append((kind, e, detail))
    return items
