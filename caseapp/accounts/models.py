"""Staff accounts and units (enheter). Client personal data never lives here."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, Enum, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caseapp.dbtypes import Uuid
from caseapp.extensions import db
from caseapp.i18n import lazy_gettext as _l
from caseapp.timeutil import utcnow


class Role(enum.StrEnum):
    HANDLAGGARE = "handlaggare"
    RELATIONSVALDSTEAM = "relationsvaldsteam"
    FALTASSISTENT = "faltassistent"
    ENHETSCHEF = "enhetschef"
    LOGGGRANSKARE = "logggranskare"
    SYSTEMFORVALTARE = "systemforvaltare"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.HANDLAGGARE: _l("Handläggare"),
    Role.RELATIONSVALDSTEAM: _l("Relationsvåldsteam"),
    Role.FALTASSISTENT: _l("Fältassistent / fritidsledare"),
    Role.ENHETSCHEF: _l("Enhetschef"),
    Role.LOGGGRANSKARE: _l("Logggranskare / dataskyddsombud"),
    Role.SYSTEMFORVALTARE: _l("Systemförvaltare"),
}


def _uuid() -> uuid.UUID:
    return uuid.uuid4()


class Unit(db.Model):
    __tablename__ = "units"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    # Whether colleagues in the unit may read each other's cases (the domestic-violence team does not share).
    shares_cases: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="unit")

    def __repr__(self) -> str:
        return f"<Unit {self.code}>"


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=32, validate_strings=True, values_callable=lambda e: [m.value for m in e])
    )
    unit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("units.id"), nullable=True)

    password_hash: Mapped[str] = mapped_column(String(255))
    password_changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)

    # TOTP secret, encrypted with a key derived from the key files (never in clear, never the key in the db).
    totp_secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # Highest TOTP time step accepted so far: a code is accepted once only.
    totp_last_counter: Mapped[int | None] = mapped_column(Integer, nullable=True)

    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # Bumped on password change, disable and second-factor reset: every existing session ends.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    unit: Mapped[Unit | None] = relationship(back_populates="users")
    recovery_codes: Mapped[list[RecoveryCode]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    # Flask-Login protocol. The id carries the session version, so a bumped version ends old sessions.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}.{self.session_version}"

    @property
    def mfa_enrolled(self) -> bool:
        return self.totp_confirmed_at is not None and self.totp_secret_enc is not None

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class RecoveryCode(db.Model):
    """One-time recovery code, stored as a SHA-256 hash (the codes carry 60 random bits)."""

    __tablename__ = "recovery_codes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    user: Mapped[User] = relationship(back_populates="recovery_codes")
