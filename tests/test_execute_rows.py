"""caseapp.extensions.execute_rows: plain rows through the session's connection, with the same autoflush and the
same transaction as `db.session.execute`."""

from __future__ import annotations

from sqlalchemy import func, select

from caseapp.accounts.models import Role, User
from caseapp.extensions import execute_rows


def test_the_same_rows_as_session_execute(app, db, make_user):
    for _ in range(3):
        make_user(Role.HANDLAGGARE)
    statement = select(User.role, func.count()).group_by(User.role).order_by(User.role)
    assert execute_rows(statement).all() == db.session.execute(statement).all()
    assert execute_rows(select(User.id).where(User.role == Role.HANDLAGGARE)).all() != []


def test_pending_changes_are_flushed_first_as_by_session_execute(app, db, make_user):
    user = db.session.get(User, make_user(Role.HANDLAGGARE).user.id)
    user.display_name = "Ny Namnsson"  # pending, not flushed
    assert execute_rows(select(User.display_name).where(User.id == user.id)).scalar_one() == "Ny Namnsson"
    db.session.rollback()  # the same transaction: the flushed change goes with it
    assert execute_rows(select(User.display_name).where(User.id == user.id)).scalar_one() != "Ny Namnsson"


def test_no_autoflush_is_respected_as_by_session_execute(app, db, make_user):
    user = db.session.get(User, make_user(Role.HANDLAGGARE).user.id)
    before = user.display_name
    user.display_name = "Inte Än"
    with db.session.no_autoflush:
        assert execute_rows(select(User.display_name).where(User.id == user.id)).scalar_one() == before
        assert db.session.execute(select(User.display_name).where(User.id == user.id)).scalar_one() == before
    assert execute_rows(select(User.display_name).where(User.id == user.id)).scalar_one() == "Inte Än"
    db.session.rollback()
