"""Protected identities and victims: the access list, the record of having informed the person, the
disclosure confirmation, victim/perpetrator links with the same-worker rule, and witnessing children.

Plain arguments (the acting user, records loaded through `policy`, data); validate, change, audit; never commit.
Who may call what is decided in `policy` (section "protected identities and victims").
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import exists, select
from sqlalchemy.orm import aliased

from caseapp.accounts.models import Role, User
from caseapp.cases.models import Case, CaseAssignment
from caseapp.cases.operations import (
    OPEN_STATES,
    CaseworkError,
    _record_person_reads,
    check_date,
    clean_text,
    people_by_id,
    today,
)
from caseapp.cases.presence import case_presence, reach_presence
from caseapp.extensions import db
from caseapp.people import operations as people_ops
from caseapp.people.models import Person, PersonSearchIndex, Protection
from caseapp.protection.models import (
    ProtectedAccess,
    ProtectionNotice,
    ViolenceLink,
    ViolenceOverride,
    WitnessChild,
)
from caseapp.security import audit, policy
from caseapp.security.crypto import PURPOSE_PERSONNUMMER
from caseapp.security.fields import blind_indexer
from caseapp.timeutil import utcnow

MAX_REASON = 2000


class ProtectionError(CaseworkError):
    """Refused input (Swedish messages per form field), handled like every casework error."""


class DisclosureNotConfirmed(ProtectionError):
    """Something about a protected person was about to leave the system without an explicit confirmation."""


# --------------------------------------------------------------------------------------- disclosure warning


def require_disclosure_confirmation(person: Person, confirmed: Any, *, field: str = "confirm_protected") -> None:
    """Call before producing a letter, referral, export or print about `person`: a protected person needs
    `confirmed` true (a checkbox the user ticked after seeing the warning), or DisclosureNotConfirmed is raised
    with a Swedish message on `field`. Unprotected people pass."""
    level = policy.disclosure_warning(person)
    if level is not None and confirmed is not True:
        raise DisclosureNotConfirmed({field: _(
            "Personen har %(level)s. Kontrollera att inga skyddade uppgifter (adress, telefon, vistelseort, "
            "kontakter) lämnas ut och bekräfta utlämnandet uttryckligen.", level=level.label)})


# ---------------------------------------------------------------------------------------------- access list


def list_staff(unit_id: Any) -> list[User]:
    """Staff of a unit who can be put on an access list (workers and the unit manager)."""
    return list(db.session.scalars(policy.assignable_workers(unit_id)))


def access_rows(person: Person, *, active_only: bool = False) -> list[ProtectedAccess]:
    query = select(ProtectedAccess).where(ProtectedAccess.person_id == person.id)
    if active_only:
        query = query.where(ProtectedAccess.revoked_at.is_(None))
    return list(db.session.scalars(query.order_by(ProtectedAccess.granted_at.desc())))


def view_access_list(actor: Any, person: Person) -> list[ProtectedAccess]:
    rows = access_rows(person)
    audit.record("view", actor=actor, object_type="protected_access", object_id=person.id,
                 subject_person_id=person.id, persist_on_failure=True)
    return rows


def _active_row(person_id: Any, user_id: Any) -> ProtectedAccess | None:
    return db.session.scalar(select(ProtectedAccess).where(
        ProtectedAccess.person_id == person_id, ProtectedAccess.user_id == user_id,
        ProtectedAccess.revoked_at.is_(None)).limit(1))


def _add_row(actor: Any, person: Person, user_id: uuid.UUID, via: str) -> ProtectedAccess | None:
    """Put a user on the list (nothing if already there)."""
    if _active_row(person.id, user_id) is not None:
        return None
    row = ProtectedAccess(id=uuid.uuid4(), person_id=person.id, user_id=user_id, via=via, granted_at=utcnow(),
                          granted_by=getattr(actor, "id", None))
    db.session.add(row)
    db.session.flush()
    policy.forget_case_access()
    audit.record("update", actor=actor, object_type="protected_access", object_id=row.id,
                 subject_person_id=person.id, details={"grant": str(user_id), "via": via})
    return row


def grant_access(actor: Any, person: Person, user_id: Any) -> ProtectedAccess:
    """The unit manager puts a colleague of the unit on the person's access list."""
    try:
        uid = uuid.UUID(str(user_id))
    except ValueError:
        raise ProtectionError({"user_id": _("Välj en medarbetare.")}) from None
    user = db.session.scalar(policy.assignable_workers(actor.unit_id).where(User.id == uid))
    if user is None:
        raise ProtectionError({"user_id": _("Välj en medarbetare i enheten.")})
    if _active_row(person.id, user.id) is not None:
        raise ProtectionError({"user_id": _("%(name)s finns redan på listan.", name=user.display_name)})
    return _add_row(actor, person, user.id, "manual")


def revoke_access(actor: Any, person: Person, access_id: Any) -> None:
    """End a user's access (the row stays as history). Refused while the user is assigned to one of the
    person's cases: the assignment is ended first."""
    row = next((r for r in access_rows(person, active_only=True) if str(r.id) == str(access_id)), None)
    if row is None:
        policy.deny(actor, permission="protection.manage", object_type="protected_access", object_id=access_id,
                    subject_person_id=person.id, status=404)
    assigned = db.session.scalar(select(CaseAssignment.id).join(Case, Case.id == CaseAssignment.case_id).where(
        Case.person_id == person.id, CaseAssignment.user_id == row.user_id, CaseAssignment.ended_at.is_(None))
        .limit(1))
    if assigned is not None:
        raise ProtectionError(_("Medarbetaren är tilldelad ett av personens ärenden. Avsluta tilldelningen först."))
    row.revoked_at = utcnow()
    row.revoked_by = actor.id
    policy.forget_case_access()
    audit.record("update", actor=actor, object_type="protected_access", object_id=row.id,
                 subject_person_id=person.id, details={"revoke": str(row.user_id)})


def after_person_saved(actor: Any, person: Person, previous: Protection | None) -> None:
    """Hook of people.operations (register, update): when a person becomes protected, the acting user and the
    workers assigned to the person's cases are put on the list, so that nobody working with the person loses
    the file; the unit manager reviews the list afterwards."""
    if person.protection == Protection.NONE or (previous is not None and previous != Protection.NONE):
        return
    via = "registration" if previous is None else "protection"
    db.session.flush()  # the person's row first: the unit of work does not order these tables by foreign key
    users = {actor.id} if getattr(actor, "id", None) is not None and actor.role is not Role.ENHETSCHEF else set()
    users |= set(db.session.scalars(select(CaseAssignment.user_id).join(Case, Case.id == CaseAssignment.case_id)
                                    .where(Case.person_id == person.id, CaseAssignment.ended_at.is_(None))))
    for uid in sorted(users, key=str):
        _add_row(actor, person, uid, via)


# ------------------------------------------------------------------------------------ informed of handling


def latest_notice(person: Person) -> ProtectionNotice | None:
    return db.session.scalar(select(ProtectionNotice).where(ProtectionNotice.person_id == person.id)
                             .order_by(ProtectionNotice.informed_on.desc(), ProtectionNotice.recorded_at.desc())
                             .limit(1))


def record_notice(actor: Any, person: Person, informed_on: Any, informed_by: Any) -> ProtectionNotice:
    errors: dict[str, str] = {}
    on = check_date(informed_on, "informed_on", errors, past_only=True)
    try:
        uid = uuid.UUID(str(informed_by))
    except ValueError:
        uid = None
    staff = db.session.scalar(policy.assignable_workers(actor.unit_id).where(User.id == uid)) if uid else None
    if staff is None:
        errors["informed_by"] = _("Välj vem som informerade personen.")
    if errors:
        raise ProtectionError(errors)
    notice = ProtectionNotice(id=uuid.uuid4(), person_id=person.id, informed_on=on, informed_by=staff.id,
                              recorded_at=utcnow(), recorded_by=actor.id)
    db.session.add(notice)
    audit.record("update", actor=actor, object_type="protection_notice", object_id=notice.id,
                 subject_person_id=person.id, details={"informed_by": str(staff.id)})
    return notice


# ------------------------------------------------------------------------------------- victim and perpetrator


def _active_links_as_victim(case: Case) -> list[ViolenceLink]:
    return list(db.session.scalars(select(ViolenceLink).where(ViolenceLink.victim_case_id == case.id,
                                                              ViolenceLink.ended_at.is_(None))))


def _active_links_as_perpetrator(case: Case) -> list[ViolenceLink]:
    return list(db.session.scalars(select(ViolenceLink).where(ViolenceLink.perpetrator_person_id == case.person_id,
                                                              ViolenceLink.ended_at.is_(None))))


def _assigned_to_person(user_id: Any, person_id: Any) -> bool:
    return db.session.scalar(select(CaseAssignment.id).join(Case, Case.id == CaseAssignment.case_id).where(
        Case.person_id == person_id, CaseAssignment.user_id == user_id, CaseAssignment.ended_at.is_(None))
        .limit(1)) is not None


def _assigned_to_case(user_id: Any, case_id: Any) -> bool:
    return db.session.scalar(select(CaseAssignment.id).where(
        CaseAssignment.case_id == case_id, CaseAssignment.user_id == user_id, CaseAssignment.ended_at.is_(None))
        .limit(1)) is not None


def _has_override(link: ViolenceLink, user_id: Any) -> bool:
    return db.session.scalar(select(ViolenceOverride.id).where(ViolenceOverride.link_id == link.id,
                                                               ViolenceOverride.user_id == user_id)
                             .limit(1)) is not None


def conflicts(case: Case, worker_id: Any) -> list[ViolenceLink]:
    """Links that `worker_id` would sit on both sides of if assigned to `case` (without an override)."""
    found = [link for link in _active_links_as_victim(case) if _assigned_to_person(worker_id, link.perpetrator_person_id)]
    found += [link for link in _active_links_as_perpetrator(case) if _assigned_to_case(worker_id, link.victim_case_id)]
    return [link for link in found if not _has_override(link, worker_id)]


def _clean_reason(reason: Any, errors: dict[str, str]) -> str | None:
    return clean_text(reason, "override_reason", errors, max_len=MAX_REASON, required=True,
                      required_message=_("Motivera undantaget."))


def _record_override(actor: Any, link: ViolenceLink, worker_id: Any, reason: str) -> ViolenceOverride:
    override = ViolenceOverride(id=uuid.uuid4(), link_id=link.id, person_id=link.victim_person_id,
                                user_id=worker_id, granted_at=utcnow(), granted_by=actor.id)
    override.reason = reason
    db.session.add(override)
    audit.record("update", actor=actor, object_type="violence_link", object_id=link.id,
                 subject_person_id=link.victim_person_id, details={"override": str(worker_id)})
    return override


def _conflict_message() -> str:
    return _("Medarbetaren kan inte tilldelas ärendet: det skulle ge samma handläggare på båda sidor i ett "
             "ärende om våld i nära relation. Enhetschefen för den våldsutsattas enhet kan göra ett undantag "
             "med en motivering.")


def prepare_assignment(actor: Any, case: Case, worker: User, override_reason: Any = None) -> None:
    """Hook of cases.operations.assign, after its own checks: refuse a worker on both sides of a victim/
    perpetrator link unless the victim unit's enhetschef gives an override with a reason (recorded, encrypted,
    audited); and put the worker on the access list of a protected person."""
    found = conflicts(case, worker.id)
    if found:
        victim_cases = {link.id: db.session.get(Case, link.victim_case_id) for link in found}
        if override_reason in (None, "") or not all(policy.may_override_conflict(actor, c)
                                                    for c in victim_cases.values()):
            raise ProtectionError({"worker": _conflict_message()})
        errors: dict[str, str] = {}
        reason = _clean_reason(override_reason, errors)
        if errors:
            raise ProtectionError(errors)
        for link in found:
            _record_override(actor, link, worker.id, reason)
    person = db.session.get(Person, case.person_id)
    if policy.disclosure_warning(person) is not None and worker.role is not Role.ENHETSCHEF:
        _add_row(actor, person, worker.id, "assignment")


def _person_by_identity_anywhere(identity: str) -> Person | None:
    """The registered person with this personnummer, whatever unit: only its id is used (the link), nothing
    of the file is shown to a user who may not see it."""
    digits = people_ops.personnummer.normalise(identity)
    digest = blind_indexer().compute(PURPOSE_PERSONNUMMER, digits)
    for person in db.session.scalars(select(Person).join(PersonSearchIndex, PersonSearchIndex.person_id == Person.id)
                                     .where(PersonSearchIndex.kind == people_ops.KIND_PNR,
                                            PersonSearchIndex.digest == digest)):
        if not person.is_shredded and person.identity == digits:
            return person
    return None


@dataclass
class LinkData:
    perpetrator_identity: Any
    perpetrator_reference: Any = None
    override_reason: Any = None


def create_link(actor: Any, victim_case: Case, data: LinkData) -> ViolenceLink:
    errors: dict[str, str] = {}
    perpetrator = None
    text = clean_text(data.perpetrator_identity, "perpetrator_identity", errors, max_len=40, required=True,
                      multiline=False, required_message=_("Ange personnumret för den som utövar våldet."))
    if text is not None:
        try:
            perpetrator = _person_by_identity_anywhere(text)
        except people_ops.personnummer.InvalidPersonnummer as exc:
            errors["perpetrator_identity"] = people_ops.pnr_message(exc)
        else:
            if perpetrator is None:
                errors["perpetrator_identity"] = _("Ingen person med det numret är registrerad. Registrera "
                                                   "personen först.")
            elif perpetrator.id == victim_case.person_id:
                errors["perpetrator_identity"] = _("Den våldsutsatta kan inte vara förövare i sitt eget ärende.")
                perpetrator = None
    perpetrator_case = None
    ref = clean_text(data.perpetrator_reference, "perpetrator_reference", errors, max_len=16, multiline=False)
    if ref and perpetrator is not None:
        perpetrator_case = db.session.scalar(select(Case).where(Case.reference == ref.strip().upper(),
                                                                Case.person_id == perpetrator.id))
        if perpetrator_case is None:
            errors["perpetrator_reference"] = _("Personen har inget ärende med det numret.")
    if perpetrator is not None and not errors and db.session.scalar(select(ViolenceLink.id).where(
            ViolenceLink.victim_case_id == victim_case.id, ViolenceLink.perpetrator_person_id == perpetrator.id,
            ViolenceLink.ended_at.is_(None))):
        errors["perpetrator_identity"] = _("Kopplingen finns redan.")
    if errors:
        raise ProtectionError(errors)
    # The same worker on both sides: refused unless the victim unit's manager overrides with a reason.
    victim_workers = set(db.session.scalars(select(CaseAssignment.user_id).where(
        CaseAssignment.case_id == victim_case.id, CaseAssignment.ended_at.is_(None))))
    both = sorted((w for w in victim_workers if _assigned_to_person(w, perpetrator.id)), key=str)
    reason = None
    if both:
        if data.override_reason in (None, "") or not policy.may_override_conflict(actor, victim_case):
            raise ProtectionError({"perpetrator_identity": _conflict_message()})
        reason = _clean_reason(data.override_reason, errors)
        if errors:
            raise ProtectionError(errors)
    link = ViolenceLink(id=uuid.uuid4(), victim_case_id=victim_case.id, victim_person_id=victim_case.person_id,
                        perpetrator_person_id=perpetrator.id,
                        perpetrator_case_id=perpetrator_case.id if perpetrator_case else None,
                        created_at=utcnow(), created_by=actor.id)
    db.session.add(link)
    db.session.flush()
    # The event names only the victim: the perpetrator's file would otherwise show who linked to them.
    audit.record("create", actor=actor, object_type="violence_link", object_id=link.id,
                 subject_person_id=victim_case.person_id, details={"case": str(victim_case.id)})
    for worker in both:
        _record_override(actor, link, worker, reason)
    return link


def end_link(actor: Any, link: ViolenceLink) -> None:
    if link.ended_at is not None:
        raise ProtectionError(_("Kopplingen är redan avslutad."))
    link.ended_at = utcnow()
    link.ended_by = actor.id
    audit.record("update", actor=actor, object_type="violence_link", object_id=link.id,
                 subject_person_id=link.victim_person_id, details={"ended": True})


@dataclass
class LinkRow:
    link: ViolenceLink
    perpetrator: Person | None  # None: the viewer may not see the perpetrator's file
    perpetrator_case: Case | None  # only when the viewer may read it
    reference: str | None  # the perpetrator case's number (typed in by the victim's side)
    overrides: list[ViolenceOverride]


def links_for(actor: Any, victim_case: Case) -> list[LinkRow]:
    links = list(db.session.scalars(select(ViolenceLink).where(ViolenceLink.victim_case_id == victim_case.id,
                                                               ViolenceLink.ended_at.is_(None))
                                    .order_by(ViolenceLink.created_at))) \
        if case_presence(victim_case.id).victim_links else []
    rows = []
    for link in links:
        person = db.session.get(Person, link.perpetrator_person_id)
        visible = person if person is not None and policy.can_see_person(actor, person) else None
        pcase = db.session.get(Case, link.perpetrator_case_id) if link.perpetrator_case_id else None
        readable = pcase if pcase is not None and "read" in policy.case_access(actor, pcase) else None
        overrides = list(db.session.scalars(select(ViolenceOverride).where(ViolenceOverride.link_id == link.id)))
        rows.append(LinkRow(link, visible, readable, pcase.reference if pcase else None, overrides))
    _record_person_reads(actor, [r.perpetrator.id for r in rows if r.perpetrator is not None], "violence_links")
    audit.record("view", actor=actor, object_type="violence_link", object_id=victim_case.id,
                 subject_person_id=victim_case.person_id, details={"links": len(rows)}, persist_on_failure=True)
    return rows


# ----------------------------------------------------------------------------------------- witness children


@dataclass
class ChildData:
    identity: Any
    given_name: Any = None
    family_name: Any = None
    protection: Any = None


def add_witness_child(actor: Any, victim_case: Case, data: ChildData) -> WitnessChild:
    """Link a child of the household who witnessed the violence to the victim's case: the child as a person of
    their own (found among the people the actor may see, or registered through the people operations, by
    default with the victim's protection level)."""
    errors: dict[str, str] = {}
    text = clean_text(data.identity, "identity", errors, max_len=40, required=True, multiline=False,
                      required_message=_("Ange barnets personnummer."))
    child = None
    if text is not None:
        try:
            hits = people_ops.search_by_identity(actor, text)
        except people_ops.PersonError as err:
            errors["identity"] = next(iter(err.errors.values()))
            hits = []
        child = hits[0] if hits else None
    if errors:
        raise ProtectionError(errors)
    if child is None:
        try:
            info = people_ops.personnummer.parse(text)
        except people_ops.personnummer.InvalidPersonnummer:
            info = None  # the registration below reports the number's error
        if info is not None and not info.is_child(today()):
            raise ProtectionError({"identity": _("Personen är inte ett barn.")})
        victim = db.session.get(Person, victim_case.person_id)
        level = data.protection or victim.protection
        try:
            child = people_ops.register_person(actor, people_ops.PersonData(
                given_name=data.given_name, family_name=data.family_name, identity=text, protection=level),
                unit_id=victim_case.unit_id, confirm_duplicate=True)
        except people_ops.PersonError as err:
            raise ProtectionError(err.errors) from None
        db.session.flush()
    info = child.identity_info
    if info is not None and not info.is_child(today()):
        raise ProtectionError({"identity": _("Personen är inte ett barn.")})
    if child.id == victim_case.person_id or db.session.scalar(select(WitnessChild.id).where(
            WitnessChild.victim_case_id == victim_case.id, WitnessChild.child_person_id == child.id)):
        raise ProtectionError({"identity": _("Barnet är redan kopplat till ärendet.")})
    row = WitnessChild(id=uuid.uuid4(), victim_case_id=victim_case.id, child_person_id=child.id,
                       created_at=utcnow(), created_by=actor.id)
    db.session.add(row)
    audit.record("create", actor=actor, object_type="witness_child", object_id=row.id,
                 subject_person_id=victim_case.person_id, details={"child": str(child.id)})
    audit.record("create", actor=actor, object_type="witness_child", object_id=row.id,
                 subject_person_id=child.id, details={"case": str(victim_case.id)})
    return row


_OWN_CASE = aliased(Case)  # never correlated with the victim's case of an enclosing query; built once


def _open_case_exists(person_id_column):
    own = _OWN_CASE
    return exists(select(own.id).where(own.person_id == person_id_column, own.state.in_(OPEN_STATES)))


@dataclass
class ChildRow:
    witness: WitnessChild
    child: Person | None  # None: the viewer may not see the child's file
    has_open_case: bool


def witness_children(actor: Any, victim_case: Case) -> list[ChildRow]:
    if not case_presence(victim_case.id).witness_children:
        return []
    rows = list(db.session.execute(select(WitnessChild, _open_case_exists(WitnessChild.child_person_id))
                                   .where(WitnessChild.victim_case_id == victim_case.id)
                                   .order_by(WitnessChild.created_at)))
    people = people_by_id(w.child_person_id for w, _o in rows)
    result = []
    for w, has_open in rows:
        child = people.get(w.child_person_id)
        if child is not None and not policy.can_see_person(actor, child):
            child = None
        result.append(ChildRow(w, child, bool(has_open)))
    for row in result:
        if row.child is not None:
            audit.record("list", actor=actor, object_type="person", object_id=row.child.id,
                         subject_person_id=row.child.id, details={"page": "witness_children"},
                         persist_on_failure=True)
    return result


def children_without_case(actor: Any, limit: int = 10) -> list[tuple[WitnessChild, Case]]:
    """For the start page: children linked to victim cases the actor works on (assigned; the unit manager:
    the unit's) that have no open case of their own. One query."""
    if not policy.has_permission(actor, "case.read"):
        return []
    # Cheap first: where no child is linked to any case in the actor's reach (their unit and emergency grants, a
    # superset of the cases below), which is most units, no scan of the actor's cases (cases.presence).
    if not reach_presence(actor).linked_children:
        return []
    mine = policy.readable_cases_clause(actor) if actor.role is Role.ENHETSCHEF else \
        policy.assigned_cases_clause(actor)
    query = (select(WitnessChild, Case).join(Case, Case.id == WitnessChild.victim_case_id)
             .where(mine, Case.state.in_(OPEN_STATES), ~_open_case_exists(WitnessChild.child_person_id))
             .order_by(WitnessChild.created_at).limit(limit))
    return [(w, c) for w, c in db.session.execute(query)]
