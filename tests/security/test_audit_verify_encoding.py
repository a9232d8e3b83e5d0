"""The verifier's fast paths (PostgreSQL assembles the encoding in SQL, SQLite encodes in Python) give exactly
the canonical encoding of `audit_chain.encode_event`, for awkward values too, and still catch every edit."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import update

from caseapp.accounts.models import Role
from caseapp.security import audit
from caseapp.security.audit import AuditEvent
from tests.conftest import audit_events
from tests.security.test_audit_chain import assert_broken, chain, verify, workers  # noqa: F401

AWKWARD = ["", "å", "Ärende–öppnat €", "😀 emoji", "a" * 40, "x:y/z-1.2", "0"]


def _append_awkward(db) -> None:
    actor = SimpleNamespace(id=uuid.uuid4(), unit_id=uuid.uuid4(), role=Role.HANDLAGGARE)
    for i, value in enumerate(AWKWARD):
        audit.record("view", actor=actor if i % 2 else None, object_type=value or None, object_id=value,
                     subject_person_id=uuid.uuid4() if i % 3 else None)
        db.session.commit()
    # Raw rows with NULL against empty texts and non-ASCII in every text column (written through the chain).
    for role, ip, request_id, details in [("", "", "", ""), (None, None, None, None), ("röll", "::1", "rid-ä", "{}")]:
        db.session.add(AuditEvent(occurred_at=audit.utcnow(), actor_role=role, action="list", outcome="ok",
                                  object_type="", object_id=None, ip=ip, request_id=request_id, details=details))
        db.session.commit()


def test_awkward_values_verify(app, db, chain, workers):  # noqa: F811
    _append_awkward(db)
    result = verify(chain, db, workers=workers)
    assert result.ok, [p.describe() for p in result.problems]
    assert result.events == len(AWKWARD) + 3


@pytest.mark.parametrize(("column", "value"), [
    ("object_type", None),  # "" -> NULL: same bytes, different length field
    ("object_id", "Ärende–öppnat  €"),
    ("actor_role", "röll "),
    ("request_id", None),
])
def test_edits_of_awkward_values_are_caught(app, db, chain, workers, column, value):  # noqa: F811
    _append_awkward(db)
    events = audit_events()
    victim = next(e for e in events if getattr(e, column) is not None and getattr(e, column) != value)
    db.session.execute(update(AuditEvent).where(AuditEvent.id == victim.id).values(**{column: value}))
    db.session.commit()
    assert_broken(verify(chain, db, workers=workers), "edited", victim.id)
