"""Facts kept for the rest of one request (in flask.g), dropped at every flush and rollback of the session.

A page often needs the same fact twice (the access policy and the page both read a case's assignments), or can
read a fact together with another statement (the signed-in user's recovery-code count with the user). Such a
fact is kept under a name registered with `dropped_at_flush`: every flush drops all of them, so a change
written in the request is seen by the next read, and so does a rollback (what a rolled-back flush wrote is gone
again). Before a kept fact is trusted, `flush_pending` writes pending changes first, as a query's autoflush
would. A memo holds facts only; it never decides access.
"""

from __future__ import annotations

from flask import g, has_request_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from caseapp.extensions import db

_DROPPED: set[str] = set()


def dropped_at_flush(name: str) -> str:
    """Register the g attribute `name` as a memo dropped at every flush and rollback; returns the name."""
    _DROPPED.add(name)
    return name


def flush_pending() -> bool:
    """What a query's autoflush would do before a memo is trusted: rows added, changed or deleted but not yet
    flushed are written first, which drops the memos, so that a memo never hides them. Returns False where a
    memo cannot be trusted (pending changes inside `no_autoflush`: ask the database)."""
    session = db.session()
    if session._is_clean():
        return True
    if session.autoflush:
        session.flush()
        return True
    return False


@event.listens_for(Session, "after_flush")
def _drop_after_flush(_session: Session, _flush_context) -> None:
    _drop()


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_rollback(_session: Session, _previous_transaction) -> None:
    _drop()


def _drop() -> None:
    if has_request_context():
        for name in _DROPPED:
            g.__dict__.pop(name, None)
