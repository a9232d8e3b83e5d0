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
