"""Column types shared by the models."""

from __future__ import annotations

import enum
import json
import re
import uuid

import sqlalchemy
import sqlalchemy.dialects.postgresql
import sqlalchemy.ext.compiler

_new = object.__new__
_set = object.__setattr__
_UNKNOWN = uuid.SafeUUID.unknown


def _uuid_from_hex(value: str | None) -> uuid.UUID | None:
    """What `uuid.UUID(value)` returns for the 32 hex digits the column holds, without its parsing of the
    other spellings (braces, hyphens, a urn: prefix): about 0.5 instead of 2 µs, and a page reads hundreds."""
    if value is None:
        return None
    if len(value) != 32:
        return uuid.UUID(value)  # any other spelling: the full parser (and its error for a bad value)
    result = _new(uuid.UUID)
    _set(result, "int", int(value, 16))
    _set(result, "is_safe", _UNKNOWN)
    return result


class Uuid(sqlalchemy.Uuid):
    """`sqlalchemy.Uuid` (the same DDL and stored form: UUID on PostgreSQL, CHAR(32) hex on SQLite) with a
    faster reader where the database has no UUID type. PostgreSQL's driver returns UUID objects itself."""

    cache_ok = True

    def result_processor(self, dialect, coltype):
        if (dialect.supports_native_uuid and self.native_uuid) or not self.as_uuid:
            return super().result_processor(dialect, coltype)
        return _uuid_from_hex


_CODE = re.compile(r"[a-z0-9_]{1,64}")


def in_constants(column, values) -> sqlalchemy.sql.expression.ColumnElement:
    """`column.in_(values)` for a fixed set of codes from the code (enum members: states, roles, actions, or their
    string values), written into the SQL as literals instead of bound.

    `in_()` with a list binds an "expanding" parameter that SQLAlchemy rewrites into one placeholder per value on
    every execution (a regular-expression pass over the compiled SQL); measured 2026-12-04, that rewrite took about
    150 µs of the start page's 4.8 ms, for lists that never change. Written in, the codes are part of the statement
    and of its cache key: the SQL is compiled once, nothing is rewritten per execution, and on PostgreSQL the
    statement text stays the same, so it stays prepared. Only lowercase codes are accepted (enum values are
    stored as such); values from a request must stay bound parameters, and are refused here.

    The planner sees the codes too. On PostgreSQL a generic plan then knows how many rows they cover, which can
    change its choice of index: the caseload's overdue count went from 0.2 to 1.4 ms that way and keeps `in_()`.
    Use it where the plan was checked (EXPLAIN of the prepared statement) and measured."""
    codes = [v.value if isinstance(v, enum.Enum) else v for v in values]
    if not codes:
        raise ValueError("in_constants needs at least one value")
    for code in codes:
        if not isinstance(code, str) or not _CODE.fullmatch(code):
            raise ValueError(f"in_constants takes codes ([a-z0-9_]), not {code!r}")
    listed = ", ".join(f"'{code}'" for code in sorted(set(codes)))  # sorted: the same SQL in every process
    return column.op("IN", is_comparison=True)(sqlalchemy.literal_column(f"({listed})"))


class _UuidList(sqlalchemy.types.TypeDecorator):
    """A list of UUIDs bound as ONE parameter: a uuid[] on PostgreSQL, a JSON array of the stored hex form on
    SQLite (read back there with json_each)."""

    impl = sqlalchemy.String
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(sqlalchemy.dialects.postgresql.ARRAY(sqlalchemy.Uuid()))
        return dialect.type_descriptor(sqlalchemy.String())

    def process_bind_param(self, value, dialect):
        ids = [v if isinstance(v, uuid.UUID) else uuid.UUID(str(v)) for v in (value or ()) if v is not None]
        if dialect.name == "postgresql":
            return ids
        return json.dumps([v.hex for v in ids])


class _InUuidList(sqlalchemy.sql.expression.ColumnElement):
    inherit_cache = True
    type = sqlalchemy.Boolean()
    _is_implicitly_boolean = True
    _traverse_internals = [
        ("column", sqlalchemy.sql.visitors.InternalTraversal.dp_clauseelement),
        ("param", sqlalchemy.sql.visitors.InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column, param) -> None:
        self.column = column
        self.param = param


@sqlalchemy.ext.compiler.compiles(_InUuidList)
def _render_in_uuid_list(element: _InUuidList, compiler, **kw) -> str:
    column, param = compiler.process(element.column, **kw), compiler.process(element.param, **kw)
    return f"{column} IN (SELECT value FROM json_each({param}))"  # noqa: S608 - compiled SQL, no values


@sqlalchemy.ext.compiler.compiles(_InUuidList, "postgresql")
def _render_in_uuid_list_pg(element: _InUuidList, compiler, **kw) -> str:
    return f"{compiler.process(element.column, **kw)} = ANY ({compiler.process(element.param, **kw)})"


def in_uuid_list(column, name: str) -> sqlalchemy.sql.expression.ColumnElement:
    """`column.in_(bindparam(name, expanding=True))` for a UUID column, with the list bound as one parameter
    (`= ANY(:name)` with a uuid[] on PostgreSQL, `IN (SELECT value FROM json_each(:name))` on SQLite): the SQL is
    the same for any number of ids, empty included, so it is compiled once and, on PostgreSQL, stays prepared.
    An expanding parameter is rewritten into one placeholder per id on every execution (a regular-expression
    pass over the compiled SQL; 75 µs of the start page for its 17 people and the reach check's grants, measured
    2026-12-04), and each list
    length is another statement text for the server. On PostgreSQL the array costs the server about what the
    rewrite cost the client (raw driver, 17 ids, prepared: 120-135 against 97-107 µs for 17 placeholders), so
    there the gain is the one statement text; on SQLite json_each costs less than the rewrite saves."""
    return _InUuidList(column, sqlalchemy.bindparam(name, type_=_UuidList()))
