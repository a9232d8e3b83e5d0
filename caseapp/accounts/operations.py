"""Account operations: log in, second factor, passwords, user administration.

Plain arguments in (the acting user, the target, the data); each change records its audit event in the
same transaction. No commits here: the request (or the CLI command) commits once.
"""

from __future__ import annotations

import enum
import secrets
import uuid
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from flask import current_app, g, has_request_context
from flask_babel import gettext as _
from sqlalchemy import bindparam, func, select

from caseapp.accounts.models import RecoveryCode, Role, Unit, User
from caseapp.extensions import db
from caseapp.requestmemo import dropped_at_flush, flush_pending
from caseapp.security import audit, services
from caseapp.security import auth as authlib
from caseapp.timeutil import utcnow


class AccountError(ValueError):
    """A refused account operation; the message is shown to the user."""


_passwords = services.passwords
_secret_box = services.secret_box


def find_user(username: str) -> User | None:
    username = (username or "").strip().casefold()
    if not username or len(username) > 64:
        return None
    return db.session.scalar(select(User).where(func.lower(User.username) == username))


# --- Password step ------------------------------------------------------------------------------


class LoginOutcome(enum.Enum):
    OK = "ok"
    FAILED = "failed"  # unknown user, wrong password, locked or disabled: one message for all


@dataclass
class LoginResult:
    outcome: LoginOutcome
    user: User | None = None
    reasons: list[str] = field(default_factory=list)


def check_password_login(username: str, password: str) -> LoginResult:
    """The password step. Locked, disabled and unknown accounts fail like a wrong password does."""
    cfg = current_app.config
    user = find_user(username)
    now = utcnow()
    if user is None:
        _passwords().verify(None, password or "")  # same work as for a real account
        audit.record("login_failed", outcome="failed", actor=None, details={"reason": "unknown_user"},
                     persist_on_failure=True)
        return LoginResult(LoginOutcome.FAILED)
    if user.locked_until is not None and user.locked_until > now:
        _passwords().verify(None, password or "")
        audit.record("login_failed", outcome="failed", actor=user, object_type="user", object_id=user.id,
                     details={"reason": "locked"}, persist_on_failure=True)
        return LoginResult(LoginOutcome.FAILED)
    if not _passwords().verify(user.password_hash, password or ""):
        register_failure(user, reason="bad_password")
        return LoginResult(LoginOutcome.FAILED)
    if user.disabled_at is not None:
        audit.record("login_failed", outcome="failed", actor=user, object_type="user", object_id=user.id,
                     details={"reason": "disabled"}, persist_on_failure=True)
        return LoginResult(LoginOutcome.FAILED)
    if _passwords().needs_rehash(user.password_hash):
        user.password_hash = _passwords().hash(password)
    if not cfg["MFA_REQUIRED"]:
        finish_login(user, method="password")
    return LoginResult(LoginOutcome.OK, user)


def register_failure(user: User, *, reason: str) -> None:
    """Count a failed password or code; lock the account for a while after too many."""
    cfg = current_app.config
    user.failed_logins = (user.failed_logins or 0) + 1
    audit.record("login_failed", outcome="failed", actor=user, object_type="user", object_id=user.id,
                 details={"reason": reason, "failures": user.failed_logins}, persist_on_failure=True)
    if user.failed_logins >= cfg["LOCKOUT_THRESHOLD"]:
        user.locked_until = utcnow() + cfg["LOCKOUT_DURATION"]
        user.failed_logins = 0
        audit.record("lockout", outcome="ok", actor=user, object_type="user", object_id=user.id,
                     details={"minutes": int(cfg["LOCKOUT_DURATION"].total_seconds() // 60)},
                     persist_on_failure=True)


def finish_login(user: User, *, method: str) -> None:
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = utcnow()
    audit.record("login", actor=user, object_type="user", object_id=user.id, details={"method": method})


# --- Second factor ------------------------------------------------------------------------------


def totp_secret(user: User) -> str | None:
    if user.totp_secret_enc is None:
        return None
    return _secret_box().open(user.id, user.totp_secret_enc)


def verify_second_factor(user: User, code: str) -> bool:
    """Check a TOTP code (once only) and complete the login; failures count towards the lockout."""
    if user.locked_until is not None and user.locked_until > utcnow():
        audit.record("mfa_failed", outcome="failed", actor=user, object_type="user", object_id=user.id,
                     details={"reason": "locked"}, persist_on_failure=True)
        return False
    secret = totp_secret(user)
    counter = authlib.match_totp(secret, code, user.totp_last_counter) if secret else None
    if counter is None:
        register_failure(user, reason="bad_totp")
        return False
    user.totp_last_counter = counter
    finish_login(user, method="totp")
    return True


def use_recovery_code(user: User, code: str) -> bool:
    if user.locked_until is not None and user.locked_until > utcnow():
        return False
    digest = authlib.hash_recovery_code(code)
    match = None
    for rc in user.recovery_codes:
        if rc.used_at is None and secrets.compare_digest(rc.code_hash, digest):
            match = rc
    if match is None:
        register_failure(user, reason="bad_recovery_code")
        return False
    match.used_at = utcnow()
    remaining = sum(1 for rc in user.recovery_codes if rc.used_at is None)
    audit.record("recovery_code_used", actor=user, object_type="user", object_id=user.id,
                 details={"remaining": remaining})
    finish_login(user, method="recovery_code")
    return True


def begin_enrolment(user: User) -> str:
    """Create a fresh (unconfirmed) TOTP secret for a user without a confirmed second factor."""
    if user.mfa_enrolled:
        raise AccountError(_("Tvåfaktorsinloggning är redan aktiverad."))
    secret = authlib.new_totp_secret()
    user.totp_secret_enc = _secret_box().seal(user.id, secret)
    user.totp_last_counter = None
    return secret


def confirm_enrolment(user: User, code: str) -> list[str] | None:
    """Confirm enrolment with a first code; returns the new recovery codes (shown once) or None."""
    secret = totp_secret(user)
    counter = authlib.match_totp(secret, code, user.totp_last_counter) if secret else None
    if counter is None:
        register_failure(user, reason="bad_totp_enrolment")
        return None
    user.totp_last_counter = counter
    user.totp_confirmed_at = utcnow()
    codes = replace_recovery_codes(user)
    audit.record("mfa_enrolled", actor=user, object_type="user", object_id=user.id)
    finish_login(user, method="totp_enrolment")
    return codes


@cache
def _unused_codes_statement():
    return select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == bindparam("user_id"), RecoveryCode.used_at.is_(None))


# g: {user id: count} read with the signed-in user (caseapp._load_user), dropped at every flush (requestmemo)
_UNUSED_MEMO = dropped_at_flush("unused_recovery_codes")


def unused_codes_column(user_id_column: Any):
    """A column for the statement that loads the signed-in user: how many of their recovery codes are left.
    Read with the user, the start page's count needs no statement of its own (`remember_unused_recovery_codes`)."""
    return (select(func.count()).select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user_id_column, RecoveryCode.used_at.is_(None))
            .scalar_subquery().label("unused_recovery_codes"))


def remember_unused_recovery_codes(user: User, count: int | None) -> None:
    """Keep for this request what `unused_codes_column` read with the user (dropped at every flush)."""
    if has_request_context() and count is not None:
        g.__dict__.setdefault(_UNUSED_MEMO, {})[user.id] = count


def unused_recovery_codes(user: User) -> int:
    """How many of the user's recovery codes are left (the start page shows it): a count, not the code rows,
    by a statement built once; the count read with the signed-in user, where nothing was written since."""
    if has_request_context() and flush_pending():  # (pending changes written first: that drops the count)
        memo = g.__dict__.get(_UNUSED_MEMO)
        if memo is not None and user.id in memo:
            return memo[user.id]
    return db.session.scalar(_unused_codes_statement(), {"user_id": user.id}) or 0


def replace_recovery_codes(user: User) -> list[str]:
    user.recovery_codes.clear()
    codes = authlib.new_recovery_codes()
    for code in codes:
        user.recovery_codes.append(RecoveryCode(code_hash=authlib.hash_recovery_code(code)))
    return codes


# --- Passwords ----------------------------------------------------------------------------------


def change_password(user: User, current: str, new: str) -> None:
    if not _passwords().verify(user.password_hash, current or ""):
        raise AccountError(_("Det nuvarande lösenordet stämmer inte."))
    if current == new:
        raise AccountError(_("Det nya lösenordet måste skilja sig från det nuvarande."))
    problems = authlib.password_problems(new, username=user.username, display_name=user.display_name)
    if problems:
        raise AccountError(" ".join(str(p) for p in problems))
    user.password_hash = _passwords().hash(new)
    user.password_changed_at = utcnow()
    user.must_change_password = False
    user.session_version += 1  # every other session of this user ends
    audit.record("password_changed", actor=user, object_type="user", object_id=user.id)


# --- User administration --------------------------------------------------------------------------


def generate_initial_password() -> str:
    return "-".join(secrets.token_urlsafe(6) for _ in range(3))


def create_user(
    actor: User | None,
    *,
    username: str,
    display_name: str,
    role: Role,
    unit: Unit | None,
    password: str | None = None,
    must_change_password: bool = True,
) -> tuple[User, str]:
    username = (username or "").strip()
    display_name = (display_name or "").strip()
    if not username or not display_name:
        raise AccountError(_("Användarnamn och namn måste anges."))
    if len(username) > 64 or not all(c.isalnum() or c in "._-" for c in username):
        raise AccountError(_("Användarnamnet får bara innehålla bokstäver, siffror, punkt, bindestreck och understreck."))
    if find_user(username) is not None:
        raise AccountError(_("Användarnamnet är redan upptaget."))
    if role not in (Role.LOGGGRANSKARE, Role.SYSTEMFORVALTARE) and unit is None:
        raise AccountError(_("Rollen kräver en enhet."))
    password = password or generate_initial_password()
    problems = authlib.password_problems(password, username=username, display_name=display_name)
    if problems:
        raise AccountError(" ".join(str(p) for p in problems))
    user = User(
        id=uuid.uuid4(),
        username=username,
        display_name=display_name,
        role=role,
        unit=unit,
        password_hash=_passwords().hash(password),
        must_change_password=must_change_password,
    )
    db.session.add(user)
    audit.record("user_created", actor=actor, object_type="user", object_id=user.id,
                 details={"role": str(role), "unit": str(unit.id) if unit else None})
    return user, password


def update_user(actor: User, user: User, *, role: Role, unit: Unit | None) -> None:
    if role not in (Role.LOGGGRANSKARE, Role.SYSTEMFORVALTARE) and unit is None:
        raise AccountError(_("Rollen kräver en enhet."))
    if user.id == actor.id and role != user.role:
        raise AccountError(_("Du kan inte ändra din egen roll."))
    changed = user.role != role or user.unit_id != (unit.id if unit else None)
    if not changed:
        return
    user.role = role
    user.unit = unit
    user.session_version += 1  # new rights take effect at the next login
    audit.record("user_updated", actor=actor, object_type="user", object_id=user.id,
                 details={"role": str(role), "unit": str(unit.id) if unit else None})


def disable_user(actor: User | None, user: User) -> None:
    if actor is not None and user.id == actor.id:
        raise AccountError(_("Du kan inte inaktivera ditt eget konto."))
    if user.disabled_at is None:
        user.disabled_at = utcnow()
        user.session_version += 1
        audit.record("user_disabled", actor=actor, object_type="user", object_id=user.id)


def enable_user(actor: User | None, user: User) -> None:
    if user.disabled_at is not None:
        user.disabled_at = None
        user.failed_logins = 0
        user.locked_until = None
        audit.record("user_enabled", actor=actor, object_type="user", object_id=user.id)


def reset_mfa(actor: User | None, user: User) -> None:
    """Remove the second factor; the user enrols again at the next login. Ends their sessions."""
    user.totp_secret_enc = None
    user.totp_confirmed_at = None
    user.totp_last_counter = None
    user.recovery_codes.clear()
    user.session_version += 1
    audit.record("mfa_reset", actor=actor, object_type="user", object_id=user.id)


def set_demo_totp(user: User, secret: str) -> None:
    """Demo data only: give a user a known, confirmed TOTP secret."""
    user.totp_secret_enc = _secret_box().seal(user.id, secret)
    user.totp_confirmed_at = utcnow()


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.display_name)))


def list_units() -> list[Unit]:
    return list(db.session.scalars(select(Unit).where(Unit.active.is_(True)).order_by(Unit.name)))
