"""Protected identities and the domestic-violence team's links between cases.

- `ProtectedAccess`: the access list of a protected person (sekretessmarkering, skyddad folkbokföring, fingerade
  personuppgifter). A row is never deleted: revoking sets `revoked_at`/`revoked_by`, so the list's history stays.
- `ProtectionNotice`: that the person was told how their data is handled (on which date, by whom).
- `ViolenceLink`: a victim's case concerns violence by another person (who may also be a client, with a
  perpetrator case possibly in another unit). Seen only from the victim's side (policy, "protected identities").
- `ViolenceOverride`: the victim unit's manager lets one worker work on both sides, with a reason (encrypted).
- `WitnessChild`: a child in the household who witnessed the violence, linked to the victim's case.

Nothing here holds personal data in clear: ids, dates and codes only; the override reason is encrypted under the
victim's data key.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, LargeBinary, String
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column

from caseapp.dbtypes import Uuid
from caseapp.extensions import db
from caseapp.people.models import Person
from caseapp.security.fields import Encrypted
from caseapp.timeutil import utcnow


class ProtectedAccess(db.Model):
    """`user_id` may open the protected person's file and cases (within the ordinary unit rules) while
    `revoked_at` is NULL. `via`: "manual" (the unit manager), "assignment", "registration", "protection"."""

    __tablename__ = "protected_access"
    # The policy's correlated EXISTS looks up (person, user, active) for one row: this index answers it.
    __table_args__ = (Index("ix_protected_access_person_user", "person_id", "user_id", "revoked_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    via: Mapped[str] = mapped_column(String(16), default="manual")
    granted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    granted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    revoked_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class ProtectionNotice(db.Model):
    """The person was informed how their data is handled (the newest row is shown)."""

    __tablename__ = "protection_notices"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), index=True)
    informed_on: Mapped[date] = mapped_column(Date)
    informed_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class ViolenceLink(db.Model):
    __tablename__ = "violence_links"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    victim_case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    victim_person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), index=True)
    perpetrator_person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), index=True)
    perpetrator_case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id"), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    ended_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class ViolenceOverride(db.Model):
    """The victim unit's manager allows `user_id` on both sides of `link_id`, for a stated reason."""

    __tablename__ = "violence_overrides"
    __encrypted_owner__ = "person_id"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    link_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("violence_links.id"), index=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))  # the victim (whose key encrypts)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    granted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    granted_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    reason_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)

    reason = Encrypted("reason_enc")


class WitnessChild(db.Model):
    __tablename__ = "witness_children"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    victim_case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    child_person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)


# The protected people (few): the policy's "is this case's person protected?" is answered from this partial index
# on PostgreSQL (policy.protected_case_clause writes the literal that matches its predicate).
Index("ix_people_protected", Person.id, sqlite_where=sql_text("protection != 'none'"),
      postgresql_where=sql_text("protection != 'none'"))
