"""caseapp.dbtypes.Uuid: the same values as sqlalchemy.Uuid, read faster where the database stores hex text."""

from __future__ import annotations

import pickle
import uuid

import pytest
import sqlalchemy
from sqlalchemy.dialects import postgresql, sqlite

from caseapp.dbtypes import Uuid, _uuid_from_hex
from caseapp.extensions import db


@pytest.mark.parametrize("value", [uuid.uuid4(), uuid.UUID(int=0), uuid.UUID(int=2**128 - 1),
                                   uuid.UUID("00000000-0000-0000-0000-0000000000ff")])
def test_the_fast_reader_gives_the_uuid_the_full_parser_gives(value):
    got = _uuid_from_hex(value.hex)
    expected = uuid.UUID(value.hex)
    assert got == expected and hash(got) == hash(expected) and str(got) == str(expected)
    assert got.version == expected.version and got.variant == expected.variant and got.is_safe is expected.is_safe
    assert pickle.loads(pickle.dumps(got)) == expected  # noqa: S301 (our own bytes) and copy.deepcopy(got) == expected
    assert {got: 1}[expected] == 1 and got.int == value.int


def test_other_spellings_and_bad_values_go_to_the_full_parser():
    value = uuid.uuid4()
    assert _uuid_from_hex(str(value)) == value  # with hyphens
    assert _uuid_from_hex(None) is None
    for bad in ("zz" * 16, "abc", ""):
        with pytest.raises(ValueError):
            _uuid_from_hex(bad)


def test_sqlite_reads_with_the_fast_reader_and_postgresql_with_its_driver():
    assert Uuid().dialect_impl(sqlite.dialect()).result_processor(sqlite.dialect(), None) is _uuid_from_hex
    assert Uuid().dialect_impl(postgresql.dialect()).result_processor(postgresql.dialect(), None) is None


def test_every_uuid_column_of_the_models_uses_it(app):
    columns = [(t.name, c.name, type(c.type)) for t in db.metadata.sorted_tables for c in t.columns
               if isinstance(c.type, sqlalchemy.Uuid)]
    assert len(columns) > 100
    assert [c for c in columns if c[2] is not Uuid] == []


def test_a_row_reads_back_equal(make_user):
    from caseapp.accounts.models import Role, User

    uid = make_user(Role.HANDLAGGARE, "unga").id
    db.session.expunge_all()
    again = db.session.scalar(sqlalchemy.select(User.id).where(User.id == uid))
    assert again == uid and isinstance(again, uuid.UUID)


# ------------------------------------------------------------ in_constants and in_uuid_list (no post-compile SQL)

def _compiled(statement):
    return statement.compile(dialect=db.engine.dialect)


def test_in_constants_selects_what_in_selects_and_needs_no_rewrite(app, db, make_user):
    from sqlalchemy import select

    from caseapp.accounts.models import Role, User
    from caseapp.dbtypes import in_constants

    users = {role: make_user(role).user.id for role in (Role.HANDLAGGARE, Role.ENHETSCHEF, Role.LOGGGRANSKARE)}
    for wanted in ([Role.HANDLAGGARE], [Role.HANDLAGGARE, Role.ENHETSCHEF], ["logggranskare", Role.ENHETSCHEF]):
        statement = select(User.id).where(in_constants(User.role, wanted)).order_by(User.id)
        compiled = _compiled(statement)
        assert not compiled.post_compile_params and not compiled.literal_execute_params
        expected = db.session.scalars(select(User.id).where(User.role.in_(wanted)).order_by(User.id)).all()
        assert db.session.scalars(statement).all() == expected
        assert len(expected) == len(wanted) and set(expected) <= set(users.values())
    # the same codes in another order are the same SQL (one cached statement)
    assert str(_compiled(select(User.id).where(in_constants(User.role, [Role.ENHETSCHEF, Role.HANDLAGGARE])))) == \
        str(_compiled(select(User.id).where(in_constants(User.role, [Role.HANDLAGGARE, Role.ENHETSCHEF]))))


@pytest.mark.parametrize("bad", [[], ["x' OR '1'='1"], ["Enhetschef"], [1], [None], ["a" * 65]])
def test_in_constants_takes_only_codes(bad):
    from caseapp.accounts.models import User
    from caseapp.dbtypes import in_constants

    with pytest.raises(ValueError):
        in_constants(User.role, bad)


def test_in_uuid_list_selects_what_in_selects_for_any_length(app, db, make_user):
    from sqlalchemy import bindparam, select

    from caseapp.accounts.models import Role, User
    from caseapp.dbtypes import in_uuid_list

    ids = sorted(make_user(Role.HANDLAGGARE).user.id for _ in range(4))
    statement = select(User.id).where(in_uuid_list(User.id, "ids")).order_by(User.id)
    compiled = _compiled(statement)
    assert not compiled.post_compile_params and not compiled.literal_execute_params
    expanding = select(User.id).where(User.id.in_(bindparam("ids", expanding=True))).order_by(User.id)
    for wanted in ([], ids[:1], ids[1:], [ids[0], uuid.uuid4(), ids[2]], [str(ids[3])], [None, ids[1]]):
        got = db.session.scalars(statement, {"ids": wanted}).all()
        given = [uuid.UUID(str(i)) for i in wanted if i is not None]
        assert got == db.session.scalars(expanding, {"ids": given}).all()  # (NULL in a list matches nothing)
        assert got == sorted(i for i in given if i in ids)
    assert str(_compiled(statement)) == str(compiled)  # one SQL text for every length
