"""The access policy: the only place that decides who may do what.

Views declare a permission (`@requires`); the default-deny hook asks `has_permission`. Record-level rules
(unit, assignment, protected identity) are added here as the domains arrive, as functions that load a record
for a user or raise, and as scoped queries. Every refusal is audited by `deny`.
"""

from __future__ import annotations

from typing import Any, NoReturn

from flask import abort

from caseapp.accounts.models import Role
from caseapp.security import audit

# Permissions every signed-in member of staff has (their own account).
_SELF = {"home.view", "account.self"}

ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.HANDLAGGARE: frozenset(_SELF),
    Role.RELATIONSVALDSTEAM: frozenset(_SELF),
    Role.FALTASSISTENT: frozenset(_SELF),
    Role.ENHETSCHEF: frozenset(_SELF),
    Role.LOGGGRANSKARE: frozenset(_SELF),
    # Administrators manage users, units and keys; they never read case content.
    Role.SYSTEMFORVALTARE: frozenset(_SELF | {"admin.users"}),
}


def has_permission(user: Any, permission: str) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return permission in ROLE_PERMISSIONS.get(user.role, frozenset())


def deny(
    user: Any,
    *,
    permission: str | None = None,
    object_type: str | None = None,
    object_id: Any = None,
    subject_person_id: Any = None,
    status: int = 403,
) -> NoReturn:
    """Audit a refusal (kept even though the request rolls back) and abort with 403 or 404."""
    audit.record(
        "denied",
        outcome="denied",
        actor=user if getattr(user, "is_authenticated", False) else None,
        object_type=object_type,
        object_id=object_id,
        subject_person_id=subject_person_id,
        details={"permission": permission} if permission else None,
        persist_on_failure=True,
    )
    abort(status)


def get_user_for_admin(actor: Any, user_id: Any):
    """A staff account for user administration (systemförvaltare only)."""
    from caseapp.accounts.models import User
    from caseapp.extensions import db

    if not has_permission(actor, "admin.users"):
        deny(actor, permission="admin.users", object_type="user", object_id=user_id)
    user = db.session.get(User, user_id)
    if user is None:
        deny(actor, object_type="user", object_id=user_id, status=404)
    return user
