"""Migrations: the models match the head revision; every step runs down and up with rows in the tables."""

from __future__ import annotations

import os
import uuid

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from caseapp import BASE_DIR
from caseapp.extensions import db
from tests.conftest import IsolatedClient, is_postgres, make_app

MIGRATIONS = str(BASE_DIR / "migrations")


@pytest.fixture()
def empty_database_url(tmp_path):
    if not is_postgres():
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    base = make_url(os.environ["TEST_DATABASE_URL"])
    name = f"caseapp_migr_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture()
def migration_app(test_config, empty_database_url):
    app = make_app(test_config, SQLALCHEMY_DATABASE_URI=empty_database_url)
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def _revisions() -> list[str]:
    script = ScriptDirectory(MIGRATIONS)
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def _insert_rows() -> None:  # commits, so no transaction stays open across migration steps
    unit_id, user_id = uuid.uuid4(), uuid.uuid4()
    db.session.execute(
        text("INSERT INTO units (id, code, name, shares_cases, active, created_at) "
             "VALUES (:id, :code, 'Enhet', :t, :t, CURRENT_TIMESTAMP)"),
        {"id": unit_id.hex if not is_postgres() else unit_id, "code": f"u-{unit_id.hex[:6]}", "t": True},
    )
    db.session.execute(
        text("INSERT INTO users (id, username, display_name, role, unit_id, password_hash, password_changed_at, "
             "must_change_password, failed_logins, session_version, created_at) VALUES (:id, :u, 'Test', "
             "'handlaggare', :unit, 'x', CURRENT_TIMESTAMP, :f, 0, 1, CURRENT_TIMESTAMP)"),
        {"id": user_id.hex if not is_postgres() else user_id, "u": f"user-{user_id.hex[:6]}",
         "unit": unit_id.hex if not is_postgres() else unit_id, "f": False},
    )
    db.session.commit()


def test_models_match_head_revision(migration_app):
    flask_migrate.upgrade(directory=MIGRATIONS)
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_every_revision_downgrades_and_upgrades_with_rows(migration_app):
    revisions = _revisions()
    assert revisions, "no migrations"
    flask_migrate.upgrade(directory=MIGRATIONS)
    _insert_rows()
    # Down step by step to the base, then up again step by step, with rows present.
    for _ in revisions:
        flask_migrate.downgrade(directory=MIGRATIONS, revision="-1")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    for rev in revisions:
        flask_migrate.upgrade(directory=MIGRATIONS, revision=rev)
        if rev == revisions[0]:
            _insert_rows()
    _insert_rows()
    assert db.session.execute(text("SELECT count(*) FROM users")).scalar() == 2
    db.session.commit()  # never leave the session idle in a transaction while migrations take table locks
    # The last step once more, down and up, with rows in it; the schema still takes writes afterwards.
    flask_migrate.downgrade(directory=MIGRATIONS, revision="-1")
    flask_migrate.upgrade(directory=MIGRATIONS)
    _insert_rows()


def test_people_protected_before_access_lists_keep_their_workers(migration_app):
    """0007 seeds the access list of people protected before lists existed: their assigned workers (and, for a
    person without cases, the registering user) keep access; nobody else is added."""
    flask_migrate.upgrade(directory=MIGRATIONS, revision="0006")
    ids = {k: uuid.uuid4() for k in ("unit", "worker", "other", "victim", "lone", "plain", "case", "assignment")}

    def v(key):
        return ids[key] if is_postgres() else ids[key].hex

    def run(sql, **params):
        db.session.execute(text(sql), {k: (v(x) if isinstance(x, str) and x in ids else x) for k, x in params.items()})

    run("INSERT INTO units (id, code, name, shares_cases, active, created_at) VALUES (:id, 'rvt', 'R', :f, :t, "
        "CURRENT_TIMESTAMP)", id="unit", f=False, t=True)
    for user in ("worker", "other"):
        run("INSERT INTO users (id, username, display_name, role, unit_id, password_hash, password_changed_at, "
            "must_change_password, failed_logins, session_version, created_at) VALUES (:id, :u, 'T', "
            "'relationsvaldsteam', :unit, 'x', CURRENT_TIMESTAMP, :f, 0, 1, CURRENT_TIMESTAMP)",
            id=user, u=user, unit="unit", f=False)
    for person, protection, by in (("victim", "skyddad_folkbokforing", "worker"), ("lone", "sekretessmarkering", "other"),
                                   ("plain", "none", "other")):
        run("INSERT INTO people (id, registered_unit_id, version, created_at, created_by, updated_at, reservnummer, "
            "protection) VALUES (:id, :unit, 1, CURRENT_TIMESTAMP, :by, CURRENT_TIMESTAMP, :f, :p)",
            id=person, unit="unit", by=by, f=False, p=protection)
    run("INSERT INTO cases (id, reference, person_id, unit_id, focus, intake, state, child, received_on, created_at, "
        "updated_at) VALUES (:id, '2026-AAAAA', :person, :unit, 'brottsoffer', 'anmalan', 'utredning', :f, "
        "CURRENT_DATE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)", id="case", person="victim", unit="unit", f=False)
    run("INSERT INTO case_assignments (id, case_id, user_id, responsible, assigned_at) VALUES (:id, :case, :user, :t, "
        "CURRENT_TIMESTAMP)", id="assignment", case="case", user="worker", t=True)
    db.session.commit()
    flask_migrate.upgrade(directory=MIGRATIONS)
    rows = db.session.execute(text("SELECT person_id, user_id, via FROM protected_access")).all()
    db.session.commit()
    got = {(uuid.UUID(str(p)), uuid.UUID(str(u)), via) for p, u, via in rows}
    assert got == {(ids["victim"], ids["worker"], "assignment"), (ids["lone"], ids["other"], "registration")}


@pytest.mark.skipif(not is_postgres(), reason="the audit append function is PostgreSQL's")
def test_audit_append_function_comes_and_goes_with_0014(migration_app):
    from caseapp.security import audit, audit_chain

    def source():
        with db.engine.connect() as conn:
            return conn.execute(text("SELECT prosrc FROM pg_proc WHERE oid = pg_catalog.to_regprocedure(:sig)"),
                                {"sig": audit_chain.PG_APPEND_SIGNATURE}).scalar()

    flask_migrate.upgrade(directory=MIGRATIONS, revision="0013")
    assert source() is None
    flask_migrate.upgrade(directory=MIGRATIONS)
    assert source() is not None and source() in audit_chain.PG_APPEND_FUNCTION_SQL
    migration_app.config.update(AUDIT_SINK="none", AUDIT_CHECKPOINT_EVERY=0, AUDIT_CHECKPOINT_MINUTES=None)
    audit.record("view", actor=None, object_type="case", object_id="c1")
    db.session.commit()
    assert db.session.execute(text("SELECT seq FROM audit_events")).scalars().all() == [1]
    with db.engine.connect() as conn:
        result = audit_chain.verify_chain(conn, migration_app.extensions["caseapp.keys"].audit_public_key(), None)
    assert result.ok, [p.describe() for p in result.problems]
    db.session.commit()
    flask_migrate.downgrade(directory=MIGRATIONS, revision="0013")
    assert source() is None
