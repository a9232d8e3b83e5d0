"""The people registry (klienter): every personal field encrypted under the person's own data key.

Nothing about a person is stored in clear except what access control needs: the registering unit, the
protected-identity level and whether the number is a reservnummer. Birth date and sex are derived from the
decrypted personnummer when read, never stored. Search goes through keyed blind indexes
(`PersonSearchIndex`); the data key itself is stored only wrapped by a KEK (`PersonKey`).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    event,
    select,
    type_coerce,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, object_session, relationship

from caseapp.dbtypes import Uuid
from caseapp.extensions import db
from caseapp.i18n import lazy_gettext as _l
from caseapp.people.personnummer import Identity, InvalidPersonnummer, parse
from caseapp.security.fields import Encrypted, KeyState, key_scope, key_state_of
from caseapp.timeutil import utcnow


class Protection(enum.StrEnum):
    NONE = "none"
    SEKRETESSMARKERING = "sekretessmarkering"
    SKYDDAD_FOLKBOKFORING = "skyddad_folkbokforing"
    FINGERADE = "fingerade_personuppgifter"

    @property
    def label(self) -> str:
        return str(PROTECTION_LABELS[self])

    @property
    def forbids_address(self) -> bool:
        """Skyddad folkbokföring and fingerade personuppgifter: the real address is never stored."""
        return self in (Protection.SKYDDAD_FOLKBOKFORING, Protection.FINGERADE)


PROTECTION_LABELS = {
    Protection.NONE: _l("Inga skyddade personuppgifter"),
    Protection.SEKRETESSMARKERING: _l("Sekretessmarkering"),
    Protection.SKYDDAD_FOLKBOKFORING: _l("Skyddad folkbokföring"),
    Protection.FINGERADE: _l("Fingerade personuppgifter"),
}

_protection_type = Enum(Protection, native_enum=False, length=32, validate_strings=True,
                        values_callable=lambda e: [m.value for m in e])


class PersonFieldsMixin:
    """The personal fields shared by the current record and its history snapshots."""

    reservnummer: Mapped[bool] = mapped_column(Boolean, default=False)
    protection: Mapped[Protection] = mapped_column(_protection_type, default=Protection.NONE)
    given_name_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    family_name_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    identity_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    address_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    email_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    notes_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)

    given_name = Encrypted("given_name_enc")
    family_name = Encrypted("family_name_enc")
    identity = Encrypted("identity_enc")  # 12 digits, or the reservnummer as written
    address = Encrypted("address_enc")
    phone = Encrypted("phone_enc")
    email = Encrypted("email_enc")
    notes = Encrypted("notes_enc")

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.given_name, self.family_name) if p)

    @property
    def identity_info(self) -> Identity | None:
        """Kind, birth date and sex, derived from the decrypted number (None for a reservnummer)."""
        number = self.identity
        if number is None or self.reservnummer:
            return None
        try:
            return parse(number)
        except InvalidPersonnummer:
            return None

    @property
    def identity_display(self) -> str:
        info = self.identity_info
        if info is not None:
            return info.formatted()
        return self.identity or ""


# Field names, in display order (the forms, the history and the audit use these codes).
PERSON_FIELDS = ("given_name", "family_name", "identity", "reservnummer", "protection", "address", "phone",
                 "email", "notes")


class PersonKey(db.Model):
    """A person's data key, stored only wrapped by a KEK version. `wrapped` NULL: crypto-shredded."""

    __tablename__ = "person_keys"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), primary_key=True)
    key_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    # Not indexed: `keys status`/`retire` count by version in one scan, and an index would be rewritten for every
    # row a rotation rewraps.
    kek_version: Mapped[int] = mapped_column(Integer)
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    shredded_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    person: Mapped[Person] = relationship(back_populates="key")

    def __repr__(self) -> str:
        return f"<PersonKey {self.person_id} v{self.kek_version}{' shredded' if self.wrapped is None else ''}>"


@event.listens_for(PersonKey.key_id, "set")
@event.listens_for(PersonKey.kek_version, "set")
@event.listens_for(PersonKey.wrapped, "set")
def _key_row_changed(target: PersonKey, value, oldvalue, initiator) -> None:
    """A key row changed through the ORM (shredded, re-keyed): the unwrapped key and the key columns read with
    the person (`Person._key_*`) no longer count in this unit of work (`fields.KeyScope.forget`)."""
    session = object_session(target)
    if session is not None and target.person_id is not None:
        key_scope(session).forget(target.person_id)


@event.listens_for(PersonKey, "before_delete")
def _key_row_deleted(mapper, connection, target: PersonKey) -> None:
    session = object_session(target)
    if session is not None:
        key_scope(session).forget(target.person_id)


class Person(PersonFieldsMixin, db.Model):
    __tablename__ = "people"
    __encrypted_owner__ = "id"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    registered_unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    # The key row's material, read with the person in the same SELECT (one indexed subquery each) and without
    # an ORM object: what `fields.KeyScope` unwraps and `is_shredded` tells. Read-only (the key row is written
    # through `PersonKey` or Core) and not expired on flush (the values never change with the person's row;
    # `KeyScope` and `is_shredded` prefer a `PersonKey` loaded in the session, which may carry changes).
    # (key_id as the driver gives it: a UUID on PostgreSQL, the stored hex text on SQLite; see fields._key_id_bytes)
    _key_id: Mapped[uuid.UUID | str | None] = column_property(
        select(type_coerce(PersonKey.key_id, String)).where(PersonKey.person_id == id).correlate_except(PersonKey)
        .scalar_subquery(), expire_on_flush=False)
    _key_kek_version: Mapped[int | None] = column_property(
        select(PersonKey.kek_version).where(PersonKey.person_id == id).correlate_except(PersonKey)
        .scalar_subquery(), expire_on_flush=False)
    _key_wrapped: Mapped[bytes | None] = column_property(
        select(PersonKey.wrapped).where(PersonKey.person_id == id).correlate_except(PersonKey).scalar_subquery(),
        expire_on_flush=False)
    __key_columns__ = ("_key_id", "_key_kek_version", "_key_wrapped")

    # The ORM row, on demand (commands, tests); reading fields does not need it.
    key: Mapped[PersonKey | None] = relationship(lazy="select", back_populates="person")
    versions: Mapped[list[PersonVersion]] = relationship(
        back_populates="person", order_by="PersonVersion.version.desc()", lazy="select"
    )

    @property
    def is_shredded(self) -> bool:
        """Whether the person's data key was deleted (crypto-shredded). No key row at all: not shredded."""
        return key_state_of(self) is KeyState.SHREDDED

    def __repr__(self) -> str:  # never the decrypted fields
        return f"<Person {self.id}>"


class PersonVersion(PersonFieldsMixin, db.Model):
    """The values a person record had before an edit (encrypted like the record): who wrote them and when,
    and who replaced them and when. Written by `operations.update_person`; never changed afterwards, except
    that raising the protection to skyddad folkbokföring/fingerade removes old addresses (`address_removed`)."""

    __tablename__ = "person_versions"
    __encrypted_owner__ = "person_id"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    replaced_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    replaced_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    address_removed: Mapped[bool] = mapped_column(Boolean, default=False)

    person: Mapped[Person] = relationship(back_populates="versions")

    def __repr__(self) -> str:
        return f"<PersonVersion {self.person_id} v{self.version}>"


class PersonSearchIndex(db.Model):
    """Keyed blind indexes of a person: kind "pnr" (12-digit number), "res" (reservnummer) or "name" (one
    per name token). The digest is an 8-byte truncated HMAC (docs/crypto.md); it reveals only equality."""

    __tablename__ = "person_search_index"
    # Covering (person_id included): a lookup by a common name token reads only the index (migration 0010).
    __table_args__ = (Index("ix_person_search_index_lookup", "kind", "digest", "person_id"),)

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    digest: Mapped[bytes] = mapped_column(LargeBinary(8), primary_key=True)
