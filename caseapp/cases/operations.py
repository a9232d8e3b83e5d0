"""Casework operations: open a case, move it through the workflow, assign workers, write and sign the journal,
correct and object, decide, run interventions and groups, relate people, search, and build the start page.

Plain arguments in (the acting user, the records loaded through `policy`, the data). Each operation validates,
changes the records and records its audit event with the person as subject. Nothing here commits: the request
or the CLI job does, once. Errors are `CaseworkError` with Swedish messages per form field; an operation
validates everything before it changes anything, so a refused request writes nothing.
"""

from __future__ import annotations

import secrets
import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, func, literal, or_, select, true, union_all

from caseapp.accounts.models import Role, User
from caseapp.cases import workflow
from caseapp.cases.catalogue import (
    INTERVENTION_SEED,
    LEGAL_BASIS_BY_CODE,
    NEEDS_APPROVAL,
    ConsentGiver,
    DecisionKind,
    DecisionStatus,
    EntryType,
    InterventionStatus,
    RelationKind,
    legal_bases_for,
)
from caseapp.cases.models import (
    Case,
    CaseAssignment,
    CaseTransition,
    Decision,
    Group,
    GroupAttendance,
    GroupMember,
    GroupSession,
    Intervention,
    InterventionConsent,
    InterventionFollowUp,
    InterventionType,
    JournalEntry,
    JournalObjection,
    PersonRelation,
)
from caseapp.cases.presence import active_assignments as _active_assignments
from caseapp.cases.presence import case_presence, known_staff_names, reach_presence, remember_staff_names
from caseapp.cases.workflow import CaseDates, CaseFacts, FocusArea, Intake, State, WorkflowError
from caseapp.dbtypes import in_constants, in_uuid_list
from caseapp.extensions import db, execute_rows
from caseapp.people.models import Person
from caseapp.security import audit, policy
from caseapp.timeutil import to_local, utcnow

MAX_JOURNAL = 20000
MAX_TEXT = 4000
MAX_REASON = 2000
MAX_NAME = 120
MAX_LINE = 200
LIST_SIZE = 50
START_ITEMS = 8
JOURNAL_PAGE = 20
OLDEST_YEARS = 10  # how far back a date may lie (older is a typing error)
FOLLOW_UP_HORIZON = 14  # days ahead the start page shows follow-ups
OPEN_STATES = [s for s in workflow.ORDER if s is not State.AVSLUTAD]


class CaseworkError(ValueError):
    """Refused input: `errors` maps form field names ("" for the whole form) to Swedish messages."""

    def __init__(self, errors: dict[str, str] | str) -> None:
        self.errors = {"": errors} if isinstance(errors, str) else errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


def today() -> date:
    """Today in Stockholm."""
    return to_local(utcnow()).date()


# ------------------------------------------------------------------------------------------------ validation


def clean_text(value: Any, name: str, errors: dict[str, str], *, max_len: int, required: bool = False,
               multiline: bool = True, required_message: str | None = None) -> str | None:
    """Trimmed text, or None; records a Swedish message in `errors` for anything refused."""
    if value is not None and not isinstance(value, str):
        errors[name] = _("Ogiltigt värde.")
        return None
    value = (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not value:
        if required:
            errors[name] = required_message or _("Fältet måste fyllas i.")
        return None
    allowed = {"\n", "\t"} if multiline else set()
    if any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in allowed for ch in value):
        errors[name] = _("Texten innehåller otillåtna tecken.")
        return None
    if len(value) > max_len:
        errors[name] = _("Högst %(max)d tecken (du skrev %(length)d).", max=max_len, length=len(value))
        return None
    return value


def check_date(value: Any, name: str, errors: dict[str, str], *, required: bool = True, past_only: bool = False,
               not_before: date | None = None, not_before_message: str | None = None,
               future_years: int = 2) -> date | None:
    if value is None:
        if required:
            errors[name] = _("Ange ett datum.")
        return None
    if not isinstance(value, date):
        errors[name] = _("Ange ett giltigt datum (ÅÅÅÅ-MM-DD).")
        return None
    now = today()
    if past_only and value > now:
        errors[name] = _("Datumet kan inte ligga i framtiden.")
        return None
    if value > now + timedelta(days=366 * future_years):
        errors[name] = _("Datumet ligger för långt fram i tiden.")
        return None
    if value < now.replace(year=now.year - OLDEST_YEARS):
        errors[name] = _("Datumet ligger för långt tillbaka i tiden.")
        return None
    if not_before is not None and value < not_before:
        errors[name] = not_before_message or _("Datumet ligger för tidigt.")
        return None
    return value


def _enum_value(cls, value: Any, name: str, errors: dict[str, str], message: str):
    try:
        return cls(value)
    except (ValueError, TypeError):
        errors[name] = message
        return None


def _raise(errors: dict[str, str]) -> None:
    if errors:
        raise CaseworkError(errors)


# -------------------------------------------------------------------------------------------------- helpers


def _now():
    return utcnow()


def _with_type_and_person(soonest):
    """The start page's soonest follow-ups (`soonest`, already limited) with their intervention type and person
    (with the person's key row). Joined after the LIMIT: SQLite sorts after its joins, so joined inside it read
    the person and the three key columns of every open follow-up in the horizon (0.55 against 0.15 ms)."""
    f = soonest.subquery("soonest")
    return (select(f.c.due_on, f.c.intervention_id, f.c.person_id, InterventionType, Person)
            .join(InterventionType, InterventionType.id == f.c.type_id)
            .outerjoin(Person, Person.id == f.c.person_id)
            .order_by(f.c.due_on, f.c.follow_up_id))


@cache
def _stmt(name: str):
    """The case page's read statements, built once with bound parameters: building a select (coercing every
    clause) costs more than running it from SQLAlchemy's compiled cache. Same SQL as writing them inline."""
    if name == "people":
        return select(Person).where(in_uuid_list(Person.id, "ids"))
    if name == "staff_names":
        return select(User.id, User.display_name).where(in_uuid_list(User.id, "ids"))
    if name == "transitions":  # (with the name of who made each: see staff_names)
        return (select(CaseTransition, User.display_name).outerjoin(User, User.id == CaseTransition.by)
                .where(CaseTransition.case_id == bindparam("case_id"))
                .order_by(CaseTransition.at, CaseTransition.id))
    if name == "start_follow_ups_lateral":  # (PostgreSQL: see _start_follow_ups_statement)
        due = (select(InterventionFollowUp.id, InterventionFollowUp.due_on)
               .where(InterventionFollowUp.intervention_id == Intervention.id,
                      InterventionFollowUp.done_on.is_(None), InterventionFollowUp.due_on <= bindparam("until"))
               .order_by(InterventionFollowUp.due_on, InterventionFollowUp.id).limit(START_ITEMS)
               .lateral("due"))
        return _with_type_and_person(
            select(due.c.due_on, due.c.id.label("follow_up_id"), Intervention.id.label("intervention_id"),
                   Intervention.person_id, Intervention.type_id)
            .select_from(Intervention).join(due, true())
            .where(Intervention.responsible_id == bindparam("actor_id"),
                   Intervention.status != InterventionStatus.ENDED)
            .order_by(due.c.due_on, due.c.id).limit(START_ITEMS))
    if name == "start_follow_ups":  # the start page's follow-ups: the columns the panel shows, the type, the person
        return _with_type_and_person(
            select(InterventionFollowUp.due_on, InterventionFollowUp.id.label("follow_up_id"),
                   Intervention.id.label("intervention_id"), Intervention.person_id, Intervention.type_id)
            .join(Intervention, Intervention.id == InterventionFollowUp.intervention_id)
            .where(Intervention.responsible_id == bindparam("actor_id"),
                   Intervention.status != InterventionStatus.ENDED, InterventionFollowUp.done_on.is_(None),
                   InterventionFollowUp.due_on <= bindparam("until"))
            .order_by(InterventionFollowUp.due_on, InterventionFollowUp.id).limit(START_ITEMS))
    if name == "start_drafts":  # the worker's drafts, each with its case (the panel shows its reference)
        return (select(JournalEntry, Case).outerjoin(Case, Case.id == JournalEntry.case_id)
                .where(JournalEntry.author_id == bindparam("actor_id"), JournalEntry.signed_at.is_(None))
                .order_by(JournalEntry.updated_at.desc()).limit(START_ITEMS))
    if name == "decisions":
        return select(Decision).where(Decision.case_id == bindparam("case_id")).order_by(Decision.proposed_at.desc())
    if name == "interventions":
        return (select(Intervention).where(Intervention.case_id == bindparam("case_id"))
                .order_by(Intervention.start_on.desc()))
    if name == "journal":  # (with each writer's name: see staff_names)
        return (select(JournalEntry, User.display_name).outerjoin(User, User.id == JournalEntry.author_id)
                .where(JournalEntry.case_id == bindparam("case_id"),
                       or_(JournalEntry.signed_at.is_not(None), JournalEntry.author_id == bindparam("actor_id")))
                .order_by(JournalEntry.event_date.desc(), JournalEntry.written_at.desc(), JournalEntry.id.desc())
                .offset(bindparam("offset")).limit(bindparam("limit")))
    if name == "corrections":
        return select(JournalEntry).where(JournalEntry.case_id.in_(bindparam("case_ids", expanding=True)),
                                          JournalEntry.corrects_id.in_(bindparam("ids", expanding=True)))
    if name == "objections":
        return (select(JournalObjection).where(JournalObjection.entry_id.in_(bindparam("ids", expanding=True)))
                .order_by(JournalObjection.recorded_at))
    raise KeyError(name)


def _record_person_reads(actor: Any, person_ids: Iterable[uuid.UUID], page: str) -> None:
    """Lists show names: one "list" event naming every person shown that this request has not recorded yet
    (`audit.record(subjects=...)`: one chained row for a page of 16 people instead of 16)."""
    audit.record_list(actor, person_ids, details={"page": page}, persist_on_failure=True,
                      once_per_request="casework_listed")


def people_by_id(ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Person]:
    """People with their key rows in one query (decrypting their names then needs no further query)."""
    wanted = list({i for i in ids if i is not None})
    if not wanted:
        return {}
    return {p.id: p for p in db.session.scalars(_stmt("people"), {"ids": wanted}).unique()}  # (one bound list)


def staff_names(ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    """Display names of the staff `ids`. Names this request already read with other rows (presence.
    known_staff_names: the case page's assignments, transitions and journal entries) are not asked again."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    known = known_staff_names()
    missing = wanted - known.keys()
    if missing:
        found = execute_rows(_stmt("staff_names"), {"ids": list(missing)}).all()
        remember_staff_names(found)
        known = {**known, **dict(found)}
    return {i: known[i] for i in wanted if i in known}


def facts(case: Case) -> CaseFacts:
    return CaseFacts(case.focus, case.intake, case.child)


def case_dates(case: Case) -> CaseDates:
    return CaseDates(received=case.received_on, skyddsbedomning_done=case.skyddsbedomning_done_on,
                     forhandsbedomning_done=case.forhandsbedomning_done_on,
                     utredning_started=case.utredning_started_on, utredning_done=case.utredning_done_on,
                     utredning_extended_to=case.utredning_extended_to)


def _set_dates(case: Case, dates: CaseDates) -> None:
    case.skyddsbedomning_done_on = dates.skyddsbedomning_done
    case.forhandsbedomning_done_on = dates.forhandsbedomning_done
    case.utredning_started_on = dates.utredning_started
    case.utredning_done_on = dates.utredning_done
    case.utredning_extended_to = dates.utredning_extended_to


def deadlines(case: Case) -> list[workflow.Deadline]:
    return case_dates(case).deadlines(facts(case)) if case.is_open else []


def _refresh_due(case: Case) -> None:
    case.next_due_on = workflow.next_due(deadlines(case))
    case.updated_at = _now()


def _is_child_on(person: Person, on: date) -> bool | None:
    info = person.identity_info
    return info.is_child(on) if info is not None else None


def is_child_now(person: Person) -> bool | None:
    return _is_child_on(person, today())


_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _new_reference(year: int) -> str:
    """A case reference such as 2026-K7Q2M: short enough to say on the phone, unguessable, unique."""
    for _attempt in range(20):
        ref = f"{year}-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(5))
        if db.session.scalar(select(Case.id).where(Case.reference == ref)) is None:
            return ref
    raise RuntimeError("could not draw a free case reference")  # 32^5 per year: practically unreachable


# ------------------------------------------------------------------------------------------------- cases


@dataclass
class NewCase:
    focus: Any = None
    intake: Any = None
    received_on: Any = None
    summary: Any = None
    child: bool | None = None  # only for a person without a valid personnummer (reservnummer)


def open_case(actor: Any, person: Person, data: NewCase, *, unit_id: uuid.UUID) -> Case:
    errors: dict[str, str] = {}
    focus = _enum_value(FocusArea, data.focus, "focus", errors, _("Välj ett fokusområde."))
    intake = _enum_value(Intake, data.intake, "intake", errors, _("Välj hur ärendet kom in."))
    received = check_date(data.received_on, "received_on", errors, past_only=True)
    summary = clean_text(data.summary, "summary", errors, max_len=MAX_TEXT, required=True,
                         required_message=_("Beskriv kort vad ärendet gäller."))
    if person.is_shredded:
        errors[""] = _("Personens uppgifter är gallrade; inget nytt ärende kan öppnas.")
    _raise(errors)
    child = _is_child_on(person, received)
    if child is None:
        child = bool(data.child)
    now = _now()
    case = Case(id=uuid.uuid4(), reference=_new_reference(received.year), person_id=person.id, unit_id=unit_id,
                focus=focus, intake=intake, state=State.AKTUALISERING, child=child, received_on=received,
                created_at=now, created_by=actor.id, updated_at=now)
    case.summary = summary
    db.session.add(case)
    transition = CaseTransition(id=uuid.uuid4(), case_id=case.id, person_id=person.id, from_state=None,
                                to_state=State.AKTUALISERING, at=now, by=actor.id)
    db.session.add(transition)
    if actor.role in policy.CASE_WORKER_ROLES:
        db.session.add(CaseAssignment(id=uuid.uuid4(), case_id=case.id, user_id=actor.id, responsible=True,
                                      assigned_at=now, assigned_by=actor.id))
        case.responsible_id = actor.id
    _refresh_due(case)
    audit.record("create", actor=actor, object_type="case", object_id=case.id, subject_person_id=person.id,
                 details={"focus": focus.value, "intake": intake.value, "child": child})
    return case


# Reads are recorded with persist_on_failure: a page re-rendered with 422 (refused input) rolls back, but what it
# showed was read all the same.


def view_case(actor: Any, case: Case, page: str = "case") -> None:
    audit.record("view", actor=actor, object_type="case", object_id=case.id, subject_person_id=case.person_id,
                 details={"page": page}, persist_on_failure=True)


def view_case_person(actor: Any, person: Person, page: str) -> None:
    audit.record("view", actor=actor, object_type="person", object_id=person.id, subject_person_id=person.id,
                 details={"page": page}, persist_on_failure=True)


def transition(actor: Any, case: Case, target: Any, reason: Any) -> CaseTransition:
    errors: dict[str, str] = {}
    target_state = _enum_value(State, target, "target", errors, _("Välj nästa steg."))
    reason_text = clean_text(reason, "reason", errors, max_len=MAX_REASON)
    _raise(errors)
    try:
        workflow.check_transition(facts(case), case.state, target_state, reason_text)
    except WorkflowError as err:
        field_name = "reason" if workflow.needs_reason(case.state, target_state) and not reason_text else "target"
        raise CaseworkError({field_name: str(err)}) from None
    now = _now()
    previous = case.state
    _set_dates(case, workflow.transition_dates(case_dates(case), previous, target_state, today()))
    case.state = target_state
    case.closed_at = now if target_state is State.AVSLUTAD else None
    step = CaseTransition(id=uuid.uuid4(), case_id=case.id, person_id=case.person_id, from_state=previous,
                          to_state=target_state, at=now, by=actor.id)
    step.reason = reason_text
    db.session.add(step)
    _refresh_due(case)
    audit.record("update", actor=actor, object_type="case", object_id=case.id, subject_person_id=case.person_id,
                 details={"transition": f"{previous.value}:{target_state.value}"})
    return step


def record_skyddsbedomning(actor: Any, case: Case, done_on: Any) -> None:
    errors: dict[str, str] = {}
    if not (case.child and workflow.is_report(case.intake)):
        errors[""] = _("Skyddsbedömning registreras för anmälningar om barn.")
    elif case.skyddsbedomning_done_on is not None:
        errors[""] = _("Skyddsbedömningen är redan registrerad.")
    done = check_date(done_on, "done_on", errors, past_only=True, not_before=case.received_on,
                      not_before_message=_("Skyddsbedömningen kan inte vara gjord före aktualiseringen."))
    _raise(errors)
    case.skyddsbedomning_done_on = done
    _refresh_due(case)
    audit.record("update", actor=actor, object_type="case", object_id=case.id, subject_person_id=case.person_id,
                 details={"skyddsbedomning": done.isoformat()})


def transitions(case: Case) -> list[CaseTransition]:
    rows = db.session.execute(_stmt("transitions"), {"case_id": case.id}).all()
    remember_staff_names((step.by, name) for step, name in rows)
    return [step for step, _name in rows]


def active_assignments(case: Case) -> list[CaseAssignment]:
    return list(_active_assignments(case.id))


def assign(actor: Any, case: Case, worker_id: Any, *, responsible: bool = False,
           override_reason: Any = None) -> CaseAssignment:
    try:
        wid = uuid.UUID(str(worker_id))
    except ValueError:
        raise CaseworkError({"worker": _("Välj en medarbetare.")}) from None
    worker = db.session.scalar(policy.assignable_workers(case.unit_id).where(User.id == wid))
    if worker is None:
        raise CaseworkError({"worker": _("Välj en medarbetare i enheten.")})
    current = active_assignments(case)
    if any(a.user_id == worker.id for a in current):
        raise CaseworkError({"worker": _("%(name)s är redan tilldelad ärendet.", name=worker.display_name)})
    from caseapp.protection.operations import prepare_assignment  # victim/perpetrator rule, access list

    prepare_assignment(actor, case, worker, override_reason)
    now = _now()
    if responsible or case.responsible_id is None:
        responsible = True
        for a in current:
            a.responsible = False
        case.responsible_id = worker.id
    assignment = CaseAssignment(id=uuid.uuid4(), case_id=case.id, user_id=worker.id, responsible=responsible,
                                assigned_at=now, assigned_by=actor.id)
    db.session.add(assignment)
    policy.forget_case_access()
    case.updated_at = now
    audit.record("update", actor=actor, object_type="case", object_id=case.id, subject_person_id=case.person_id,
                 details={"assign": str(worker.id), "responsible": responsible})
    return assignment


def unassign(actor: Any, case: Case, assignment_id: Any) -> None:
    assignment = next((a for a in active_assignments(case) if str(a.id) == str(assignment_id)), None)
    if assignment is None:
        policy.deny(actor, permission="case.assign", object_type="case_assignment", object_id=assignment_id,
                    subject_person_id=case.person_id, status=404)
    now = _now()
    assignment.ended_at = now
    assignment.ended_by = actor.id
    policy.forget_case_access()
    if assignment.responsible:
        assignment.responsible = False
        rest = [a for a in active_assignments(case) if a.id != assignment.id]
        case.responsible_id = rest[0].user_id if rest else None
        if rest:
            rest[0].responsible = True
    case.updated_at = now
    audit.record("update", actor=actor, object_type="case", object_id=case.id, subject_person_id=case.person_id,
                 details={"unassign": str(assignment.user_id)})


# ---------------------------------------------------------------------------------------------- journal


@dataclass
class EntryData:
    entry_type: Any = None
    event_date: Any = None
    text: Any = None


def _clean_entry(data: EntryData, errors: dict[str, str]) -> tuple[EntryType | None, date | None, str | None]:
    entry_type = _enum_value(EntryType, data.entry_type, "entry_type", errors, _("Välj typ av anteckning."))
    event_date = check_date(data.event_date, "event_date", errors, past_only=True)
    text = clean_text(data.text, "text", errors, max_len=MAX_JOURNAL, required=True,
                      required_message=_("Skriv anteckningens text."))
    return entry_type, event_date, text


def _refuse_signed(entry: JournalEntry) -> None:
    if entry.signed_at is not None:
        raise CaseworkError(_("Anteckningen är signerad och kan inte ändras eller tas bort. "
                              "Skriv en rättelse i stället."))


def create_entry(actor: Any, case: Case, data: EntryData) -> JournalEntry:
    errors: dict[str, str] = {}
    entry_type, event_date, text = _clean_entry(data, errors)
    _raise(errors)
    now = _now()
    entry = JournalEntry(id=uuid.uuid4(), case_id=case.id, person_id=case.person_id, entry_type=entry_type,
                         event_date=event_date, written_at=now, updated_at=now, author_id=actor.id)
    entry.text = text
    db.session.add(entry)
    case.updated_at = now
    audit.record("create", actor=actor, object_type="journal_entry", object_id=entry.id,
                 subject_person_id=case.person_id, details={"case": str(case.id), "type": entry_type.value})
    return entry


def update_draft(actor: Any, entry: JournalEntry, data: EntryData) -> None:
    _refuse_signed(entry)
    errors: dict[str, str] = {}
    entry_type, event_date, text = _clean_entry(data, errors)
    _raise(errors)
    entry.entry_type = entry_type
    entry.event_date = event_date
    entry.text = text
    entry.updated_at = _now()
    audit.record("update", actor=actor, object_type="journal_entry", object_id=entry.id,
                 subject_person_id=entry.person_id)


def sign_entry(actor: Any, entry: JournalEntry) -> None:
    _refuse_signed(entry)
    entry.signed_at = _now()
    audit.record("sign", actor=actor, object_type="journal_entry", object_id=entry.id,
                 subject_person_id=entry.person_id)


def discard_draft(actor: Any, entry: JournalEntry) -> None:
    _refuse_signed(entry)
    audit.record("delete", actor=actor, object_type="journal_entry", object_id=entry.id,
                 subject_person_id=entry.person_id, details={"state": "draft"})
    db.session.delete(entry)


def correction_of(entry: JournalEntry) -> JournalEntry | None:
    return db.session.scalar(select(JournalEntry).where(JournalEntry.corrects_id == entry.id))


def correct_entry(actor: Any, entry: JournalEntry, data: EntryData, reason: Any) -> JournalEntry:
    """A correction: a new signed entry that strikes `entry` through; the old text stays readable."""
    errors: dict[str, str] = {}
    if entry.signed_at is None:
        errors[""] = _("Ett utkast rättas genom att ändra det.")
    elif correction_of(entry) is not None:
        errors[""] = _("Anteckningen är redan rättad. Rätta i så fall rättelsen.")
    entry_type, event_date, text = _clean_entry(data, errors)
    why = clean_text(reason, "reason", errors, max_len=MAX_REASON, required=True,
                     required_message=_("Ange varför anteckningen rättas."))
    _raise(errors)
    now = _now()
    new = JournalEntry(id=uuid.uuid4(), case_id=entry.case_id, person_id=entry.person_id, entry_type=entry_type,
                       event_date=event_date, written_at=now, updated_at=now, author_id=actor.id,
                       corrects_id=entry.id)
    new.text = text
    new.correction_reason = why
    new.signed_at = now
    db.session.add(new)
    audit.record("correct", actor=actor, object_type="journal_entry", object_id=new.id,
                 subject_person_id=entry.person_id, details={"corrects": str(entry.id)})
    return new


def add_objection(actor: Any, entry: JournalEntry, stated_on: Any, text: Any) -> JournalObjection:
    errors: dict[str, str] = {}
    if entry.signed_at is None:
        errors[""] = _("Invändningar antecknas mot signerade anteckningar.")
    written = to_local(entry.written_at).date() if entry.written_at else None
    stated = check_date(stated_on, "stated_on", errors, past_only=True, not_before=written,
                        not_before_message=_("Invändningen kan inte vara gjord innan anteckningen skrevs."))
    body = clean_text(text, "text", errors, max_len=MAX_TEXT, required=True,
                      required_message=_("Skriv personens invändning."))
    _raise(errors)
    objection = JournalObjection(id=uuid.uuid4(), entry_id=entry.id, case_id=entry.case_id,
                                 person_id=entry.person_id, stated_on=stated, recorded_at=_now(),
                                 recorded_by=actor.id)
    objection.text = body
    db.session.add(objection)
    audit.record("object", actor=actor, object_type="journal_entry", object_id=entry.id,
                 subject_person_id=entry.person_id, details={"objection": str(objection.id)})
    return objection


def view_entry(actor: Any, entry: JournalEntry) -> None:
    audit.record("view", actor=actor, object_type="journal_entry", object_id=entry.id,
                 subject_person_id=entry.person_id, persist_on_failure=True)


@dataclass
class JournalView:
    entries: list[JournalEntry]
    corrected_by: dict[uuid.UUID, JournalEntry]
    objections: dict[uuid.UUID, list[JournalObjection]]
    older: int | None  # offset of the next older page, if any
    newer: int | None


def entry_context(entries: list[JournalEntry]) -> tuple[dict, dict]:
    ids = [e.id for e in entries]
    if not ids:
        return {}, {}
    # Corrections live in the same case: filtering on it lets SQLite use the case index (corrects_id is
    # almost always NULL, so its statistics make the planner scan the table for an IN list).
    case_ids = list({e.case_id for e in entries})
    # Most cases have neither corrections nor objections: one presence query (kept for the request) tells.
    present = case_presence(case_ids[0]) if len(case_ids) == 1 else None
    corrected_by = {e.corrects_id: e for e in db.session.scalars(_stmt("corrections"),
                                                                 {"case_ids": case_ids, "ids": ids})} \
        if present is None or present.corrections else {}
    objections: dict[uuid.UUID, list[JournalObjection]] = defaultdict(list)
    if present is None or present.objections:
        for o in db.session.scalars(_stmt("objections"), {"ids": ids}):
            objections[o.entry_id].append(o)
    return corrected_by, dict(objections)


def journal(actor: Any, case: Case, *, offset: int = 0, size: int = JOURNAL_PAGE) -> JournalView:
    """A page of the case's journal, newest first: signed entries, and the actor's own drafts."""
    offset = max(0, offset)
    found = db.session.execute(_stmt("journal"), {"case_id": case.id, "actor_id": actor.id, "offset": offset,
                                                   "limit": size + 1}).all()
    more = len(found) > size
    found = found[:size]
    remember_staff_names((entry.author_id, name) for entry, name in found)
    rows = [entry for entry, _name in found]
    corrected_by, objections = entry_context(rows)
    return JournalView(rows, corrected_by, objections, offset + size if more else None,
                       max(0, offset - size) if offset else None)


# -------------------------------------------------------------------------------------------- decisions


@dataclass
class DecisionData:
    kind: Any = None
    legal_basis: Any = None
    decided_on: Any = None
    text: Any = None
    extends_to: Any = None


def _current_utredning_due(case: Case) -> date | None:
    if case.utredning_started_on is None:
        return None
    return case.utredning_extended_to or workflow.add_months(case.utredning_started_on, workflow.UTREDNING_MONTHS)


def _check_extension(case: Case, extends_to: Any, reason: str | None, errors: dict[str, str]) -> None:
    if not case.child or case.utredning_started_on is None or case.utredning_done_on is not None:
        errors["kind"] = _("Utredningstiden kan bara förlängas i en pågående utredning om ett barn.")
        return
    if not isinstance(extends_to, date):
        errors["extends_to"] = _("Ange den nya tidsgränsen.")
        return
    try:
        workflow.check_extension(_current_utredning_due(case), extends_to, reason, today())
    except WorkflowError as err:
        errors["extends_to"] = str(err)


def propose_decision(actor: Any, case: Case, data: DecisionData) -> Decision:
    """Record a decision. Kinds that need the unit manager wait for approval unless the manager makes them."""
    errors: dict[str, str] = {}
    kind = _enum_value(DecisionKind, data.kind, "kind", errors, _("Välj typ av beslut."))
    decided_on = check_date(data.decided_on, "decided_on", errors, past_only=True, not_before=case.received_on,
                            not_before_message=_("Beslutet kan inte vara fattat före aktualiseringen."))
    text = clean_text(data.text, "text", errors, max_len=MAX_TEXT, required=True,
                      required_message=_("Skriv beslutets motivering."))
    basis = LEGAL_BASIS_BY_CODE.get(data.legal_basis or "")
    if basis is None:
        errors["legal_basis"] = _("Välj lagrum.")
    elif kind is not None and decided_on is not None and basis not in legal_bases_for(kind, decided_on):
        errors["legal_basis"] = _("Lagrummet gäller inte för den här typen av beslut det datumet.")
    if kind is DecisionKind.FORLANGD_UTREDNINGSTID:
        _check_extension(case, data.extends_to, text, errors)
    elif data.extends_to is not None:
        errors["extends_to"] = _("Ny tidsgräns anges bara vid förlängd utredningstid.")
    _raise(errors)
    makes_it = kind not in NEEDS_APPROVAL or actor.role is Role.ENHETSCHEF
    now = _now()
    decision = Decision(id=uuid.uuid4(), case_id=case.id, unit_id=case.unit_id, person_id=case.person_id, kind=kind,
                        status=DecisionStatus.APPROVED if makes_it else DecisionStatus.PROPOSED,
                        legal_basis=basis.code, decided_on=decided_on,
                        extends_to=data.extends_to if kind is DecisionKind.FORLANGD_UTREDNINGSTID else None,
                        proposed_by=actor.id, proposed_at=now)
    decision.text = text
    if makes_it:
        decision.decision_maker_id = actor.id
        decision.decided_at = now
        _apply_decision(case, decision)
    db.session.add(decision)
    case.updated_at = now
    audit.record("create", actor=actor, object_type="decision", object_id=decision.id,
                 subject_person_id=case.person_id,
                 details={"case": str(case.id), "kind": kind.value, "status": decision.status.value})
    return decision


def _apply_decision(case: Case, decision: Decision) -> None:
    if decision.kind in (DecisionKind.INLEDA_UTREDNING, DecisionKind.INTE_INLEDA_UTREDNING):
        if case.forhandsbedomning_done_on is None:
            case.forhandsbedomning_done_on = decision.decided_on
    elif decision.kind is DecisionKind.FORLANGD_UTREDNINGSTID:
        case.utredning_extended_to = decision.extends_to
    _refresh_due(case)


def review_decision(actor: Any, decision: Decision, case: Case, *, approve: bool, note: Any) -> None:
    """The unit manager approves a proposed decision (and becomes its decision-maker) or returns it."""
    errors: dict[str, str] = {}
    if decision.status is not DecisionStatus.PROPOSED:
        errors[""] = _("Beslutet är redan behandlat.")
    note_text = clean_text(note, "note", errors, max_len=MAX_REASON, required=not approve,
                           required_message=_("Ange varför förslaget återförvisas."))
    if approve and decision.kind is DecisionKind.FORLANGD_UTREDNINGSTID and not errors:
        _check_extension(case, decision.extends_to, decision.text, errors)
    _raise(errors)
    now = _now()
    decision.review_note = note_text
    if approve:
        decision.status = DecisionStatus.APPROVED
        decision.decision_maker_id = actor.id
        decision.decided_at = now
        decision.decided_on = today()
        _apply_decision(case, decision)
    else:
        decision.status = DecisionStatus.RETURNED
        decision.decided_at = now
        decision.decision_maker_id = actor.id
    audit.record("review", actor=actor, object_type="decision", object_id=decision.id,
                 subject_person_id=decision.person_id, details={"outcome": decision.status.value})


def view_decision(actor: Any, decision: Decision) -> None:
    audit.record("view", actor=actor, object_type="decision", object_id=decision.id,
                 subject_person_id=decision.person_id, persist_on_failure=True)


def decisions(case: Case) -> list[Decision]:
    if not case_presence(case.id).decisions:  # (most cases have none yet: no query)
        return []
    return list(db.session.scalars(_stmt("decisions"), {"case_id": case.id}))


# ---------------------------------------------------------------------------------------- interventions


def ensure_intervention_catalogue() -> int:
    """Add the seed interventions whose code is missing (safe to run again). Returns how many were added."""
    existing = set(db.session.scalars(select(InterventionType.code)))
    added = 0
    for seed in INTERVENTION_SEED:
        if seed.code in existing:
            continue
        db.session.add(InterventionType(id=uuid.uuid4(), code=seed.code, focus=seed.focus, name=seed.name,
                                        name_en=seed.name_en, description=seed.description, partners=seed.partners,
                                        needs_consent=seed.needs_consent, group_based=seed.group_based,
                                        needs_decision=seed.needs_decision, active=True))
        added += 1
    if added:
        db.session.flush()
    return added


def intervention_types(focus: FocusArea | None = None, *, active_only: bool = True,
                       group_based: bool | None = None) -> list[InterventionType]:
    query = select(InterventionType)
    if focus is not None:
        query = query.where(InterventionType.focus == focus)
    if active_only:
        query = query.where(InterventionType.active.is_(True))
    if group_based is not None:
        query = query.where(InterventionType.group_based.is_(group_based))
    return list(db.session.scalars(query.order_by(InterventionType.focus, InterventionType.name)))


@dataclass
class InterventionData:
    type_id: Any = None
    status: Any = None
    start_on: Any = None
    end_on: Any = None
    responsible_id: Any = None
    goals: Any = None
    plan: Any = None
    plan_agreed_on: Any = None
    decision_id: Any = None


def _as_uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value not in (None, "") else None
    except ValueError:
        return None


def _clean_intervention(case: Case, data: InterventionData, errors: dict[str, str],
                        existing: Intervention | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    itype = None
    if existing is not None:
        itype = existing.type
    else:
        type_id = _as_uuid(data.type_id)
        itype = db.session.get(InterventionType, type_id) if type_id else None
        if itype is None or not itype.active:
            errors["type_id"] = _("Välj en insats ur katalogen.")
            itype = None
        elif itype.focus != case.focus:
            errors["type_id"] = _("Insatsen hör inte till ärendets fokusområde.")
            itype = None
    out["type"] = itype
    status = _enum_value(InterventionStatus, data.status, "status", errors, _("Välj status."))
    start = check_date(data.start_on, "start_on", errors, future_years=1)
    end = check_date(data.end_on, "end_on", errors, required=False, future_years=3)
    if start and end and end < start:
        errors["end_on"] = _("Slutdatumet ligger före startdatumet.")
    now = today()
    if status is InterventionStatus.ACTIVE and start and start > now:
        errors["status"] = _("En insats som startar %(date)s kan inte vara pågående ännu.", date=start.isoformat())
    if status is InterventionStatus.ENDED:
        if end is None and "end_on" not in errors:
            errors["end_on"] = _("Ange slutdatum för en avslutad insats.")
        elif end is not None and end > now:
            errors["end_on"] = _("En avslutad insats kan inte sluta i framtiden.")
    responsible = _as_uuid(data.responsible_id)
    if responsible is None or db.session.scalar(
            policy.assignable_workers(case.unit_id).where(User.id == responsible)) is None:
        errors["responsible_id"] = _("Välj en ansvarig medarbetare i enheten.")
    out["goals"] = clean_text(data.goals, "goals", errors, max_len=MAX_TEXT, required=True,
                              required_message=_("Beskriv insatsens mål."))
    out["plan"] = clean_text(data.plan, "plan", errors, max_len=MAX_JOURNAL)
    agreed = check_date(data.plan_agreed_on, "plan_agreed_on", errors, required=False, past_only=True)
    if agreed and not out["plan"] and "plan" not in errors:
        errors["plan"] = _("Skriv genomförandeplanen som gjordes tillsammans med personen.")
    decision_id = _as_uuid(data.decision_id)
    decision = None
    if data.decision_id not in (None, "") and decision_id is None:
        errors["decision_id"] = _("Välj ett beslut i ärendet.")
    elif decision_id is not None:
        decision = db.session.get(Decision, decision_id)
        if decision is None or decision.case_id != case.id or decision.kind is not DecisionKind.BIFALL \
                or decision.status is not DecisionStatus.APPROVED:
            errors["decision_id"] = _("Välj ett beviljande beslut i det här ärendet.")
            decision = None
    if itype is not None and itype.needs_decision and decision is None and "decision_id" not in errors:
        errors["decision_id"] = _("Insatsen ges som bistånd och kräver ett beviljande beslut i ärendet.")
    if (itype is not None and itype.needs_consent and status is InterventionStatus.ACTIVE
            and "status" not in errors):
        missing = missing_consents(existing, case) if existing is not None else [ConsentGiver.PERSON]
        if missing:
            errors["status"] = _("Insatsen kräver samtycke innan den startar. Spara den som planerad och "
                                 "registrera samtycket först.")
    out.update(status=status, start_on=start, end_on=end, responsible_id=responsible, plan_agreed_on=agreed,
               decision_id=decision.id if decision else None)
    return out


def add_intervention(actor: Any, case: Case, data: InterventionData) -> Intervention:
    errors: dict[str, str] = {}
    if not case.is_open:
        errors[""] = _("Ärendet är avslutat. Öppna det igen för att lägga till en insats.")
    out = _clean_intervention(case, data, errors)
    _raise(errors)
    now = _now()
    item = Intervention(id=uuid.uuid4(), case_id=case.id, person_id=case.person_id, type_id=out["type"].id,
                        status=out["status"], start_on=out["start_on"], end_on=out["end_on"],
                        responsible_id=out["responsible_id"], decision_id=out["decision_id"],
                        plan_agreed_on=out["plan_agreed_on"], created_at=now, created_by=actor.id, updated_at=now)
    item.goals = out["goals"]
    item.plan = out["plan"]
    db.session.add(item)
    case.updated_at = now
    audit.record("create", actor=actor, object_type="intervention", object_id=item.id,
                 subject_person_id=case.person_id,
                 details={"case": str(case.id), "type": out["type"].code, "status": out["status"].value})
    return item


def update_intervention(actor: Any, item: Intervention, case: Case, data: InterventionData) -> None:
    errors: dict[str, str] = {}
    out = _clean_intervention(case, data, errors, existing=item)
    _raise(errors)
    for name in ("status", "start_on", "end_on", "responsible_id", "decision_id", "plan_agreed_on"):
        setattr(item, name, out[name])
    item.goals = out["goals"]
    item.plan = out["plan"]
    item.updated_at = _now()
    audit.record("update", actor=actor, object_type="intervention", object_id=item.id,
                 subject_person_id=item.person_id, details={"status": item.status.value})


def view_intervention(actor: Any, item: Intervention) -> None:
    audit.record("view", actor=actor, object_type="intervention", object_id=item.id,
                 subject_person_id=item.person_id, persist_on_failure=True)


def interventions(case: Case) -> list[Intervention]:
    if not case_presence(case.id).interventions:
        return []
    return list(db.session.scalars(_stmt("interventions"), {"case_id": case.id}))


def add_follow_up(actor: Any, item: Intervention, due_on: Any) -> InterventionFollowUp:
    errors: dict[str, str] = {}
    due = check_date(due_on, "due_on", errors, not_before=item.start_on,
                     not_before_message=_("Uppföljningen kan inte ligga före insatsens start."))
    _raise(errors)
    follow_up = InterventionFollowUp(id=uuid.uuid4(), intervention_id=item.id, person_id=item.person_id,
                                     due_on=due, created_by=actor.id)
    db.session.add(follow_up)
    audit.record("update", actor=actor, object_type="intervention", object_id=item.id,
                 subject_person_id=item.person_id, details={"follow_up": str(follow_up.id), "due": due.isoformat()})
    return follow_up


def complete_follow_up(actor: Any, item: Intervention, follow_up_id: Any, done_on: Any, notes: Any) -> None:
    follow_up = next((f for f in item.follow_ups if str(f.id) == str(follow_up_id)), None)
    if follow_up is None:
        policy.deny(actor, permission="intervention.write", object_type="follow_up", object_id=follow_up_id,
                    subject_person_id=item.person_id, status=404)
    errors: dict[str, str] = {}
    if follow_up.done_on is not None:
        errors[""] = _("Uppföljningen är redan gjord.")
    done = check_date(done_on, "done_on", errors, past_only=True, not_before=item.start_on,
                      not_before_message=_("Uppföljningen kan inte vara gjord före insatsens start."))
    text = clean_text(notes, "notes", errors, max_len=MAX_TEXT, required=True,
                      required_message=_("Skriv vad uppföljningen visade."))
    _raise(errors)
    follow_up.done_on = done
    follow_up.done_by = actor.id
    follow_up.notes = text
    audit.record("update", actor=actor, object_type="intervention", object_id=item.id,
                 subject_person_id=item.person_id, details={"follow_up_done": str(follow_up.id)})


@dataclass
class ConsentData:
    giver: Any = None
    form: Any = None
    given_on: Any = None
    valid_until: Any = None
    scope: Any = None


def add_consent(actor: Any, item: Intervention, data: ConsentData) -> InterventionConsent:
    errors: dict[str, str] = {}
    giver = _enum_value(ConsentGiver, data.giver, "giver", errors, _("Välj vem som lämnat samtycket."))
    if data.form not in ("muntligt", "skriftligt"):
        errors["form"] = _("Välj om samtycket är muntligt eller skriftligt.")
    given = check_date(data.given_on, "given_on", errors, past_only=True)
    until = check_date(data.valid_until, "valid_until", errors, required=False, future_years=5)
    if given and until and until < given:
        errors["valid_until"] = _("Samtycket kan inte gälla till ett datum före det lämnades.")
    scope = clean_text(data.scope, "scope", errors, max_len=MAX_REASON, required=True,
                       required_message=_("Ange vilka mottagare och vilka uppgifter samtycket gäller."))
    _raise(errors)
    consent = InterventionConsent(id=uuid.uuid4(), intervention_id=item.id, person_id=item.person_id, giver=giver,
                                  form=data.form, given_on=given, valid_until=until, recorded_by=actor.id,
                                  recorded_at=_now())
    consent.scope = scope
    db.session.add(consent)
    audit.record("update", actor=actor, object_type="intervention", object_id=item.id,
                 subject_person_id=item.person_id, details={"consent": str(consent.id), "giver": giver.value})
    return consent


def withdraw_consent(actor: Any, item: Intervention, consent_id: Any, on: Any) -> None:
    consent = next((c for c in item.consents if str(c.id) == str(consent_id)), None)
    if consent is None:
        policy.deny(actor, permission="intervention.write", object_type="consent", object_id=consent_id,
                    subject_person_id=item.person_id, status=404)
    errors: dict[str, str] = {}
    if consent.withdrawn_on is not None:
        errors[""] = _("Samtycket är redan återkallat.")
    day = check_date(on, "withdrawn_on", errors, past_only=True, not_before=consent.given_on,
                     not_before_message=_("Samtycket kan inte återkallas före det lämnades."))
    _raise(errors)
    consent.withdrawn_on = day
    audit.record("update", actor=actor, object_type="intervention", object_id=item.id,
                 subject_person_id=item.person_id, details={"consent_withdrawn": str(consent.id)})


def missing_consents(item: Intervention, case: Case, on: date | None = None) -> list[ConsentGiver]:
    """Consents an intervention of a consent-needing type lacks today: the person's, and a guardian's for a
    minor (SIG: the young person and, under 18, the guardian)."""
    if not item.type.needs_consent:
        return []
    on = on or today()
    valid = {c.giver for c in item.consents if c.valid_on(on)}
    needed = [ConsentGiver.PERSON]
    person = db.session.get(Person, case.person_id)
    child = is_child_now(person) if person is not None and not person.is_shredded else None
    if child if child is not None else case.child:
        needed.append(ConsentGiver.GUARDIAN)
    return [g_ for g_ in needed if g_ not in valid]


# --------------------------------------------------------------------------------------- catalogue admin


@dataclass
class TypeData:
    code: Any = None
    focus: Any = None
    name: Any = None
    name_en: Any = None
    description: Any = None
    partners: Any = None
    needs_consent: bool = False
    group_based: bool = False
    needs_decision: bool = False
    active: bool = True


def save_intervention_type(actor: Any, data: TypeData, existing: InterventionType | None = None) -> InterventionType:
    errors: dict[str, str] = {}
    focus = _enum_value(FocusArea, data.focus, "focus", errors, _("Välj ett fokusområde."))
    name = clean_text(data.name, "name", errors, max_len=MAX_NAME, required=True, multiline=False,
                      required_message=_("Ange insatsens namn."))
    name_en = clean_text(data.name_en, "name_en", errors, max_len=MAX_NAME, multiline=False)
    description = clean_text(data.description, "description", errors, max_len=MAX_REASON)
    partners = clean_text(data.partners, "partners", errors, max_len=MAX_LINE, multiline=False)
    code = existing.code if existing else None
    if existing is None:
        code = clean_text(data.code, "code", errors, max_len=40, required=True, multiline=False,
                          required_message=_("Ange en kod."))
        if code is not None and not all(ch.isascii() and (ch.isalnum() or ch == "_") for ch in code):
            errors["code"] = _("Koden får bara innehålla a–z, 0–9 och understreck.")
        elif code is not None and db.session.scalar(select(InterventionType.id).where(InterventionType.code == code)):
            errors["code"] = _("Koden används redan.")
    _raise(errors)
    item = existing or InterventionType(id=uuid.uuid4(), code=code.lower())
    item.focus = focus
    item.name = name
    item.name_en = name_en or name
    item.description = description or ""
    item.partners = partners or ""
    item.needs_consent = bool(data.needs_consent)
    item.group_based = bool(data.group_based)
    item.needs_decision = bool(data.needs_decision)
    item.active = bool(data.active)
    item.updated_at = _now()
    if existing is None:
        db.session.add(item)
    audit.record("create" if existing is None else "update", actor=actor, object_type="intervention_type",
                 object_id=item.id, details={"code": item.code, "active": item.active})
    return item


# -------------------------------------------------------------------------------------------------- groups


@dataclass
class GroupData:
    type_id: Any = None
    name: Any = None
    schedule: Any = None
    leader_id: Any = None
    co_leader_id: Any = None
    start_on: Any = None
    end_on: Any = None


def create_group(actor: Any, unit_id: uuid.UUID, data: GroupData) -> Group:
    errors: dict[str, str] = {}
    type_id = _as_uuid(data.type_id)
    itype = db.session.get(InterventionType, type_id) if type_id else None
    if itype is None or not itype.active or not itype.group_based:
        errors["type_id"] = _("Välj en gruppverksamhet ur katalogen.")
    name = clean_text(data.name, "name", errors, max_len=MAX_NAME, required=True, multiline=False,
                      required_message=_("Ge gruppen ett namn."))
    schedule = clean_text(data.schedule, "schedule", errors, max_len=MAX_LINE, multiline=False)
    workers = policy.assignable_workers(unit_id)
    leader = _as_uuid(data.leader_id)
    if leader is None or db.session.scalar(workers.where(User.id == leader)) is None:
        errors["leader_id"] = _("Välj en gruppledare i enheten.")
    co_leader = _as_uuid(data.co_leader_id)
    if data.co_leader_id not in (None, "") and (co_leader is None or co_leader == leader or db.session.scalar(
            workers.where(User.id == co_leader)) is None):
        errors["co_leader_id"] = _("Välj en annan medarbetare i enheten som medledare.")
    start = check_date(data.start_on, "start_on", errors, future_years=1)
    end = check_date(data.end_on, "end_on", errors, required=False, future_years=3)
    if start and end and end < start:
        errors["end_on"] = _("Slutdatumet ligger före startdatumet.")
    _raise(errors)
    group = Group(id=uuid.uuid4(), unit_id=unit_id, type_id=itype.id, name=name, schedule=schedule or "",
                  leader_id=leader, co_leader_id=co_leader, start_on=start, end_on=end, created_by=actor.id)
    db.session.add(group)
    audit.record("create", actor=actor, object_type="group", object_id=group.id, details={"type": itype.code})
    return group


def active_members(group: Group, on: date | None = None) -> list[GroupMember]:
    members = [m for m in group.members if m.left_on is None or (on is not None and m.left_on > on)]
    if on is not None:
        members = [m for m in members if m.joined_on <= on]
    return members


def view_group(actor: Any, group: Group) -> None:
    audit.record("view", actor=actor, object_type="group", object_id=group.id, persist_on_failure=True)
    _record_person_reads(actor, [m.person_id for m in group.members], "group")


def add_session(actor: Any, group: Group, held_on: Any, topic: Any, other_participants: Any) -> GroupSession:
    errors: dict[str, str] = {}
    held = check_date(held_on, "held_on", errors, not_before=group.start_on,
                      not_before_message=_("Tillfället kan inte ligga före gruppens start."), future_years=1)
    if held and group.end_on and held > group.end_on:
        errors["held_on"] = _("Tillfället kan inte ligga efter gruppens slut.")
    text = clean_text(topic, "topic", errors, max_len=MAX_LINE, multiline=False)
    others = other_participants if other_participants not in (None, "") else 0
    if not isinstance(others, int) or not 0 <= others <= 1000:
        errors["other_participants"] = _("Ange ett antal mellan 0 och 1000.")
    _raise(errors)
    session = GroupSession(id=uuid.uuid4(), group_id=group.id, held_on=held, topic=text or "",
                           other_participants=others, created_by=actor.id)
    db.session.add(session)
    audit.record("update", actor=actor, object_type="group", object_id=group.id,
                 details={"session": str(session.id)})
    return session


def member_candidates(actor: Any, group: Group) -> list[Case]:
    """Open cases the actor may read in the group's unit (a person joins through one of their cases)."""
    query = (select(Case).where(policy.readable_cases_clause(actor), Case.unit_id == group.unit_id,
                                Case.state.in_(OPEN_STATES))
             .order_by(Case.updated_at.desc()).limit(200))
    members = {m.person_id for m in group.members if m.left_on is None}
    return [c for c in db.session.scalars(query) if c.person_id not in members]


def add_member(actor: Any, group: Group, case_id: Any, joined_on: Any) -> GroupMember:
    errors: dict[str, str] = {}
    cid = _as_uuid(case_id)
    case = db.session.get(Case, cid) if cid else None
    if case is None or "read" not in policy.case_access(actor, case) or case.unit_id != group.unit_id:
        errors["case_id"] = _("Välj ett ärende i enheten.")
        case = None
    elif not case.is_open:
        errors["case_id"] = _("Ärendet är avslutat.")
    joined = check_date(joined_on, "joined_on", errors, not_before=group.start_on,
                        not_before_message=_("Deltagandet kan inte börja före gruppens start."), future_years=1)
    if case is not None and any(m.person_id == case.person_id for m in group.members):
        errors["case_id"] = _("Personen finns redan i gruppen.")
    _raise(errors)
    member = GroupMember(id=uuid.uuid4(), group_id=group.id, person_id=case.person_id, case_id=case.id,
                         joined_on=joined, added_by=actor.id)
    db.session.add(member)
    audit.record("update", actor=actor, object_type="group", object_id=group.id, subject_person_id=case.person_id,
                 details={"member_added": str(member.id)})
    return member


def end_membership(actor: Any, group: Group, member_id: Any, left_on: Any) -> None:
    member = next((m for m in group.members if str(m.id) == str(member_id)), None)
    if member is None:
        policy.deny(actor, permission="group.write", object_type="group_member", object_id=member_id, status=404)
    errors: dict[str, str] = {}
    if member.left_on is not None:
        errors[""] = _("Personen har redan lämnat gruppen.")
    left = check_date(left_on, "left_on", errors, past_only=True, not_before=member.joined_on,
                      not_before_message=_("Slutdatumet ligger före startdatumet."))
    _raise(errors)
    member.left_on = left
    audit.record("update", actor=actor, object_type="group", object_id=group.id, subject_person_id=member.person_id,
                 details={"member_left": str(member.id)})


def attendance(group: Group) -> dict[tuple[uuid.UUID, uuid.UUID], bool]:
    session_ids = [s.id for s in group.sessions]
    if not session_ids:
        return {}
    rows = db.session.scalars(select(GroupAttendance).where(GroupAttendance.session_id.in_(session_ids)))
    return {(r.session_id, r.member_id): r.present for r in rows}


def record_attendance(actor: Any, group: Group, session_id: Any, present_ids: Iterable[str]) -> int:
    session = next((s for s in group.sessions if str(s.id) == str(session_id)), None)
    if session is None:
        policy.deny(actor, permission="group.write", object_type="group_session", object_id=session_id, status=404)
    if session.held_on > today():
        raise CaseworkError(_("Närvaro registreras när tillfället har ägt rum."))
    members = active_members(group, session.held_on)
    hidden = policy.hidden_person_ids(actor, [m.person_id for m in members])  # not shown, so not changed
    members = [m for m in members if m.person_id not in hidden]
    member_ids = {str(m.id) for m in members}
    present = set(present_ids)
    unknown = present - member_ids
    if unknown:
        raise CaseworkError(_("Okänd deltagare."))
    existing = {r.member_id: r for r in db.session.scalars(
        select(GroupAttendance).where(GroupAttendance.session_id == session.id))}
    now = _now()
    for m in members:
        row = existing.get(m.id)
        if row is None:
            row = GroupAttendance(session_id=session.id, member_id=m.id, person_id=m.person_id)
            db.session.add(row)
        row.present = str(m.id) in present
        row.recorded_by = actor.id
        row.recorded_at = now
        audit.record("update", actor=actor, object_type="group_attendance", object_id=session.id,
                     subject_person_id=m.person_id, details={"present": row.present})
    return len(members)


# ----------------------------------------------------------------------------------------------- relations


def add_relation(actor: Any, person: Person, relative_identity: Any, kind: Any) -> PersonRelation:
    """Link a relative (found by personnummer among the people the actor may see) to `person`."""
    from caseapp.people import operations as people_ops

    errors: dict[str, str] = {}
    rel_kind = _enum_value(RelationKind, kind, "kind", errors, _("Välj släktskap."))
    relative = None
    text = clean_text(relative_identity, "relative", errors, max_len=40, required=True, multiline=False,
                      required_message=_("Ange den anhöriges personnummer."))
    if text is not None:
        try:
            hits = people_ops.search_by_identity(actor, text)
        except people_ops.PersonError as err:
            errors["relative"] = next(iter(err.errors.values()))
            hits = []
        if "relative" not in errors:
            if not hits:
                errors["relative"] = _("Ingen person som du har åtkomst till har det numret. Registrera den "
                                       "anhörige först.")
            else:
                relative = hits[0]
    if relative is not None and relative.id == person.id:
        errors["relative"] = _("En person kan inte vara anhörig till sig själv.")
    if relative is not None and not errors and db.session.scalar(select(PersonRelation.id).where(
            PersonRelation.person_id == person.id, PersonRelation.relative_id == relative.id)):
        errors["relative"] = _("Personerna är redan kopplade.")
    _raise(errors)
    relation = PersonRelation(id=uuid.uuid4(), person_id=person.id, relative_id=relative.id, kind=rel_kind,
                              created_by=actor.id)
    db.session.add(relation)
    for subject in (person.id, relative.id):
        audit.record("create", actor=actor, object_type="relation", object_id=relation.id, subject_person_id=subject,
                     details={"kind": rel_kind.value})
    return relation


def end_relation(actor: Any, relation: PersonRelation) -> None:
    if relation.ended_at is not None:
        raise CaseworkError(_("Kopplingen är redan borttagen."))
    relation.ended_at = _now()
    relation.ended_by = actor.id
    for subject in (relation.person_id, relation.relative_id):
        audit.record("update", actor=actor, object_type="relation", object_id=relation.id, subject_person_id=subject,
                     details={"ended": True})


@dataclass
class RelationRow:
    relation: PersonRelation
    other: Person | None  # None: the viewer may not see the other person (the link grants no access)
    direction: str  # "relative" (other is a relative of this person) | "of" (this person is the other's relative)


def relations_for(actor: Any, person: Person) -> list[RelationRow]:
    rows = list(db.session.scalars(select(PersonRelation).where(
        or_(PersonRelation.person_id == person.id, PersonRelation.relative_id == person.id),
        PersonRelation.ended_at.is_(None)).order_by(PersonRelation.created_at)))
    others = {r.relative_id if r.person_id == person.id else r.person_id for r in rows}
    visible = people_by_id(o for o in others if policy.can_see_person(actor, _person(o)))
    hidden = policy.hidden_person_ids(actor, others)  # a protected person's relations stay out of sight
    result = []
    for r in rows:
        other_id = r.relative_id if r.person_id == person.id else r.person_id
        if other_id in hidden:
            continue
        other = visible.get(other_id)
        if other is not None and other.is_shredded:
            other = None
        result.append(RelationRow(r, other, "relative" if r.person_id == person.id else "of"))
    _record_person_reads(actor, [row.other.id for row in result if row.other is not None], "relations")
    return result


def _person(person_id: uuid.UUID) -> Person:
    return db.session.get(Person, person_id)


# ----------------------------------------------------------------------------------------- lists and search


@dataclass
class CaseRow:
    case: Case
    person: Person | None
    worker: str


def case_rows(actor: Any, cases: list[Case], page: str) -> list[CaseRow]:
    people = people_by_id(c.person_id for c in cases)
    names = staff_names(c.responsible_id for c in cases)
    _record_person_reads(actor, [c.person_id for c in cases], page)
    return [CaseRow(c, people.get(c.person_id), names.get(c.responsible_id, "")) for c in cases]


@dataclass
class CaseFilter:
    scope: str = "mine"  # mine | unit
    state: str | None = None
    worker: uuid.UUID | None = None
    overdue: bool = False
    include_closed: bool = False


def list_cases(actor: Any, f: CaseFilter, *, page: int = 1) -> tuple[list[CaseRow], int, int]:
    """(rows, total, pages) of the cases the actor may read, filtered."""
    clause = policy.assigned_cases_clause(actor) if f.scope == "mine" else policy.readable_cases_clause(actor)
    query = select(Case).where(clause)
    if f.state:
        query = query.where(Case.state == State(f.state))
    elif not f.include_closed:
        query = query.where(Case.state.in_(OPEN_STATES))
    if f.worker:
        query = query.where(Case.responsible_id == f.worker)
    if f.overdue:
        query = query.where(Case.next_due_on < today())
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // LIST_SIZE))
    page = min(max(1, page), pages)
    order = (Case.next_due_on.asc(), Case.updated_at.desc()) if f.overdue else (Case.updated_at.desc(),)
    cases = list(db.session.scalars(query.order_by(*order, Case.id).offset((page - 1) * LIST_SIZE)
                                    .limit(LIST_SIZE)))
    return case_rows(actor, cases, "case_list"), total, pages


def cases_of_person(actor: Any, person: Person) -> list[Case]:
    return list(db.session.scalars(select(Case).where(Case.person_id == person.id,
                                                      policy.readable_cases_clause(actor))
                                   .order_by(Case.received_on.desc())))


def groups_of_person(actor: Any, person: Person) -> list[Group]:
    return list(db.session.scalars(
        policy.visible_groups(actor).join(GroupMember, GroupMember.group_id == Group.id)
        .where(GroupMember.person_id == person.id)))


@dataclass
class SearchResult:
    by: str
    people: list[Person] = field(default_factory=list)
    cases: dict[uuid.UUID, list[Case]] = field(default_factory=dict)


def looks_like_reference(text: str) -> bool:
    t = text.strip().upper()
    return len(t) == 10 and t[:4].isdigit() and t[4] == "-" and all(ch in _REFERENCE_ALPHABET for ch in t[5:])


def looks_like_identity(text: str) -> bool:
    t = text.strip()
    digits = sum(ch.isdigit() for ch in t)
    return digits >= 6 and all(ch.isdigit() or ch in "-+ " for ch in t)


def search(actor: Any, text: Any) -> SearchResult:
    """Search what the actor may see: a case reference, a personnummer (any written form) or names.
    People come from the registry's blind-index search (which logs each hit); their cases are filtered by
    the same policy as every list."""
    from caseapp.people import operations as people_ops

    errors: dict[str, str] = {}
    query = clean_text(text, "q", errors, max_len=200, required=True, multiline=False,
                       required_message=_("Skriv ett personnummer, ett namn eller ett ärendenummer."))
    _raise(errors)
    if looks_like_reference(query):
        case = db.session.scalar(select(Case).where(Case.reference == query.strip().upper(),
                                                    policy.readable_cases_clause(actor)))
        result = SearchResult("reference")
        if case is not None:
            person = db.session.get(Person, case.person_id)
            result.people = [person]
            result.cases = {person.id: [case]}
            audit.record("search", actor=actor, object_type="case", object_id=case.id,
                         subject_person_id=case.person_id, details={"by": "reference"})
        else:
            audit.record("search", actor=actor, object_type="case", details={"by": "reference", "hits": 0})
        return result
    try:
        if looks_like_identity(query):
            people, by = people_ops.search_by_identity(actor, query), "identity"
        else:
            people, by = people_ops.search_by_name(actor, query), "name"
    except people_ops.PersonError as err:
        raise CaseworkError({"q": next(iter(err.errors.values()))}) from None
    result = SearchResult(by, people)
    if people:
        rows = db.session.scalars(select(Case).where(in_uuid_list(Case.person_id, "people_ids"),
                                                     policy.readable_cases_clause(actor))
                                  .order_by(Case.received_on.desc()), {"people_ids": [p.id for p in people]})
        for c in rows:
            result.cases.setdefault(c.person_id, []).append(c)
    return result


# ------------------------------------------------------------------------------------------- start page


@dataclass
class Overdue:
    case: Case
    person: Person | None
    labels: list[str]
    due: date


@dataclass
class FollowUpItem:
    """A follow-up on the start page: only what the panel shows (no intervention or follow-up objects)."""
    intervention_id: uuid.UUID
    type: InterventionType
    due_on: date
    person: Person | None
    overdue: bool


@dataclass
class StartPanels:
    my_cases: list[CaseRow] = field(default_factory=list)
    my_total: int = 0
    overdue: list[Overdue] = field(default_factory=list)
    overdue_total: int = 0
    follow_ups: list[FollowUpItem] = field(default_factory=list)
    drafts: list[tuple[JournalEntry, Person | None, Case | None]] = field(default_factory=list)
    pending: list[tuple[Decision, Person | None]] = field(default_factory=list)
    manager: bool = False


@dataclass(frozen=True)
class _StartStatements:
    # One statement for both lists: the newest few cases of each part of "my cases" and the most overdue few (for
    # a unit manager: of the unit's cases), each row with its part and the part's total; parts below `mine`
    # are "my cases", the others "overdue".
    cases: Any
    mine: int


_START_STATEMENTS: dict[tuple, _StartStatements] = {}
_KEPT_START_STATEMENTS = 4096


def _start_statements(actor: Any, now: date) -> _StartStatements:
    """The start page's two case statements, kept for the process under the policy's key for the actor's
    readable cases (policy.readable_cases_key), the actor and the day: building them and their cache keys (the
    access rule's subqueries included) cost about 0.3 ms per page, more than running them.

    The worker's open cases are those they are responsible for (an index-only range on responsible_id) and the
    few they are co-assigned to, both also within what the worker may read: two parts, each ranked on its own
    (an OR of the two made PostgreSQL scan the whole unit) with LIMIT, in one UNION ALL. Each part gives its
    newest (or most overdue) few and, in the same pass over its rows, how many there are in all (the window
    count is taken before the LIMIT); only those few are joined to their case rows. The overdue list's parts are
    in the same UNION ALL (one statement, one round trip, for both lists; a case in both comes twice)."""
    manager = actor.role is Role.ENHETSCHEF
    key = (policy.readable_cases_key(actor), actor.id, now, manager)
    statements = _START_STATEMENTS.get(key)
    if statements is not None:
        return statements
    in_unit = and_(policy.readable_cases_clause(actor), in_constants(Case.state, OPEN_STATES))
    co_assigned = select(CaseAssignment.case_id).where(
        CaseAssignment.user_id == actor.id, CaseAssignment.ended_at.is_(None), CaseAssignment.responsible.is_(False))
    mine = [and_(in_unit, Case.responsible_id == actor.id), and_(in_unit, Case.id.in_(co_assigned))]

    late = Case.next_due_on < now
    overdue = [and_(in_unit, late)] if manager else [and_(part, late) for part in mine]
    parts = [(where, Case.updated_at.desc()) for where in mine] + [(where, Case.next_due_on) for where in overdue]
    members = [select(Case.id.label("case_id"), func.count().over().label("total"), literal(n).label("part"))
               .where(where).order_by(order).limit(START_ITEMS).subquery() for n, (where, order) in enumerate(parts)]
    ids = union_all(*(select(m) for m in members)).subquery()
    # Each case with its person (and the person's key row, read with it), as the follow-ups come with theirs: the
    # start page's people need a statement of their own only for others (see start_panels).
    statements = _StartStatements(select(Case, Person, ids.c.part, ids.c.total).join(ids, ids.c.case_id == Case.id)
                                  .outerjoin(Person, Person.id == Case.person_id), len(mine))
    if len(_START_STATEMENTS) >= _KEPT_START_STATEMENTS:
        _START_STATEMENTS.clear()
    _START_STATEMENTS[key] = statements
    return statements


def _ranked_cases(rows: list, key, reverse: bool = False) -> tuple[list[Case], int]:
    """The first few cases of the parts' rows (each case once), and the sum of the parts' totals."""
    totals = {row.part: row.total for row in rows}
    cases = list({row.Case.id: row.Case for row in rows}.values())
    return sorted(cases, key=key, reverse=reverse)[:START_ITEMS], sum(totals.values())


def _start_follow_ups_statement():
    """The worker's open follow-ups due within the horizon, soonest first. On PostgreSQL each of the worker's
    ongoing interventions takes its own soonest open follow-ups through the index on intervention_id (a LATERAL
    subquery; the same rows and order): given the plain join, the planner hashed every open follow-up of the
    district instead (0.55-0.60 ms against 0.28 ms per execution through the driver on the bench data set: 8,186
    follow-ups, the worker's 56 ongoing interventions). SQLite, which has no LATERAL, already walks the plain join
    that way."""
    lateral = db.session.get_bind().dialect.name == "postgresql"
    return _stmt("start_follow_ups_lateral" if lateral else "start_follow_ups")


def start_panels(actor: Any) -> StartPanels:
    """What the start page shows a worker (and a unit manager): my cases, overdue deadlines, follow-ups
    coming up, my drafts to sign, and for the manager decisions waiting for approval."""
    result = StartPanels(manager=actor.role is Role.ENHETSCHEF)
    if not policy.has_permission(actor, "case.read"):
        return result
    now = today()
    statements = _start_statements(actor, now)
    rows = db.session.execute(statements.cases).all()
    my_cases, result.my_total = _ranked_cases([r for r in rows if r.part < statements.mine],
                                              key=lambda c: c.updated_at, reverse=True)
    overdue_cases, result.overdue_total = _ranked_cases([r for r in rows if r.part >= statements.mine],
                                                        key=lambda c: c.next_due_on)
    follow = db.session.execute(_start_follow_ups_statement(), {
        "actor_id": actor.id, "until": now + timedelta(days=FOLLOW_UP_HORIZON)}).all()
    # (the drafts' own statement only where the actor has any: presence.reach_presence asks with the panels' facts)
    drafts = (db.session.execute(_stmt("start_drafts"), {"actor_id": actor.id}).all()
              if reach_presence(actor).own_drafts else [])
    pending: list[Decision] = []
    if result.manager:
        pending = list(db.session.scalars(select(Decision).where(
            Decision.status == DecisionStatus.PROPOSED, Decision.unit_id == actor.unit_id)
            .order_by(Decision.proposed_at).limit(START_ITEMS)))
    person_ids = ([c.person_id for c in my_cases] + [c.person_id for c in overdue_cases]
                  + [f.person_id for f in follow] + [d.person_id for d, _c in drafts]
                  + [d.person_id for d in pending])
    # The people of the cases and follow-ups came with them (each with its key row); people_by_id reads only the
    # others (drafts of other cases, a manager's pending decisions), and often none. (The drafts are not joined
    # to their people: SQLite would read a person for every unsigned draft of the worker before the LIMIT.)
    people = {r.Person.id: r.Person for r in (*rows, *follow) if r.Person is not None}
    people.update(people_by_id(p for p in person_ids if p not in people))
    result.my_cases = [CaseRow(c, people.get(c.person_id), "") for c in my_cases]
    for c in overdue_cases:
        passed = [d for d in deadlines(c) if d.overdue(now)]
        result.overdue.append(Overdue(c, people.get(c.person_id), [d.label for d in passed],
                                      min((d.due for d in passed), default=c.next_due_on)))
    result.follow_ups = [FollowUpItem(f.intervention_id, f.InterventionType, f.due_on, people.get(f.person_id),
                                      f.due_on < now) for f in follow]
    result.drafts = [(d, people.get(d.person_id), c) for d, c in drafts]
    result.pending = [(d, people.get(d.person_id)) for d in pending]
    _record_person_reads(actor, person_ids, "start")
    return result


@dataclass
class CaseloadRow:
    worker_id: uuid.UUID | None
    name: str
    by_state: dict[State, int]
    overdue: int

    @property
    def total(self) -> int:
        return sum(self.by_state.values())


def caseload(actor: Any) -> list[CaseloadRow]:
    """The unit's open cases per responsible worker and per state, with overdue counts (no personal data)."""
    unit_id = actor.unit_id
    counts: dict[uuid.UUID | None, dict[State, int]] = defaultdict(dict)
    for worker_id, state, n in execute_rows(
            select(Case.responsible_id, Case.state, func.count())
            .where(Case.unit_id == unit_id, in_constants(Case.state, OPEN_STATES))
            .group_by(Case.responsible_id, Case.state)):
        counts[worker_id][state] = n
    # The open states bound, not written in (in_constants): written in, PostgreSQL's generic plan knows they are
    # nearly every case and took the (unit, state) index instead of (unit, next_due_on): 0.2 -> 1.4 ms (2026-12-04).
    overdue = dict(execute_rows(
        select(Case.responsible_id, func.count())
        .where(Case.unit_id == unit_id, Case.state.in_(OPEN_STATES), Case.next_due_on < today())
        .group_by(Case.responsible_id)).all())
    rows = []
    workers = list(db.session.scalars(policy.assignable_workers(unit_id)))
    for w in workers:
        rows.append(CaseloadRow(w.id, w.display_name, counts.pop(w.id, {}), overdue.get(w.id, 0)))
    for worker_id, by_state in counts.items():  # cases of former staff, and unassigned ones
        rows.append(CaseloadRow(worker_id, "" if worker_id is None else staff_names([worker_id]).get(worker_id, ""),
                                by_state, overdue.get(worker_id, 0)))
    audit.record("view", actor=actor, object_type="caseload", details={"workers": len(rows)})
    return rows


# ------------------------------------------------------------------------------------------- log follow-up

_CASE_RECORDS = {"journal_entry": JournalEntry, "decision": Decision, "intervention": Intervention}


def _case_record_models() -> dict[str, Any]:
    """Audit object types of records that live in a case (each model has `id` and `case_id`), by package."""
    from caseapp.referrals.models import Disclosure, Referral, SharingConsent
    from caseapp.violence.models import Plan, RiskAssessment

    return {**_CASE_RECORDS, "referral": Referral, "sharing_consent": SharingConsent, "disclosure": Disclosure,
            "risk_assessment": RiskAssessment, "violence_plan": Plan}
_WORKER_ROLE_VALUES = {r.value for r in policy.CASE_WORKER_ROLES}


def unassigned_reads(viewer: Any, since) -> list[tuple[str, Any, dict[str, Any]]]:
    """Attention rule (supervision.ATTENTION_RULES): reads of a case, or of a record in it (journal entry,
    decision, intervention, referral, consent, disclosure, risk assessment, plan), by a worker who was not assigned to the case at the time. Allowed where the unit shares,
    but worth a look in the log follow-up. Unit managers read their unit's cases by role and are not flagged."""
    from caseapp.security.audit import AuditEvent

    records = _case_record_models()
    query = policy.scope_audit_events(viewer, select(AuditEvent)).where(
        AuditEvent.occurred_at >= since, AuditEvent.action == "view", AuditEvent.outcome == "ok",
        AuditEvent.object_type.in_(["case", *records]), AuditEvent.actor_role.in_(_WORKER_ROLE_VALUES))
    events = list(db.session.scalars(query.order_by(AuditEvent.id.desc()).limit(2000)))
    if not events:
        return []
    case_of: dict[str, uuid.UUID] = {}
    for object_type, model in records.items():
        ids = [_as_uuid(e.object_id) for e in events if e.object_type == object_type]
        ids = [i for i in ids if i is not None]
        for start in range(0, len(ids), 500):
            for rid_, cid in db.session.execute(select(model.id, model.case_id).where(model.id.in_(ids[start:start + 500]))):
                case_of[str(rid_)] = cid
    for e in events:
        if e.object_type == "case" and _as_uuid(e.object_id) is not None:
            case_of[e.object_id] = _as_uuid(e.object_id)
    case_ids = list(set(case_of.values()))
    assignments: dict[tuple, list[CaseAssignment]] = defaultdict(list)
    for start in range(0, len(case_ids), 500):
        for a in db.session.scalars(select(CaseAssignment).where(CaseAssignment.case_id.in_(case_ids[start:start + 500]))):
            assignments[(a.case_id, a.user_id)].append(a)
    found = []
    for e in events:
        case_id = case_of.get(e.object_id or "")
        if case_id is None:
            continue
        assigned = any(a.assigned_at <= e.occurred_at and (a.ended_at is None or a.ended_at >= e.occurred_at)
                       for a in assignments.get((case_id, e.actor_user_id), []))
        if not assigned:
            found.append(("unassigned", e, {"case": str(case_id)}))
    return found
