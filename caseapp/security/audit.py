"""Audit events: one append-only table, one function to record an event.

Events hold ids and codes only, never personal data in clear (`details` is checked for that).
An event is added to the current database session so it commits in the same transaction as the change
it records. Events recorded with `persist_on_failure=True` (refusals, failed logins, lockouts) are written
again in their own transaction when the request's transaction rolls back, so a refusal is never lost.
The table carries `prev_hash`/`hash` columns for the tamper-evident chain.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from typing import Any

from flask import g, has_request_context, request
from flask_login import current_user
from sqlalchemy import BigInteger, DateTime, Integer, LargeBinary, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from caseapp.extensions import db
from caseapp.timeutil import utcnow

ACTIONS = frozenset(
    {
        "view", "list", "search", "create", "update", "sign", "correct", "object", "export", "print",
        "disclose", "delete", "purge",
        "login", "login_failed", "logout", "lockout", "session_timeout",
        "mfa_enrolled", "mfa_failed", "mfa_reset", "recovery_code_used", "password_changed",
        "user_created", "user_updated", "user_disabled", "user_enabled",
        "denied", "emergency_access", "key_rotation", "key_retire", "key_reencrypt", "review",
    }
)
OUTCOMES = frozenset({"ok", "denied", "failed"})
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9_.:/\-]{0,80}$")

BigIntPK = BigInteger().with_variant(Integer, "sqlite")


class AuditDetailsError(ValueError):
    """Raised when a caller tries to put free text (possible personal data) into an audit event."""


class AuditEvent(db.Model):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    actor_unit_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    actor_role: Mapped[str | None] = mapped_column(String(32), nullable=True)
    action: Mapped[str] = mapped_column(String(32), index=True)
    outcome: Mapped[str] = mapped_column(String(16), default="ok")
    object_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    object_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    subject_person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    request_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    ip: Mapped[str | None] = mapped_column(String(45), nullable=True)
    details: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Tamper evidence: SHA-256 over the canonical encoding chained to the previous event.
    prev_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)
    hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)

    @property
    def details_dict(self) -> dict[str, Any]:
        return json.loads(self.details) if self.details else {}


def _check_details(details: dict[str, Any] | None) -> str | None:
    if not details:
        return None
    for key, value in details.items():
        if not _SAFE_VALUE.match(str(key)):
            raise AuditDetailsError(f"audit detail key {key!r} is not a plain code")
        if value is None or isinstance(value, bool | int | float):
            continue
        if isinstance(value, uuid.UUID):
            continue
        if isinstance(value, str) and _SAFE_VALUE.match(value):
            continue
        raise AuditDetailsError(f"audit detail {key!r} must be an id or a code, not free text")
    return json.dumps({k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in details.items()},
                      sort_keys=True, separators=(",", ":"))


_CURRENT = object()


def record(
    action: str,
    *,
    outcome: str = "ok",
    object_type: str | None = None,
    object_id: Any = None,
    subject_person_id: uuid.UUID | None = None,
    actor: Any = _CURRENT,
    details: dict[str, Any] | None = None,
    persist_on_failure: bool = False,
) -> AuditEvent:
    """Add an audit event to the current transaction and return it."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown audit outcome {outcome!r}")
    if actor is _CURRENT:
        actor = current_user if has_request_context() and current_user.is_authenticated else None
    fields: dict[str, Any] = {
        "occurred_at": utcnow(),
        "actor_user_id": getattr(actor, "id", None),
        "actor_unit_id": getattr(actor, "unit_id", None),
        "actor_role": str(actor.role) if actor is not None else None,
        "action": action,
        "outcome": outcome,
        "object_type": object_type,
        "object_id": str(object_id) if object_id is not None else None,
        "subject_person_id": subject_person_id,
        "details": _check_details(details),
    }
    if has_request_context():
        fields["request_id"] = g.get("request_id")
        fields["ip"] = request.remote_addr
    event = AuditEvent(**fields)
    db.session.add(event)
    if persist_on_failure and has_request_context():
        g.setdefault("sticky_audit", []).append(fields)
    return event


def persist_sticky_events() -> None:
    """After a rollback, write the refusals and failures of this request in their own transaction."""
    sticky = g.pop("sticky_audit", None) if has_request_context() else None
    if not sticky:
        return
    for fields in sticky:
        db.session.add(AuditEvent(**fields))
    db.session.commit()


def discard_sticky_events() -> None:
    if has_request_context():
        g.pop("sticky_audit", None)
