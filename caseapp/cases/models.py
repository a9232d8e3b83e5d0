"""Casework records: cases (ärenden), their workflow history and assignments, the journal (personakt) with
corrections and objections, decisions, interventions with follow-ups and consents, groups with sessions and
attendance, and relations between people.

Every free text about a person is encrypted under that person's data key (`security.fields.Encrypted`, the
owner is `person_id`, denormalised onto every table that holds such text). What stays in clear is what access
control, deadlines and lists need: units, workers, states, codes and dates.

Public records never change once they exist: a signed journal entry, an objection, a workflow transition and a
decision that has been made. `_guard_public_records` refuses, at flush, any change or deletion of them, whoever
attempts it; only a key re-encryption may rewrite their ciphertext columns (`security.fields` does that on the
raw column, never through the text attribute).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from caseapp.cases.catalogue import (
    ConsentGiver,
    DecisionKind,
    DecisionStatus,
    EntryType,
    InterventionStatus,
    RelationKind,
)
from caseapp.cases.workflow import FocusArea, Intake, State
from caseapp.dbtypes import Uuid
from caseapp.extensions import db
from caseapp.people.models import Person
from caseapp.security.fields import Encrypted
from caseapp.timeutil import utcnow


def _enum(cls):
    return Enum(cls, native_enum=False, length=32, validate_strings=True,
                values_callable=lambda e: [m.value for m in e])


class ImmutableRecordError(RuntimeError):
    """An attempt to change or delete a public record (signed entry, objection, transition, made decision)."""


class SealedText(Encrypted):
    """An encrypted text that can no longer be assigned once its record is sealed (`is_sealed`)."""

    def __set__(self, obj, value):
        if getattr(obj, "is_sealed", False):
            raise ImmutableRecordError(f"{type(obj).__name__} {obj.id} is a public record and cannot be changed")
        super().__set__(obj, value)


class Case(db.Model):
    __tablename__ = "cases"
    __encrypted_owner__ = "person_id"
    __table_args__ = (
        Index("ix_cases_unit_state_responsible", "unit_id", "state", "responsible_id"),
        Index("ix_cases_unit_next_due", "unit_id", "next_due_on"),
        # A worker's own cases on the start page: an index-only range (covers state, dates, the unit and the
        # person that the access policy checks, and the id).
        Index("ix_cases_responsible_page", "responsible_id", "state", "updated_at", "next_due_on", "unit_id",
              "person_id", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), index=True)
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    focus: Mapped[FocusArea] = mapped_column(_enum(FocusArea))
    intake: Mapped[Intake] = mapped_column(_enum(Intake))
    state: Mapped[State] = mapped_column(_enum(State))
    child: Mapped[bool] = mapped_column(Boolean, default=False)  # under 18 when the matter was raised
    received_on: Mapped[date] = mapped_column(Date)
    skyddsbedomning_done_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    forhandsbedomning_done_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    utredning_started_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    utredning_done_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    utredning_extended_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    # The earliest open statutory deadline (workflow.next_due), kept current by the operations: overdue lists
    # are one indexed range query.
    next_due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    # The main responsible worker (also in case_assignments): the caseload per worker is one indexed GROUP BY.
    responsible_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    summary_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    summary = Encrypted("summary_enc")

    person: Mapped[Person] = relationship(lazy="select")
    assignments: Mapped[list[CaseAssignment]] = relationship(
        back_populates="case", order_by="CaseAssignment.assigned_at", lazy="select")

    @property
    def is_open(self) -> bool:
        return self.state is not State.AVSLUTAD

    def __repr__(self) -> str:
        return f"<Case {self.reference}>"


class CaseAssignment(db.Model):
    """A worker assigned to a case (by the unit manager). Ended assignments stay as history."""

    __tablename__ = "case_assignments"
    __table_args__ = (Index("ix_case_assignments_user_active", "user_id", "ended_at", "responsible", "case_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    responsible: Mapped[bool] = mapped_column(Boolean, default=False)
    assigned_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    assigned_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    ended_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    case: Mapped[Case] = relationship(back_populates="assignments")


class CaseTransition(db.Model):
    """One workflow step: from, to, who, when and why. Never changed."""

    __tablename__ = "case_transitions"
    __encrypted_owner__ = "person_id"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    from_state: Mapped[State | None] = mapped_column(_enum(State), nullable=True)
    to_state: Mapped[State] = mapped_column(_enum(State))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    reason_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)

    reason = SealedText("reason_enc")

    @property
    def is_sealed(self) -> bool:
        return inspect(self).persistent


class JournalEntry(db.Model):
    """A note in the person's file: event date, written at and by (automatic), type and text. A draft until the
    author signs it; signed, it is a public record. A correction is a new signed entry whose `corrects_id` names
    the entry it strikes through."""

    __tablename__ = "journal_entries"
    __encrypted_owner__ = "person_id"
    __table_args__ = (
        Index("ix_journal_entries_case_event", "case_id", "event_date", "written_at"),
        Index("ix_journal_entries_author_signed", "author_id", "signed_at"),
        # The corrections of a case (few): the case page asks whether there are any before looking them up.
        Index("ix_journal_entries_corrections", "case_id", sqlite_where=sql_text("corrects_id IS NOT NULL"),
              postgresql_where=sql_text("corrects_id IS NOT NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    entry_type: Mapped[EntryType] = mapped_column(_enum(EntryType))
    event_date: Mapped[date] = mapped_column(Date)
    written_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    signed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # The entry this one corrects (strikes through); unique: an entry is corrected once (correct the correction).
    corrects_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("journal_entries.id"), nullable=True,
                                                          unique=True)
    text_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    correction_reason_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)

    text = SealedText("text_enc")
    correction_reason = SealedText("correction_reason_enc")

    corrects: Mapped[JournalEntry | None] = relationship(remote_side=[id], lazy="select")

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None

    @property
    def is_sealed(self) -> bool:
        """Signed in the database (a draft being signed in this unit of work is not sealed yet)."""
        committed = inspect(self).committed_state.get("signed_at", self.signed_at)
        return committed is not None and inspect(self).persistent


class JournalObjection(db.Model):
    """The person's objection (invändning) to an entry, recorded next to it. Never changed."""

    __tablename__ = "journal_objections"
    __encrypted_owner__ = "person_id"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("journal_entries.id"), index=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    stated_on: Mapped[date] = mapped_column(Date)  # when the person made the objection
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    recorded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    text_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)

    text = SealedText("text_enc")

    @property
    def is_sealed(self) -> bool:
        return inspect(self).persistent


class Decision(db.Model):
    """A decision with its legal basis (catalogue code) and decision-maker. Kinds in `NEEDS_APPROVAL` proposed
    by a worker wait for the unit manager; once made (approved) the decision never changes."""

    __tablename__ = "decisions"
    __encrypted_owner__ = "person_id"
    __table_args__ = (Index("ix_decisions_status_unit", "status", "unit_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    kind: Mapped[DecisionKind] = mapped_column(_enum(DecisionKind))
    status: Mapped[DecisionStatus] = mapped_column(_enum(DecisionStatus))
    legal_basis: Mapped[str] = mapped_column(String(40))
    decided_on: Mapped[date] = mapped_column(Date)
    extends_to: Mapped[date | None] = mapped_column(Date, nullable=True)  # förlängd utredningstid
    proposed_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    proposed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decision_maker_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    text_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # the reasons (motivering)
    review_note_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)

    text = SealedText("text_enc")
    review_note = SealedText("review_note_enc")

    @property
    def is_made(self) -> bool:
        return self.status is DecisionStatus.APPROVED

    @property
    def is_sealed(self) -> bool:
        committed = inspect(self).committed_state.get("status", self.status)
        return inspect(self).persistent and committed in (DecisionStatus.APPROVED, DecisionStatus.RETURNED)


class InterventionType(db.Model):
    """The intervention catalogue per focus area, edited by the administrator. No personal data."""

    __tablename__ = "intervention_types"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    focus: Mapped[FocusArea] = mapped_column(_enum(FocusArea))
    name: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    partners: Mapped[str] = mapped_column(String(200), default="")
    needs_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    group_based: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_decision: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    def display_name(self, lang: str = "sv") -> str:
        return self.name_en if lang == "en" and self.name_en else self.name


class Intervention(db.Model):
    """An intervention (insats) in a case: type, dates, responsible worker, goals, implementation plan."""

    __tablename__ = "interventions"
    __encrypted_owner__ = "person_id"
    # The start page's follow-ups read a worker's interventions from this index alone (with the id, person and
    # type after the status: no table row per intervention; migration 0015).
    __table_args__ = (Index("ix_interventions_responsible_page", "responsible_id", "status", "id", "person_id",
                            "type_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    type_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("intervention_types.id"))
    status: Mapped[InterventionStatus] = mapped_column(_enum(InterventionStatus))
    start_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    responsible_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    decision_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("decisions.id"), nullable=True)
    plan_agreed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    goals_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    plan_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # genomförandeplan
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    goals = Encrypted("goals_enc")
    plan = Encrypted("plan_enc")

    type: Mapped[InterventionType] = relationship(lazy="joined")
    follow_ups: Mapped[list[InterventionFollowUp]] = relationship(
        back_populates="intervention", order_by="InterventionFollowUp.due_on", lazy="select")
    consents: Mapped[list[InterventionConsent]] = relationship(
        back_populates="intervention", order_by="InterventionConsent.given_on", lazy="select")


class InterventionFollowUp(db.Model):
    __tablename__ = "intervention_follow_ups"
    __encrypted_owner__ = "person_id"
    # ix_intervention_follow_ups_due: an intervention's follow-ups (its page, and the foreign key), and its open
    # ones due by a date in due order from the index alone (the start page takes each intervention's soonest;
    # migration 0015 put it in place of the plain index on intervention_id).
    __table_args__ = (Index("ix_intervention_follow_ups_open", "done_on", "due_on"),
                      Index("ix_intervention_follow_ups_due", "intervention_id", "done_on", "due_on", "id"))

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    intervention_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("interventions.id"))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    due_on: Mapped[date] = mapped_column(Date)
    done_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    done_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    notes_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)

    notes = Encrypted("notes_enc")

    intervention: Mapped[Intervention] = relationship(back_populates="follow_ups")


class InterventionConsent(db.Model):
    """A consent an intervention needs (SIG, sharing with Jobbtorg/Försäkringskassan): who gave it, how, when,
    to which recipients and data (the scope), until when; withdrawn consents stay as history."""

    __tablename__ = "intervention_consents"
    __encrypted_owner__ = "person_id"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    intervention_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("interventions.id"), index=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    giver: Mapped[ConsentGiver] = mapped_column(_enum(ConsentGiver))
    form: Mapped[str] = mapped_column(String(12))  # muntligt | skriftligt
    given_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    withdrawn_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    recorded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    scope_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)

    scope = Encrypted("scope_enc")

    intervention: Mapped[Intervention] = relationship(back_populates="consents")

    def valid_on(self, day: date) -> bool:
        return (self.given_on <= day and (self.valid_until is None or day <= self.valid_until)
                and (self.withdrawn_on is None or day < self.withdrawn_on))


class Group(db.Model):
    """A group activity of a unit (an anhörig circle, a school violence-prevention series). The name and
    schedule are staff text without personal data; who takes part is protected like case data."""

    __tablename__ = "case_groups"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), index=True)
    type_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("intervention_types.id"))
    name: Mapped[str] = mapped_column(String(120))
    schedule: Mapped[str] = mapped_column(String(200), default="")
    leader_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    co_leader_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    start_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    type: Mapped[InterventionType] = relationship(lazy="joined")
    sessions: Mapped[list[GroupSession]] = relationship(order_by="GroupSession.held_on", lazy="select")
    members: Mapped[list[GroupMember]] = relationship(order_by="GroupMember.joined_on", lazy="select")


class GroupSession(db.Model):
    __tablename__ = "group_sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_groups.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    topic: Mapped[str] = mapped_column(String(200), default="")
    # Participants without a file of their own (a school class at a violence-prevention session): a count only.
    other_participants: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class GroupMember(db.Model):
    """A person taking part in a group, through one of their cases in the group's unit."""

    __tablename__ = "group_members"
    __table_args__ = (UniqueConstraint("group_id", "person_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_groups.id"), index=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), index=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    joined_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    added_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    person: Mapped[Person] = relationship(lazy="select")


class GroupAttendance(db.Model):
    __tablename__ = "group_attendance"

    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("group_sessions.id"), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("group_members.id"), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), index=True)
    present: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class PersonRelation(db.Model):
    """`relative_id` is a relative (anhörig) of `person_id`, of `kind`. Each has their own file and cases; the
    link grants no access to either file (policy.relations_visible)."""

    __tablename__ = "person_relations"
    __table_args__ = (UniqueConstraint("person_id", "relative_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), index=True)
    relative_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), index=True)
    kind: Mapped[RelationKind] = mapped_column(_enum(RelationKind))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    ended_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)


# --- public records never change -----------------------------------------------------------------------------

# Columns a key re-encryption rewrites (same plaintext, new ciphertext); everything else is frozen.
_CIPHERTEXT = {"text_enc", "reason_enc", "correction_reason_enc", "review_note_enc"}


def _changed_columns(obj) -> set[str]:
    state = inspect(obj)
    return {attr.key for attr in state.mapper.column_attrs if state.attrs[attr.key].history.has_changes()}


def _sealed_in_db(obj) -> bool:
    if isinstance(obj, JournalEntry):
        return inspect(obj).committed_state.get("signed_at", obj.signed_at) is not None
    if isinstance(obj, Decision):
        return inspect(obj).committed_state.get("status", obj.status) in (DecisionStatus.APPROVED,
                                                                         DecisionStatus.RETURNED)
    return isinstance(obj, JournalObjection | CaseTransition)


@event.listens_for(Session, "before_flush")
def _guard_public_records(session: Session, flush_context, instances) -> None:
    for obj in session.deleted:
        if isinstance(obj, JournalEntry | JournalObjection | CaseTransition | Decision) and _sealed_in_db(obj):
            raise ImmutableRecordError(f"{type(obj).__name__} {obj.id} is a public record and cannot be deleted")
    for obj in session.dirty:
        if isinstance(obj, JournalEntry | JournalObjection | CaseTransition | Decision) and _sealed_in_db(obj):
            changed = _changed_columns(obj) - _CIPHERTEXT
            if changed:
                raise ImmutableRecordError(
                    f"{type(obj).__name__} {obj.id} is a public record; refused change of {sorted(changed)}")
