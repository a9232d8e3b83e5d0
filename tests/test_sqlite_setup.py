"""The app's own SQLite engine runs in WAL mode with synchronous=NORMAL, a busy timeout and foreign keys enforced
(development and single-host use); PostgreSQL connections are left as the server configures them.
AUDIT_READ_COMMIT is checked."""

from __future__ import annotations

import pytest
from sqlalchemy import text

import config as config_module
from caseapp import create_app
from caseapp.extensions import db
from tests.conftest import is_postgres, make_app


def test_sqlite_file_database_gets_wal_normal_and_busy_timeout(test_config, tmp_path):
    path = tmp_path / "dev.db"
    app = make_app(test_config, SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    with app.app_context():
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 5000
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA cache_size")).scalar() == -65536  # KiB: 64 MiB
            assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 10000  # pages
            assert conn.execute(text("PRAGMA journal_size_limit")).scalar() == 64 * 1024 * 1024
        db.engine.dispose()


def test_the_pragmas_are_registered_on_the_app_engine(test_config, tmp_path):
    from sqlalchemy import event

    from caseapp.extensions import _sqlite_pragmas

    app = make_app(test_config, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'once.db'}")
    with app.app_context():
        assert event.contains(db.engine, "connect", _sqlite_pragmas)
        db.engine.dispose()


@pytest.mark.skipif(not is_postgres(), reason="needs TEST_DATABASE_URL pointing at PostgreSQL")
def test_postgresql_connections_are_left_alone(app, db):
    assert db.session.execute(text("SHOW synchronous_commit")).scalar() == "on"


def test_audit_read_commit_must_be_async_or_sync(test_config):
    class Cfg(config_module.TestingConfig):
        pass

    for key, value in {**test_config, "AUDIT_READ_COMMIT": "later"}.items():
        setattr(Cfg, key, value)
    with pytest.raises(config_module.ConfigError, match="AUDIT_READ_COMMIT"):
        create_app(Cfg)


def test_audit_read_commit_from_the_environment(test_config, monkeypatch):
    monkeypatch.setenv("AUDIT_READ_COMMIT", "sync")
    assert make_app(test_config).config["AUDIT_READ_COMMIT"] == "sync"


def test_sqlite_enforces_foreign_keys(test_config, tmp_path):
    import uuid

    from sqlalchemy.exc import IntegrityError

    from caseapp.accounts.models import RecoveryCode

    app = make_app(test_config, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'fk.db'}")
    with app.app_context():
        db.create_all()
        db.session.add(RecoveryCode(user_id=uuid.uuid4(), code_hash=bytes(32)))  # no such user
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        db.engine.dispose()
