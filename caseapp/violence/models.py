"""Records of the domestic-violence work in a victim's case: structured risk assessments (FREDA, PATRIARK, a
free structured assessment) and the plans they lead to (skydds- och åtgärdsplan, säkerhetsplanering).

Everything written about the person is encrypted under the person's data key (`__encrypted_owner__`): the
structured answers as one JSON document (`content`), the summary judgement with its level and motivation as
another (`judgement`), the plan contents. In clear stays only what lists, deadlines and access need: case, unit,
person id, kind, status, dates, author, version. The risk level is kept encrypted: "high risk of lethal
violence" says a great deal about a person, and no list or deadline needs to sort or filter on it.

A signed assessment never changes (a new assessment or a new version is made); a plan version never changes
(a revision is a new version; only the old version's `superseded_at/by` are set, once). `_guard_violence_records`
refuses anything else at flush, whoever attempts it; only a key re-encryption may rewrite the ciphertext.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, LargeBinary, event, inspect, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from caseapp.cases.models import ImmutableRecordError, SealedText, _enum
from caseapp.dbtypes import Uuid
from caseapp.extensions import db
from caseapp.timeutil import utcnow
from caseapp.violence.catalogue import Kind, PlanKind, Status


class RiskAssessment(db.Model):
    __tablename__ = "violence_assessments"
    __encrypted_owner__ = "person_id"
    __table_args__ = (Index("ix_violence_assessments_case_on", "case_id", "assessed_on"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    kind: Mapped[Kind] = mapped_column(_enum(Kind))
    status: Mapped[Status] = mapped_column(_enum(Status))
    assessed_on: Mapped[date] = mapped_column(Date)  # the date the assessment describes
    # The signed assessment this one is a new version of (None for a first assessment).
    supersedes_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("violence_assessments.id"), nullable=True)
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    signed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    content_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # JSON: answers and texts
    judgement_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # JSON: level, acute, why

    content = SealedText("content_enc")
    judgement = SealedText("judgement_enc")

    @property
    def is_signed(self) -> bool:
        return self.status is Status.SIGNED

    @property
    def is_sealed(self) -> bool:
        """Signed in the database (a draft being signed in this unit of work is not sealed yet)."""
        return inspect(self).persistent and _committed(self, "status") is Status.SIGNED


class Plan(db.Model):
    """One version of a protection and action plan or of a safety plan. `series_id` groups the versions (the
    first version's id); `version` counts from 1; the current version is the one not superseded."""

    __tablename__ = "violence_plans"
    __encrypted_owner__ = "person_id"
    __table_args__ = (
        Index("ix_violence_plans_case_kind", "case_id", "kind", "version"),
        # Overdue reviews on the start page: current versions by review date.
        Index("ix_violence_plans_current_review", "superseded_at", "review_on"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    series_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    version: Mapped[int] = mapped_column(Integer)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    kind: Mapped[PlanKind] = mapped_column(_enum(PlanKind))
    assessment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("violence_assessments.id"), nullable=True)
    review_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    superseded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    content_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # JSON: the plan

    content = SealedText("content_enc")

    @property
    def is_sealed(self) -> bool:
        return inspect(self).persistent

    @property
    def is_current(self) -> bool:
        return self.superseded_at is None


# --- records that never change ---------------------------------------------------------------------------------

_CIPHERTEXT = {"content_enc", "judgement_enc"}
_SUPERSEDE = {"superseded_at", "superseded_by"}


def _changed_columns(obj) -> set[str]:
    state = inspect(obj)
    return {attr.key for attr in state.mapper.column_attrs if state.attrs[attr.key].history.has_changes()}


def _committed(obj, name: str):
    """The value before this unit of work's change (as loaded), or the current one when unchanged."""
    history = inspect(obj).attrs[name].history
    if history.deleted:
        return history.deleted[0]
    return history.unchanged[0] if history.unchanged else getattr(obj, name)


def _stored(session: Session, obj, name: str):
    """The value in the database (the guard does not trust the session's view of it)."""
    table = type(obj).__table__
    return session.connection().execute(select(table.c[name]).where(table.c.id == obj.id)).scalar()


@event.listens_for(Session, "before_flush")
def _guard_violence_records(session: Session, flush_context, instances) -> None:
    for obj in session.deleted:
        if isinstance(obj, RiskAssessment) and _stored(session, obj, "status") == Status.SIGNED.value:
            raise ImmutableRecordError(f"RiskAssessment {obj.id} is signed and cannot be deleted")
        if isinstance(obj, Plan):
            raise ImmutableRecordError(f"Plan {obj.id} is a version of a plan and cannot be deleted")
    for obj in session.dirty:
        if isinstance(obj, RiskAssessment) and _stored(session, obj, "status") == Status.SIGNED.value:
            changed = _changed_columns(obj) - _CIPHERTEXT
            if changed:
                raise ImmutableRecordError(f"RiskAssessment {obj.id} is signed; refused change of {sorted(changed)}")
        if isinstance(obj, Plan):
            changed = _changed_columns(obj) - _CIPHERTEXT
            allowed = _SUPERSEDE if _stored(session, obj, "superseded_at") is None else set()
            if changed - allowed:
                raise ImmutableRecordError(f"Plan {obj.id} is a kept version; refused change of "
                                           f"{sorted(changed - allowed)}")
