"""policy.readable_cases_key: the access rule's SQL for a user is kept for the process under this key (and the start
page keeps its statements under it), so equal keys must mean equal SQL, and every fact the rule reads must be in
the key: the role and permission, the unit and whether it shares its cases, the user, the emergency grants."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.dialects import sqlite

from caseapp.accounts.models import Role
from caseapp.extensions import db as _db
from caseapp.security import policy


def _sql(clause) -> str:
    return str(clause.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))


@pytest.fixture()
def people(make_user):
    return {
        "unga": make_user(Role.HANDLAGGARE, "unga").user, "unga2": make_user(Role.HANDLAGGARE, "unga").user,
        "rvt": make_user(Role.RELATIONSVALDSTEAM, "rvt").user, "rvt2": make_user(Role.RELATIONSVALDSTEAM, "rvt").user,
        "unga_chef": make_user(Role.ENHETSCHEF, "unga").user, "rvt_chef": make_user(Role.ENHETSCHEF, "rvt").user,
        "falt": make_user(Role.FALTASSISTENT, "falt").user, "admin": make_user(Role.SYSTEMFORVALTARE, None).user,
        "auditor": make_user(Role.LOGGGRANSKARE, None).user,
    }


def _variants(app, people):
    """(key, SQL) for every user, with and without the access-list part, with and without an emergency grant."""
    grant = uuid.UUID(int=7)
    out = []
    for name, user in people.items():
        for grants in (None, str(grant)):
            with app.test_request_context():
                policy.remember_emergency_case_ids(user, grants)
                for protected in (True, False):
                    clause = policy.readable_cases_clause(user, protected=protected)
                    out.append((name, grants, protected, policy.readable_cases_key(user, protected=protected),
                                _sql(clause)))
    return out


def test_equal_keys_mean_equal_sql_and_different_sql_means_different_keys(app, people):
    variants = _variants(app, people)
    by_key: dict = {}
    for *_who, key, sql in variants:
        by_key.setdefault(key, set()).add(sql)
    assert all(len(sqls) == 1 for sqls in by_key.values())
    by_sql: dict = {}
    for *_who, key, sql in variants:
        by_sql.setdefault(sql, set()).add(key)
    # Different keys may give the same SQL (administrators and auditors read nothing), never the other way round.
    assert len(by_key) >= len(by_sql) > 10


def test_the_kept_clause_is_the_one_built_fresh(app, people):
    """What the process keeps is what the rule builds now: compare with a clause built with the store emptied."""
    for name, grants, protected, _key, sql in _variants(app, people):
        policy._READABLE_CLAUSES.clear()
        user = people[name]
        with app.test_request_context():
            policy.remember_emergency_case_ids(user, grants)
            assert _sql(policy.readable_cases_clause(user, protected=protected)) == sql, name


def test_a_change_of_sharing_role_unit_or_grant_changes_the_key(app, people, units):
    worker = people["unga"]
    with app.test_request_context():
        before = policy.readable_cases_key(worker)
        units["unga"].shares_cases = False
        _db.session.flush()
        unshared = policy.readable_cases_key(worker)
        assert unshared != before
        assert "case_assignments" in _sql(policy.readable_cases_clause(worker))  # now only assigned cases
        units["unga"].shares_cases = True
        worker.unit_id = units["lamna"].id
        _db.session.flush()
        moved = policy.readable_cases_key(worker)
        assert moved not in (before, unshared)
        worker.role = Role.ENHETSCHEF
        assert policy.readable_cases_key(worker) not in (before, unshared, moved)
    _db.session.rollback()
    with app.test_request_context():
        plain = policy.readable_cases_key(people["rvt"])
        policy.remember_emergency_case_ids(people["rvt"], str(uuid.UUID(int=9)))
        granted = policy.readable_cases_key(people["rvt"])
        assert granted != plain and uuid.UUID(int=9) in granted[-1]
        assert "00000000000000000000000000000009" in _sql(policy.readable_cases_clause(people["rvt"]))
