"""Log follow-up: reviewed attention items and monthly random samples of reads, with signed-off reviews."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseapp.dbtypes import Uuid
from caseapp.extensions import db
from caseapp.security.fields import Encrypted
from caseapp.timeutil import utcnow

NOTE_PURPOSE = "supervision-notes"


class AttentionReview(db.Model):
    """An attention item (an audit event the log follow-up flagged) marked as reviewed, with a comment."""

    __tablename__ = "attention_reviews"
    __table_args__ = (UniqueConstraint("event_id", "kind"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    event_id: Mapped[int] = mapped_column(BigInteger, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    reviewed_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    comment_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class LogSample(db.Model):
    """A month's random sample of one unit's reads, reviewed item by item and signed off by the enhetschef."""

    __tablename__ = "log_samples"
    __table_args__ = (UniqueConstraint("unit_id", "period"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), index=True)
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    size: Mapped[int] = mapped_column(Integer)
    population: Mapped[int] = mapped_column(Integer)  # reads in the period the sample was drawn from
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    signed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    signed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    conclusion: Mapped[str | None] = mapped_column(String(24), nullable=True)
    comment_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)

    items: Mapped[list[LogSampleItem]] = relationship(
        back_populates="sample", cascade="all, delete-orphan", order_by="LogSampleItem.event_id"
    )

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None


class LogSampleItem(db.Model):
    __tablename__ = "log_sample_items"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    sample_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("log_samples.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(BigInteger)
    finding: Mapped[str | None] = mapped_column(String(16), nullable=True)  # ok | question | deviation
    checked_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    checked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    note_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)

    sample: Mapped[LogSample] = relationship(back_populates="items")


class EmergencyAccess(db.Model):
    """Nödåtkomst: one user's time-limited READ access to one case outside their rights, with the reason they
    gave (encrypted under the person's data key: it may name the person). Granted by
    `supervision.emergency.request_access`; honoured by `policy.case_access` and `policy.readable_cases_clause`.
    Never extended in place: a new request is a new grant (and a new audit event)."""

    __tablename__ = "emergency_access"
    __encrypted_owner__ = "person_id"
    __table_args__ = (Index("ix_emergency_access_user_expires", "user_id", "expires_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    reason_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    granted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    reason = Encrypted("reason_enc")

    def is_active(self, now: datetime | None = None) -> bool:
        return self.ended_at is None and self.expires_at > (now or utcnow())
