"""Referrals, sharing consent and disclosures to partners.

- `Partner`: an organisation the district shares with (administrator-managed, no personal data).
- `SharingConsent`: a person's consent (samtycke) to share named kinds of data with named recipients for a
  purpose and a period; withdrawn consents stay as history. Recorded in a case (access follows that case).
- `Referral`: a referral (remiss/överlämning) from a case to a partner, resting on a consent or a legal basis.
- `Disclosure`: one utlämnande of data to a recipient, with its legal basis; a referral's sending makes one, and
  other disclosures (to the police without consent, for instance) are recorded directly. Never changed.

Every free text about a person is encrypted under the person's data key (`person_id` is the owner). Codes, dates,
states and ids stay in clear: access control, overviews and follow-up lists need them.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Table,
    event,
    inspect,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from caseapp.cases.catalogue import ConsentGiver
from caseapp.cases.models import _enum
from caseapp.dbtypes import Uuid
from caseapp.extensions import db
from caseapp.referrals.catalogue import (
    Channel,
    DataCategory,
    Outcome,
    PartnerKind,
    ReferralState,
    parse_codes,
)
from caseapp.security.fields import Encrypted
from caseapp.timeutil import utcnow


class ImmutableDisclosureError(RuntimeError):
    """An attempt to change or delete a recorded disclosure."""


class Partner(db.Model):
    __tablename__ = "partners"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[PartnerKind] = mapped_column(_enum(PartnerKind))
    contact: Mapped[str] = mapped_column(String(200), default="")  # the organisation's channel, not a person
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Partner {self.name}>"


sharing_consent_partners = Table(
    "sharing_consent_partners", db.metadata,
    Column("consent_id", ForeignKey("sharing_consents.id"), primary_key=True),
    Column("partner_id", ForeignKey("partners.id"), primary_key=True),
)


class SharingConsent(db.Model):
    """Consent to share: given by the person or a guardian, in writing or orally (recorded by whom), to which
    recipients (named partners and/or every partner of some kinds), which data categories, for what purpose,
    from and to which date. Withdrawal (when, by whom) stops every future sharing at once."""

    __tablename__ = "sharing_consents"
    __encrypted_owner__ = "person_id"
    __table_args__ = (Index("ix_sharing_consents_person", "person_id", "valid_to"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)  # where it was recorded
    giver: Mapped[ConsentGiver] = mapped_column(_enum(ConsentGiver))
    form: Mapped[str] = mapped_column(String(12))  # muntligt | skriftligt
    given_on: Mapped[date] = mapped_column(Date)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    partner_kinds: Mapped[str] = mapped_column(String(400), default="")  # comma-separated PartnerKind codes
    categories: Mapped[str] = mapped_column(String(400))  # comma-separated DataCategory codes
    recorded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    withdrawn_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    withdrawn_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    purpose_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    giver_name_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # the guardian's name
    notes_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)

    purpose = Encrypted("purpose_enc")
    giver_name = Encrypted("giver_name_enc")
    notes = Encrypted("notes_enc")

    partners: Mapped[list[Partner]] = relationship(secondary=sharing_consent_partners, lazy="selectin",
                                                   order_by="Partner.name")

    @property
    def category_codes(self) -> list[DataCategory]:
        return [DataCategory(c) for c in parse_codes(self.categories)]

    @property
    def kind_codes(self) -> list[PartnerKind]:
        return [PartnerKind(c) for c in parse_codes(self.partner_kinds)]

    @property
    def is_withdrawn(self) -> bool:
        return self.withdrawn_at is not None

    def covers_partner(self, partner: Partner) -> bool:
        return partner.id in {p.id for p in self.partners} or partner.kind in self.kind_codes


class Referral(db.Model):
    """A referral from a case to a partner: what is shared and why, on which consent or legal basis, and what
    became of it (states with dates, the partner's answer, the outcome, the follow-up date)."""

    __tablename__ = "referrals"
    __encrypted_owner__ = "person_id"
    __table_args__ = (
        Index("ix_referrals_unit_partner_state", "unit_id", "partner_id", "state"),
        Index("ix_referrals_state_follow_up", "state", "follow_up_on"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id"))
    state: Mapped[ReferralState] = mapped_column(_enum(ReferralState))
    categories: Mapped[str] = mapped_column(String(400))
    consent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sharing_consents.id"), nullable=True,
                                                         index=True)
    legal_basis: Mapped[str | None] = mapped_column(String(40), nullable=True)
    include_address: Mapped[bool] = mapped_column(Boolean, default=False)  # sekretessmarkering: explicit choice
    follow_up_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    sent_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    received_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    answered_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    closed_on: Mapped[date | None] = mapped_column(Date, nullable=True)  # completed or cancelled
    outcome_code: Mapped[Outcome | None] = mapped_column(_enum(Outcome), nullable=True)
    purpose_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    justification_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    journal_excerpt_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    assessment_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    answer_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # the partner's answer
    outcome_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    cancel_reason_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)

    purpose = Encrypted("purpose_enc")
    justification = Encrypted("justification_enc")
    journal_excerpt = Encrypted("journal_excerpt_enc")
    assessment = Encrypted("assessment_enc")
    answer = Encrypted("answer_enc")
    outcome = Encrypted("outcome_enc")
    cancel_reason = Encrypted("cancel_reason_enc")

    partner: Mapped[Partner] = relationship(lazy="joined")
    consent: Mapped[SharingConsent | None] = relationship(lazy="select")

    @property
    def category_codes(self) -> list[DataCategory]:
        return [DataCategory(c) for c in parse_codes(self.categories)]


class Disclosure(db.Model):
    """One utlämnande: to whom (a partner, and who there), on which basis (a consent, or a legal basis with its
    justification), what (data categories and a description), how, when, and by whom. Never changed."""

    __tablename__ = "disclosures"
    __encrypted_owner__ = "person_id"
    __table_args__ = (Index("ix_disclosures_unit_disclosed", "unit_id", "disclosed_on"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"))
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id"))
    referral_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("referrals.id"), nullable=True, index=True)
    consent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sharing_consents.id"), nullable=True)
    legal_basis: Mapped[str | None] = mapped_column(String(40), nullable=True)
    categories: Mapped[str] = mapped_column(String(400))
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    # Which flow recorded it: "referral", "manual", or another domain's code (e.g. "dv_risk").
    source: Mapped[str] = mapped_column(String(32), default="manual")
    disclosed_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    justification_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    description_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # what was disclosed
    recipient_detail_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # who at the partner
    # The document as it left (a referral's letter, JSON of `operations.Letter`): re-prints show what was sent.
    content_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)

    justification = Encrypted("justification_enc")
    description = Encrypted("description_enc")
    recipient_detail = Encrypted("recipient_detail_enc")
    content = Encrypted("content_enc")

    partner: Mapped[Partner] = relationship(lazy="joined")

    @property
    def category_codes(self) -> list[DataCategory]:
        return [DataCategory(c) for c in parse_codes(self.categories)]


_DISCLOSURE_CIPHERTEXT = {"justification_enc", "description_enc", "recipient_detail_enc", "content_enc"}


@event.listens_for(Session, "before_flush")
def _guard_disclosures(session: Session, flush_context, instances) -> None:
    """A recorded disclosure is evidence: no route or operation may change or delete it (a key re-encryption
    may rewrite its ciphertext, with the same plaintext)."""
    for obj in session.deleted:
        if isinstance(obj, Disclosure):
            raise ImmutableDisclosureError(f"disclosure {obj.id} cannot be deleted")
    for obj in session.dirty:
        if isinstance(obj, Disclosure):
            state = inspect(obj)
            changed = {a.key for a in state.mapper.column_attrs if state.attrs[a.key].history.has_changes()}
            if changed - _DISCLOSURE_CIPHERTEXT:
                raise ImmutableDisclosureError(f"disclosure {obj.id}: refused change of {sorted(changed)}")
